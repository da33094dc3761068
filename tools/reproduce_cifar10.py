"""Small-scale reproduction: random vs AMT vs FAMT MAE on CIFAR-10, 32 px.

    python tools/reproduce_cifar10.py [--preset cpu|gpu] [--data DIR]
        [--epochs E] [--seeds 0 1] [--modes random attention famt]
        [--device cpu|cuda] [--parallel P] [--workers W] [--max-images N]
        [--batch-size 256] [--work-dir DIR]

For every seed and mode: pretrain from scratch, then linear-probe the
encoder (tools/linear_probe.py). Presets:

cpu (default): configs/pretrain/mae/{random,amt,famt}-mae_vit-mini-p4_
    1xb256-coslr-10e_cifar10-jpeg-32px.py, 10 epochs (2 CPU cores: ~50 min
    a run), one run at a time.
gpu: the 32-px ViT-Tiny recipe, {random,amt,famt}-mae_vit-tiny-p4_1xb256-
    coslr-200e_cifar10-32px.py, shortened to --epochs (default 100: random
    masking for 10, then a refresh every 10), bf16 AMP on CUDA, the images
    decoded once into memory (InMemoryImageFolder: the FAMT crop, flip and
    weight transforms still run per sample), the modes run concurrently on
    the one GPU (--parallel, default 3) with the CPU cores shared among
    their dataloaders and, as torch threads, among the runs. Sized for ~25
    minutes of one H100 with 16 cores for all three modes; each run's wall
    time is recorded, to resize --epochs.

The three modes of a preset differ in FAMTHook's `mode` only. Finished
runs are skipped and interrupted ones resume from their last epoch, so a
reproduction continues where it stopped. After every run it writes
WORK_DIR/results.json and WORK_DIR/results.md with every finished run in
WORK_DIR (earlier invocations' too). `--preset gpu --device cpu --epochs 2
--max-images 2000` is the CPU smoke test of the GPU path.

DIR holds train/<class>/*.jpg and test/<class>/*.jpg; by default the
CIFAR-10 JPEG copy in ../shared/data is unpacked into ~/.cache/famt-mm.
It is stored as lossy JPEG (quality about 75): accuracies are not directly
comparable with published CIFAR-10 numbers.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from famt_mm.engine.checkpoint import checkpoint_loads
from famt_mm.engine.hooks.famt_hook import hook_modes
from famt_mm.evaluation.experiment import (RunFailed, check_run_settings,
                                           data_argument, dump_run_config,
                                           load_config, pretrain_seconds,
                                           process_env, recipe_prefix,
                                           run_lock, run_logged,
                                           spread_indices, warmup_cosine)
from famt_mm.utils.fileio import save_atomic, save_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'pretrain', 'mae')
RECIPES = dict(
    cpu='{}-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py',
    gpu='{}-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')
PRESETS = dict(cpu=dict(epochs=10, parallel=1), gpu=dict(epochs=100,
                                                         parallel=3))


def pretrain_config(args, mode, seed, work_dir) -> str:
    """The mode's committed recipe with this run's data, seed, work dir,
    length and (gpu preset) AMP, in-memory data and workers; dumped next to
    its outputs. Returns the dumped path."""
    recipe = RECIPES[args.preset].format(recipe_prefix(mode))
    cfg = load_config(osp.join(CONFIGS, recipe))
    cfg.custom_hooks[0].mode = mode  # 'frequency' runs on the FAMT recipe
    pipeline = [t for t in cfg.train_dataloader.dataset.pipeline
                if t['type'] != 'LoadImageFromFile']
    dataset = dict(
        type='InMemoryImageFolder' if args.preset == 'gpu' else
        'CustomDataset',
        data_root=osp.join(args.data, 'train'), with_label=False,
        pipeline=(pipeline if args.preset == 'gpu' else
                  [dict(type='LoadImageFromFile')] + pipeline))
    if args.max_images:
        dataset['indices'] = spread_indices(
            osp.join(args.data, 'train'), args.max_images)
    cfg.train_dataloader.dataset = dataset
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.data_preprocessor.to_rgb = True  # JPEGs are loaded BGR
    if args.workers is not None:
        cfg.train_dataloader.num_workers = args.workers
        cfg.train_dataloader.persistent_workers = args.workers > 0
    if args.preset == 'gpu' and args.device == 'cuda':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    if args.epochs != cfg.train_cfg.max_epochs:
        cfg.train_cfg.max_epochs = args.epochs
        cfg.param_scheduler = warmup_cosine(args.epochs, args.epochs // 10)
    return dump_run_config(cfg, seed, work_dir, log_interval=50)


def run_settings(args) -> dict:
    """What a run's numbers depend on, besides its mode and seed."""
    return dict(preset=args.preset, data=osp.abspath(args.data),
                epochs=args.epochs, batch_size=args.batch_size,
                max_images=args.max_images, device=args.device)


def one_run(args, mode, seed) -> None:
    """Pretrain (or resume) and probe one run, skipping what is done."""
    work_dir = osp.join(args.work_dir, f'{mode}_seed{seed}')
    probe_file = osp.join(work_dir, 'probe.json')
    try:
        check_run_settings(work_dir, run_settings(args))
    except ValueError as e:
        sys.exit(str(e))
    config = osp.join(work_dir, 'pretrain_config.py')
    ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
    env = process_env(args.device, args.parallel)
    with run_lock(work_dir):
        if not checkpoint_loads(ckpt):
            config = pretrain_config(args, mode, seed, work_dir)
            run_logged([sys.executable, 'tools/train.py', config, '--resume'],
                       osp.join(work_dir, 'pretrain.log'), env, cwd=ROOT)
        if not osp.isfile(probe_file):
            run_logged(
                [sys.executable, 'tools/linear_probe.py', config, ckpt,
                 '--train', osp.join(args.data, 'train'), '--test',
                 osp.join(args.data, 'test'), '--seed', str(seed),
                 '--device', args.device, '--out', probe_file] +
                (['--max-images', str(args.max_images)]
                 if args.max_images else []),
                osp.join(work_dir, 'probe.log'), env, cwd=ROOT)


def run_row(work_dir, mode, seed) -> dict:
    """A finished run's row of the summary, from its files."""
    with open(osp.join(work_dir, 'probe.json')) as f:
        probe = json.load(f)
    return dict(mode=mode, seed=seed,
                pretrain_seconds=pretrain_seconds(work_dir),
                probe_seconds=probe['seconds'],
                linear_top1=probe['test_top1'],
                linear_train_top1=probe['train_top1'])


def finished_runs(args) -> list:
    """Every probed run of this many epochs in the work dir, this
    invocation's or an earlier one's, by seed and mode."""
    rows = []
    for mode in hook_modes():
        for probe in glob.glob(
                osp.join(args.work_dir, f'{mode}_seed*', 'probe.json')):
            work_dir = osp.dirname(probe)
            seed = osp.basename(work_dir)[len(f'{mode}_seed'):]
            if seed.isdigit() and osp.isfile(
                    osp.join(work_dir, f'epoch_{args.epochs}.pth')):
                rows.append(run_row(work_dir, mode, int(seed)))
    modes = hook_modes()
    return sorted(rows, key=lambda r: (r['seed'], modes.index(r['mode'])))


def write_summary(args, rows):
    save_json(
        osp.join(args.work_dir, 'results.json'),
        dict(preset=args.preset, device=args.device, epochs=args.epochs,
             recipe=RECIPES[args.preset].format('{mode}'),
             batch_size=args.batch_size, data=args.data,
             max_images=args.max_images, parallel=args.parallel,
             wall_seconds=round(time.perf_counter() - args.start),
             runs=rows))
    lines = ['| mode | seed | linear top-1 (%) | pretraining (min) |',
             '|---|---|---|---|']
    for r in rows:
        minutes = ('-' if r['pretrain_seconds'] is None else
                   f'{r["pretrain_seconds"] / 60:.1f}')
        lines.append(f'| {r["mode"]} | {r["seed"]} | {r["linear_top1"]:.2f} '
                     f'| {minutes} |')
    text = ('\n'.join(lines) + '\n').encode()
    save_atomic(osp.join(args.work_dir, 'results.md'), lambda f: f.write(text))
    print('\n'.join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--preset', choices=sorted(PRESETS), default='cpu')
    parser.add_argument('--data', help='folder with train/ and test/')
    parser.add_argument('--epochs', type=int,
                        help='default: 10 (cpu), 100 (gpu)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--modes', nargs='+',
                        default=['random', 'attention', 'famt'],
                        choices=hook_modes())
    parser.add_argument('--device', choices=['cpu', 'cuda'])
    parser.add_argument('--parallel', type=int,
                        help='runs at a time (default: 1 cpu, 3 gpu); each '
                        'gets cores/P torch threads unless OMP_NUM_THREADS '
                        'is set')
    parser.add_argument('--workers', type=int,
                        help='dataloader workers per run (default: the '
                        "recipe's; gpu: the cores shared among the runs)")
    parser.add_argument('--max-images', type=int,
                        help='N training (and probe) images, spread over the '
                        'classes (smoke runs)')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--work-dir', default='work_dirs/reproduce_cifar10')
    args = parser.parse_args()
    args.start = time.perf_counter()
    preset = PRESETS[args.preset]
    if args.epochs is None:
        args.epochs = preset['epochs']
    if args.parallel is None:
        args.parallel = preset['parallel']
    import torch
    args.device = args.device or ('cuda' if torch.cuda.is_available()
                                  else 'cpu')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device')
    for name in ('epochs', 'parallel', 'batch_size', 'max_images'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, '
                         f'got {value}')
    if args.workers is None and args.preset == 'gpu':
        args.workers = max(1, (os.cpu_count() or 2) // args.parallel - 1)
    # absolute: the runs start in the repository root
    args.data = data_argument(parser, args.data)
    args.work_dir = osp.abspath(args.work_dir)
    jobs = [(mode, seed) for seed in args.seeds for mode in args.modes]

    lock = threading.Lock()

    def one(job):
        print(f'[reproduce] {job[0]}, seed {job[1]}', flush=True)
        one_run(args, *job)
        # after every run, so that an interrupted reproduction keeps a
        # summary, which also lists the runs of earlier invocations
        with lock:
            write_summary(args, finished_runs(args))

    try:
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(one, jobs))
    except RunFailed as e:
        sys.exit(f'reproduce: {e}')


if __name__ == '__main__':
    main()
