"""Small-scale reproduction: random vs AMT vs FAMT MAE on CIFAR-10, 32 px.

    python tools/reproduce_cifar10.py [--data DIR] [--epochs 10]
        [--seeds 0 1] [--modes random attention famt] [--batch-size 256]
        [--work-dir work_dirs/reproduce_cifar10]

For every seed and mode: pretrain from scratch with the committed recipe
configs/pretrain/mae/{random,amt,famt}-mae_vit-mini-p4_1xb256-coslr-10e_
cifar10-jpeg-32px.py (identical but for FAMTHook's `mode`), then
linear-probe the encoder (tools/linear_probe.py).
Finished runs are skipped, so an interrupted reproduction continues.
Writes WORK_DIR/results.json and WORK_DIR/results.md.

DIR holds train/<class>/*.jpg and test/<class>/*.jpg; by default the
CIFAR-10 JPEG copy in ../shared/data is unpacked into ~/.cache/famt-mm.
It is stored as lossy JPEG (quality about 75): accuracies are not directly
comparable with published CIFAR-10 numbers.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'pretrain', 'mae')
RECIPE = '{}-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py'
CONFIG_PREFIX = {'random': 'random', 'attention': 'amt', 'famt': 'famt'}


def default_data() -> str:
    cache = osp.join(
        os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')),
        'famt-mm', 'data')
    shared = osp.join(ROOT, '..', 'shared', 'data')
    if not osp.isfile(osp.join(shared, 'cifar10-jpeg.tar.gz')):
        sys.exit(f'no --data given and {shared}/cifar10-jpeg.tar.gz is '
                 'absent: pass --data DIR with train/ and test/ class folders')
    subprocess.run([sys.executable, osp.join(shared, 'unpack.py'), cache,
                    'cifar10-jpeg'], check=True, capture_output=True)
    return osp.join(cache, 'cifar10-jpeg')


def pretrain_config(args, mode, seed, work_dir) -> str:
    """The mode's committed recipe (configs/pretrain/mae/*-10e_cifar10-jpeg-
    32px.py) with this run's data, seed, work dir and, if asked, another
    length; dumped next to its outputs. Returns the dumped path."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(CONFIGS, RECIPE.format(CONFIG_PREFIX.get(mode, 'famt'))))
    cfg.custom_hooks[0].mode = mode  # 'frequency' runs on the FAMT recipe
    cfg.train_dataloader.dataset.data_root = osp.join(args.data, 'train')
    cfg.train_dataloader.batch_size = args.batch_size
    epochs = args.epochs
    if epochs != cfg.train_cfg.max_epochs:
        warm = epochs // 10  # 10% linear warm-up, then cosine
        cfg.train_cfg.max_epochs = epochs
        cfg.param_scheduler = [
            dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
                 end=warm, convert_to_iter_based=True),
        ] if warm else []
        cfg.param_scheduler.append(
            dict(type='CosineAnnealingLR', T_max=epochs - warm,
                 by_epoch=True, begin=warm, end=epochs,
                 convert_to_iter_based=True))
    # A checkpoint every epoch (only the latest kept): an interrupted run
    # resumes where it stopped.
    cfg.default_hooks.checkpoint.interval = 1
    cfg.randomness.seed = seed
    cfg.work_dir = work_dir
    path = osp.join(work_dir, 'pretrain_config.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def run(cmd, log):
    with open(log, 'a') as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT,
                       cwd=ROOT)


def one_run(args, mode, seed) -> dict:
    work_dir = osp.join(args.work_dir, f'{mode}_seed{seed}')
    probe_file = osp.join(work_dir, 'probe.json')
    timing_file = osp.join(work_dir, 'pretrain_seconds.json')
    config = pretrain_config(args, mode, seed, work_dir)
    ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
    if not osp.isfile(ckpt):
        start = time.perf_counter()
        run([sys.executable, 'tools/train.py', config, '--resume'],
            osp.join(work_dir, 'pretrain.log'))
        with open(timing_file, 'w') as f:
            json.dump(dict(seconds=time.perf_counter() - start), f)
    if not osp.isfile(probe_file):
        run([sys.executable, 'tools/linear_probe.py', config, ckpt, '--train',
             osp.join(args.data, 'train'), '--test',
             osp.join(args.data, 'test'), '--seed', str(seed), '--out',
             probe_file], osp.join(work_dir, 'probe.log'))
    with open(probe_file) as f:
        probe = json.load(f)
    seconds = None
    if osp.isfile(timing_file):
        with open(timing_file) as f:
            seconds = round(json.load(f)['seconds'])
    return dict(mode=mode, seed=seed, pretrain_seconds=seconds,
                probe_seconds=probe['seconds'],
                linear_top1=probe['test_top1'],
                linear_train_top1=probe['train_top1'])


def write_summary(args, rows):
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(epochs=args.epochs, recipe=RECIPE.format('{mode}'),
                       batch_size=args.batch_size, data=args.data,
                       runs=rows), f, indent=2)
    lines = ['| mode | seed | linear top-1 (%) | pretraining (min) |',
             '|---|---|---|---|']
    for r in rows:
        minutes = ('-' if r['pretrain_seconds'] is None else
                   f'{r["pretrain_seconds"] / 60:.1f}')
        lines.append(f'| {r["mode"]} | {r["seed"]} | {r["linear_top1"]:.2f} '
                     f'| {minutes} |')
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', help='folder with train/ and test/')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--modes', nargs='+',
                        default=['random', 'attention', 'famt'],
                        choices=['random', 'attention', 'famt', 'frequency'])
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--work-dir', default='work_dirs/reproduce_cifar10')
    args = parser.parse_args()
    args.data = args.data or default_data()
    for split in ('train', 'test'):
        if not osp.isdir(osp.join(args.data, split)):
            sys.exit(f'{args.data} has no {split}/ folder')
    rows = []
    for seed in args.seeds:
        for mode in args.modes:
            print(f'[reproduce] {mode}, seed {seed}', flush=True)
            rows.append(one_run(args, mode, seed))
            write_summary(args, rows)


if __name__ == '__main__':
    main()
