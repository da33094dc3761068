"""Probe speed before and after, side by side in one run.

    python tools/benchmark_probes.py CONFIG CHECKPOINT --data DIR
        [--old-commit c76b60b] [--max-images 10000] [--out FILE.json]

Runs tools/linear_probe.py of ``--old-commit`` (from a temporary git
worktree, its own famt_mm) and of this checkout on the same checkpoint and
folders, one after the other in this process's environment: the old code,
the old code on one thread, then this code with an empty image cache (the
first checkpoint probed on a folder), then with the cache filled (every
later checkpoint, as in a study). Reports each run's wall time, the ratios
to the old code, and whether the k-NN and L-BFGS accuracies are identical.

The reference for "identical" is the old code on one thread: this code
fits each L-BFGS probe on one thread so that its numbers do not depend on
the cores, while the old code's fits used all of them, and a multi-thread
matrix product may sum in another order (Intel MKL does on 2 cores: the
fits that stop at the iteration cap end 1 held-out image apart). Whether
this code also matches the old code on all threads is reported too
(``identical_to_old_on_all_threads``). Run it alone on the machine (pause
other training): the numbers are wall times.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
EXACT = ('knn', 'logreg')  # the probes that must not change, bit for bit


def probe(tree: str, args, out: str, extra=(), env=None) -> float:
    """Wall seconds of one tools/linear_probe.py run of ``tree``."""
    cmd = [sys.executable, osp.join(tree, 'tools', 'linear_probe.py'),
           args.config, args.checkpoint, '--train',
           osp.join(args.data, 'train'), '--test', osp.join(args.data, 'test'),
           '--max-images', str(args.max_images), '--out', out, *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=tree, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PYTHONPATH=tree, **(env or {})))
    return round(time.perf_counter() - start, 1)


def cpu_model() -> str:
    """The processor's name (Linux), for a reader comparing machines."""
    try:
        with open('/proc/cpuinfo') as f:
            return next((line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name')), 'unknown')
    except OSError:
        return 'unknown'


def identical(results: dict, reference: str) -> dict:
    """Per exact probe: do both runs of this code give the reference's
    numbers?"""
    return {k: all(results[n][k] == results[reference][k]
                   for n in ('new_cold', 'new_warm')) for k in EXACT}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data', required=True,
                        help='folder with train/ and test/')
    parser.add_argument('--old-commit', default='c76b60b',
                        help='the probes before the speed-up')
    parser.add_argument('--max-images', type=int, default=10000)
    parser.add_argument('--out', help='write the result as JSON')
    args = parser.parse_args()
    args.config, args.checkpoint, args.data = (
        osp.abspath(p) for p in (args.config, args.checkpoint, args.data))
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = osp.join(tmp, 'old')
        subprocess.run(['git', 'worktree', 'add', '--detach', old_tree,
                        args.old_commit], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            cache = osp.join(tmp, 'cache')
            one_thread = dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
            runs = dict(
                old=probe(old_tree, args, osp.join(tmp, 'old.json')),
                old_one_thread=probe(old_tree, args,
                                     osp.join(tmp, 'old_one_thread.json'),
                                     env=one_thread),
                new_cold=probe(ROOT, args, osp.join(tmp, 'new_cold.json'),
                               ['--image-cache', cache]),
                new_warm=probe(ROOT, args, osp.join(tmp, 'new_warm.json'),
                               ['--image-cache', cache]))
            results = {}
            for name in runs:
                with open(osp.join(tmp, f'{name}.json')) as f:
                    results[name] = json.load(f)
        finally:
            subprocess.run(['git', 'worktree', 'remove', '--force',
                            old_tree], cwd=ROOT, capture_output=True)
    out = dict(
        command='python tools/benchmark_probes.py ' + ' '.join(sys.argv[1:]),
        threads=os.environ.get('OMP_NUM_THREADS',
                               f'default ({os.cpu_count()} cores)'),
        cpu=cpu_model(),
        images=results['old']['train_images'] + results['old']['test_images'],
        seconds=runs,
        ratio_to_old={k: round(v / runs['old'], 3) for k, v in runs.items()},
        identical=identical(results, 'old_one_thread'),
        identical_to_old_on_all_threads=identical(results, 'old'),
        accuracies={n: {k: r[k] for k in (*EXACT, 'test_top1')}
                    for n, r in results.items()})
    print(json.dumps(out, indent=1))
    if args.out:
        from famt_mm.utils.fileio import save_json
        save_json(args.out, out)


if __name__ == '__main__':
    main()
