"""Small-scale reproduction: random vs AMT vs FAMT MAE on CIFAR-10, 32 px.

    python tools/reproduce_cifar10.py [--data DIR] [--epochs 20]
        [--seeds 0 1] [--modes random attention famt] [--arch mini|tiny]
        [--batch-size 256] [--work-dir work_dirs/reproduce_cifar10]

For every seed and mode: pretrain from scratch with the project's CIFAR
32-px FAMT-MAE config (the same recipe for every mode: only FAMTHook's
`mode` differs), then linear-probe the encoder (tools/linear_probe.py).
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
BASE_CONFIG = osp.join(
    ROOT, 'configs', 'pretrain', 'mae',
    'famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')
ARCHS = {
    # 6 blocks of ViT-Tiny width: half its cost, for CPU budgets
    'mini': dict(embed_dims=192, num_layers=6, num_heads=3,
                 feedforward_channels=768),
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3,
                 feedforward_channels=768),
}


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
    """Dump the run's full config next to its outputs; return its path."""
    from mmengine.config import Config
    cfg = Config.fromfile(BASE_CONFIG)
    cfg.model.backbone.arch = ARCHS[args.arch]
    cfg.data_preprocessor.to_rgb = True  # JPEGs are loaded BGR
    pipeline = [dict(type='LoadImageFromFile')] + list(
        cfg.train_dataloader.dataset.pipeline)
    cfg.train_dataloader.update(batch_size=args.batch_size, num_workers=2)
    cfg.train_dataloader.dataset = dict(  # replaces the CIFAR10 data set
        type='CustomDataset', data_root=osp.join(args.data, 'train'),
        with_label=False, pipeline=pipeline)
    epochs = args.epochs
    warm = epochs // 10  # 10% linear warm-up, then cosine
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
             end=warm, convert_to_iter_based=True),
    ] if warm else []
    cfg.param_scheduler.append(
        dict(type='CosineAnnealingLR', T_max=epochs - warm, by_epoch=True,
             begin=warm, end=epochs, convert_to_iter_based=True))
    cfg.optim_wrapper.optimizer.lr = 1.5e-4 * args.batch_size / 256 * 4
    cfg.custom_hooks = [
        dict(type='FAMTHook', mode=mode, warmup_epochs=0.1, interval=0.1)
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    cfg.randomness = dict(seed=seed)
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
        json.dump(dict(epochs=args.epochs, arch=args.arch,
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
    parser.add_argument('--epochs', type=int, default=20)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--modes', nargs='+',
                        default=['random', 'attention', 'famt'],
                        choices=['random', 'attention', 'famt', 'frequency'])
    parser.add_argument('--arch', choices=sorted(ARCHS), default='mini')
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
