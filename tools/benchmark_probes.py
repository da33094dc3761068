"""Probe speed before and after, side by side in one run.

    python tools/benchmark_probes.py CONFIG CHECKPOINT --data DIR
        [--old-commit c76b60b] [--max-images 10000] [--out FILE.json]

Runs tools/linear_probe.py of ``--old-commit`` (from a temporary git
worktree, its own famt_mm) and of this checkout on the same checkpoint and
folders, one after the other in this process's environment: the old code,
then this code with an empty image cache (the first checkpoint probed on a
folder), then with the cache filled (every later checkpoint, as in a
study). Reports each run's wall time, the ratios, and whether the k-NN and
L-BFGS accuracies are identical. Run it alone on the machine (pause other
training): the numbers are wall times.
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


def probe(tree: str, args, out: str, extra=()) -> float:
    """Wall seconds of one tools/linear_probe.py run of ``tree``."""
    cmd = [sys.executable, osp.join(tree, 'tools', 'linear_probe.py'),
           args.config, args.checkpoint, '--train',
           osp.join(args.data, 'train'), '--test', osp.join(args.data, 'test'),
           '--max-images', str(args.max_images), '--out', out, *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=tree, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PYTHONPATH=tree))
    return round(time.perf_counter() - start, 1)


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
            runs = dict(
                old=probe(old_tree, args, osp.join(tmp, 'old.json')),
                new_cold=probe(ROOT, args, osp.join(tmp, 'cold.json'),
                               ['--image-cache', cache]),
                new_warm=probe(ROOT, args, osp.join(tmp, 'warm.json'),
                               ['--image-cache', cache]))
            results = {}
            for name, file in (('old', 'old.json'), ('new_cold', 'cold.json'),
                               ('new_warm', 'warm.json')):
                with open(osp.join(tmp, file)) as f:
                    results[name] = json.load(f)
        finally:
            subprocess.run(['git', 'worktree', 'remove', '--force',
                            old_tree], cwd=ROOT, capture_output=True)
    same = {k: all(results[n][k] == results['old'][k]
                   for n in ('new_cold', 'new_warm')) for k in EXACT}
    out = dict(
        command='python tools/benchmark_probes.py ' + ' '.join(sys.argv[1:]),
        threads=os.environ.get('OMP_NUM_THREADS', 'default'),
        images=results['old']['train_images'] + results['old']['test_images'],
        seconds=runs,
        ratio_to_old={k: round(v / runs['old'], 3) for k, v in runs.items()},
        identical=same,
        accuracies={n: {k: r[k] for k in (*EXACT, 'test_top1')}
                    for n, r in results.items()})
    print(json.dumps(out, indent=1))
    if args.out:
        from famt_mm.utils.fileio import save_json
        save_json(args.out, out)


if __name__ == '__main__':
    main()
