"""Pretraining cost, side by side: FAMT / AMT / random configs.

    python tools/benchmark.py CONFIG [CONFIG ...] [--cfg-options K=V ...]
        [--batch-size B] [--iters N] [--warmup W] [--device cpu|cuda]
        [--amp | --compare-amp] [--out FILE.json] [--mode step|epoch|data]
        [--data DIR]

step (default): each config's model and optimiser are built as the Runner
    builds them; W warm-up and N timed training steps (data preprocessing,
    forward, backward, optimiser step) on one in-memory batch, the configs
    interleaved step by step so that machine drift hits all alike. Reports
    the median step time, images/s, peak memory (CUDA: max allocated; CPU:
    peak RSS growth after imports; each config alone in fresh processes,
    median of 3), the forward FLOPs counted by
    torch.utils.flop_counter, and every ratio to the first config. For
    FAMT / AMT configs it also times a refresh batch (the hook's no-grad
    full-token pass) interleaved with the steps: refresh_over_step is one
    refresh in training epochs (refresh_flops_over_step the same from
    FLOPs, a step counted as three forward passes),
    refresh_share_of_training the share of training time at the config's
    refresh interval. masking_over_step is the model's mask sampling
    (weights -> mask) as a share of the step. --amp trains under autocast
    (bfloat16 on a CPU, float16 on CUDA); --compare-amp benches every config
    twice, without and with it, interleaved (rows CONFIG and CONFIG@amp).
epoch: one real training epoch with the config's dataloader (point it at
    your data with --cfg-options), then one FAMTHook refresh; reports both
    times and what a refresh every `interval` epochs costs as a share of
    training.
data: the training pipelines alone (loading, crop, flip, FAMT weights,
    packing) in this one process, i.e. one dataloader worker, on the images
    of --data (real JPEGs; default the Imagenette subset in ../shared/data),
    the configs interleaved pass by pass. Reports ms per image per worker
    and, with --step-images-per-s R (what one GPU's training step consumes
    with the first config), the workers each pipeline needs to feed it; a
    FAMT step is ~0.6x as long, so its loader must deliver R / 0.6.
    Give MMPretrain's stock config as mmpretrain::mae/... to compare.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample
from shared_data import unpack_shared
from torch.utils.flop_counter import FlopCounterMode

import famt_mm  # noqa: F401
from famt_mm.fileio import output_file, save_json
from famt_mm.hooks import interval_epochs
from famt_mm.refresh import batch_weights, eval_mode


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[5:]))
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='applied to every config')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the config's training batch size")
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (bf16 on a CPU)')
    parser.add_argument('--compare-amp', action='store_true',
                        help='step mode: each config without and with AMP')
    parser.add_argument('--mode', choices=['step', 'epoch', 'data'],
                        default='step')
    parser.add_argument('--data', help='data mode: a folder of images')
    parser.add_argument('--images', type=int, default=200,
                        help='data mode: images per pass')
    parser.add_argument('--passes', type=int, default=5,
                        help='data mode: timed passes (after one warm-up)')
    parser.add_argument('--step-images-per-s', type=float,
                        help='data mode: images/s one training step '
                        'consumes with the first config')
    parser.add_argument('--out', type=output_file('.json'),
                        help='write the results as JSON')
    parser.add_argument('--memory-repeats', type=int, default=3,
                        help='fresh processes per config for peak memory '
                        '(median); 0 skips the memory measurement')
    parser.add_argument('--memory-probe', action='store_true',
                        help=argparse.SUPPRESS)  # internal: one config alone
    args = parser.parse_args(argv)
    if args.compare_amp and (args.amp or args.mode != 'step'):
        parser.error('--compare-amp is a step-mode option, without --amp')
    for name in ('batch_size', 'iters', 'images', 'passes'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    return args


def load_cfg(path, args):
    if '::' in path:  # a config of an installed package, e.g. mmpretrain::
        from mmengine.hub import get_config
        cfg = get_config(path)
    else:
        cfg = Config.fromfile(path)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


def famt_hook_cfg(cfg):
    """The config's FAMTHook entry."""
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] == 'FAMTHook']
    if not hooks:
        raise SystemExit('this benchmark needs FAMT pretraining configs '
                         '(with a FAMTHook)')
    return hooks[0]


class Bench:
    """One config's model, optimiser and fixed batch."""

    def __init__(self, path, args, amp=None):
        amp = args.amp if amp is None else amp
        cfg = load_cfg(path, args)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        if cfg.get('data_preprocessor') is not None:
            cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
        self.name = osp.splitext(osp.basename(path))[0] + (
            '@amp' if amp and args.compare_amp else '')
        self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        self.model.to(args.device).train()
        optim_cfg = cfg.optim_wrapper.copy()
        optim_cfg.type = ('OptimWrapper' if not amp else 'AmpOptimWrapper'
                          if args.device == 'cuda' else 'BF16OptimWrapper')
        optim_cfg.pop('loss_scale', None)
        self.optim = build_optim_wrapper(self.model, optim_cfg)
        hook = HOOKS.build(famt_hook_cfg(cfg))
        self.mode, self.cues = hook.mode, hook.cues
        self.model.set_mask_phase(
            'warmup' if self.mode == 'random' else 'famt')
        self.interval = interval_epochs(hook.interval,
                                        cfg.train_cfg.max_epochs)
        self.amp = amp
        self.refresh_times = []
        self.mask_times = []
        batch = args.batch_size or cfg.train_dataloader.batch_size
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (batch, 3, *self.model.input_size),
                               generator=gen, dtype=torch.uint8)
        samples = []
        for _ in range(batch):
            sample = DataSample()
            sample.set_field(torch.rand(self.model.patch_grid, generator=gen),
                             'famt_weights')
            samples.append(sample)
        self.data = dict(inputs=images, data_samples=samples)
        self.batch = batch
        self.device = args.device
        self.times = []

    def step(self):
        start = time.perf_counter()
        self.model.train_step(self.data, self.optim)
        if self.device == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def mask_step(self):
        """The step's mask sampling alone (weights -> mask code)."""
        data = self.model.data_preprocessor(self.data, True)
        if self.device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        self.model.sample_mask(data['inputs'], data['data_samples'])
        if self.device == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def refresh_pass(self):
        """One FAMTHook refresh batch: the no-grad full-token pass that
        computes the weights (as the hook, eval mode, autocast with AMP)."""
        with eval_mode(self.model):
            batch_weights(self.model, self.data, self.cues, amp=self.amp)

    def refresh_step(self):
        start = time.perf_counter()
        self.refresh_pass()
        if self.device == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def forward_flops(self) -> int:
        data = self.model.data_preprocessor(self.data, True)
        with FlopCounterMode(display=False) as counter:
            with torch.no_grad():
                self.model(**data, mode='loss')
        return counter.get_total_flops()

    def refresh_flops(self) -> int:
        with FlopCounterMode(display=False) as counter:
            self.refresh_pass()
        return counter.get_total_flops()


def proc_status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process's address space. Not
    ru_maxrss: Linux carries that across exec, so a probe spawned from a
    big parent would report the parent's peak."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def memory_probe(args) -> dict:
    """Run in a fresh process: one config's peak memory over W+2 steps,
    from after the registries' lazy imports (model, optimiser states,
    gradients and activations)."""
    cfg = load_cfg(args.configs[0], args)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    MODELS.get(cfg.model.type)  # triggers the registry's imports
    base = proc_status_mb('VmRSS')
    bench = Bench(args.configs[0], args)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for _ in range(max(args.warmup, 1) + 2):
        bench.step()
    if args.device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = proc_status_mb('VmHWM') - base
    return dict(peak_mem_mb=round(peak, 1))


def probe_in_subprocess(path, argv_rest, repeats=3) -> float:
    """Median over fresh processes; one malloc arena, because glibc's
    per-thread arenas make CPU RSS vary by tens of percent run to run."""
    env = dict(os.environ, MALLOC_ARENA_MAX='1')
    peaks = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, path, '--memory-probe', *argv_rest],
            capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise SystemExit(f'memory probe of {path} failed:\n{out.stderr}')
        peaks.append(
            json.loads(out.stdout.strip().splitlines()[-1])['peak_mem_mb'])
    return statistics.median(peaks)


def step_mode(args, argv_rest) -> list:
    benches = [
        Bench(p, args, amp) for p in args.configs
        for amp in ((False, True) if args.compare_amp else (None, ))
    ]
    flops = [b.forward_flops() for b in benches]
    for rep in range(args.warmup + args.iters):
        for bench in benches:
            elapsed = bench.step()
            if rep >= args.warmup:
                bench.times.append(elapsed)
                bench.mask_times.append(bench.mask_step())
            if bench.mode != 'random':
                elapsed = bench.refresh_step()
                if rep >= args.warmup:
                    bench.refresh_times.append(elapsed)
    memory = [
        probe_in_subprocess(p, argv_rest, args.memory_repeats)
        if args.memory_repeats and not args.compare_amp else None
        for p in args.configs for _ in range(1 + args.compare_amp)
    ]
    first = statistics.median(benches[0].times)
    rows = []
    for bench, flop, mem in zip(benches, flops, memory):
        median = statistics.median(bench.times)
        rows.append(
            dict(
                config=bench.name,
                batch_size=bench.batch,
                step_time_median_s=round(median, 5),
                images_per_s=round(bench.batch / median, 2),
                peak_mem_mb=mem,
                forward_gflops=round(flop / 1e9, 3),
                flops_ratio_to_first=round(flop / flops[0], 3),
                ratio_to_first=round(median / first, 3),
                masking_over_step=round(
                    statistics.median(bench.mask_times) / median, 5)))
        if bench.refresh_times:
            # A refresh passes every image once, so refresh / step time is
            # its cost in epochs; one every `interval` epochs costs r/(r+I).
            refresh = statistics.median(bench.refresh_times) / median
            rows[-1].update(
                refresh_over_step=round(refresh, 3),
                # a training step is ~3 forward passes (backward ~2)
                refresh_flops_over_step=round(
                    bench.refresh_flops() / (3 * flop), 3),
                refresh_interval_epochs=bench.interval,
                refresh_share_of_training=round(
                    refresh / (refresh + bench.interval), 4))
    return rows


def epoch_mode(args) -> list:
    from mmengine.runner import Runner

    from famt_mm.hooks import FAMTHook
    rows = []
    for path in args.configs:
        cfg = load_cfg(path, args)
        hook_cfg = famt_hook_cfg(cfg)
        # with the hook's defaults, before the run is cut to one epoch
        interval = interval_epochs(HOOKS.build(hook_cfg).interval,
                                   cfg.train_cfg.max_epochs)
        # one epoch, in the config's steady state (FAMT masks for FAMT/AMT)
        hook_cfg.warmup_epochs = 0
        cfg.train_cfg.max_epochs = 1
        cfg.work_dir = tempfile.mkdtemp(prefix='famt_bench_')
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                            interval=10**6)
        if args.device == 'cpu' or not args.amp:
            cfg.optim_wrapper.type = 'OptimWrapper'
            cfg.optim_wrapper.pop('loss_scale', None)
        if args.batch_size:
            cfg.train_dataloader.batch_size = args.batch_size
        runner = Runner.from_cfg(cfg)
        start = time.perf_counter()
        runner.train()
        total = time.perf_counter() - start
        hook = next(h for h in runner.hooks if isinstance(h, FAMTHook))
        refresh = None
        if hook.mode != 'random':  # time a refresh with the trained model
            start = time.perf_counter()
            hook.refresh(runner, 1)
            refresh = time.perf_counter() - start
        epoch = hook.last_epoch_seconds or total
        rows.append(
            dict(
                config=osp.splitext(osp.basename(path))[0],
                images=len(runner.train_dataloader.dataset),
                epoch_time_s=round(epoch, 2),
                images_per_s=round(len(runner.train_dataloader.dataset) /
                                   epoch, 2),
                refresh_time_s=None if refresh is None else round(refresh, 2),
                refresh_over_epoch=None if refresh is None else round(
                    refresh / epoch, 3),
                refresh_interval_epochs=interval,
                refresh_share_of_training=None if refresh is None else round(
                    refresh / (refresh + interval * epoch), 4)))
    first = rows[0]['epoch_time_s']
    for row in rows:
        row['ratio_to_first'] = round(row['epoch_time_s'] / first, 3)
    return rows


def train_pipeline_cfg(cfg) -> list:
    """The training data set's pipeline (dataset wrappers removed)."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    return dataset.pipeline


def default_images() -> str:
    """The Imagenette subset of ../shared/data, unpacked to the cache."""
    try:
        return unpack_shared('imagenette-sub')
    except FileNotFoundError as e:
        raise SystemExit(f'data mode: no --data and {e}')


def data_mode(args) -> list:
    """ms per image of each config's training pipeline in one process."""
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    from famt_mm.transforms import LoadFAMTWeights
    folder = args.data or default_images()
    files = sorted(
        osp.join(d, f) for d, _, names in os.walk(folder) for f in names
        if f.lower().endswith(('.jpg', '.jpeg', '.png')))[:args.images]
    if not files:
        raise SystemExit(f'data mode: no images in {folder}')
    tmp = tempfile.mkdtemp(prefix='famt_bench_data_')
    pipelines, names = [], []
    for path in args.configs:
        cfg = load_cfg(path, args)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        pipeline = Compose(
            [TRANSFORMS.build(t) for t in train_pipeline_cfg(cfg)])
        for t in pipeline.transforms:
            if isinstance(t, LoadFAMTWeights):
                # As FAMTHook: the patch size is the model's.
                t.patch_size = MODELS.build(cfg.model).patch_size
                # Real maps, so the weights are pooled as in training (the
                # warm-up's uniform weights skip that work).
                crop = next(c for c in pipeline.transforms
                            if hasattr(c, 'scale'))
                side = crop.scale[0] // t.patch_size
                maps = os.path.join(tmp, f'{len(names)}.npy')
                np.save(maps, np.random.default_rng(0).random(
                    (len(files), side, side)).astype(np.float16))
                t.store.publish(maps)
        pipelines.append(pipeline)
        names.append(path.split('::')[-1].rsplit('/', 1)[-1][:-3])
    times = [[] for _ in pipelines]
    for rep in range(args.passes + 1):
        for k, pipeline in enumerate(pipelines):
            start = time.perf_counter()
            for i, f in enumerate(files):
                pipeline(dict(img_path=f, sample_idx=i))
            if rep:  # the first pass warms the page cache
                times[k].append((time.perf_counter() - start) / len(files))
    first = statistics.median(times[0])
    rows = []
    for k, name in enumerate(names):
        ms = statistics.median(times[k]) * 1000
        row = dict(config=name, images=len(files),
                   ms_per_image_per_worker=round(ms, 3),
                   images_per_s_per_worker=round(1000 / ms, 1),
                   ratio_to_first=round(ms / 1000 / first, 3))
        if args.step_images_per_s:
            # a FAMT / AMT step is ~0.6x as long: its loader must keep up
            rate = args.step_images_per_s / (0.6 if k else 1.0)
            row.update(needed_images_per_s=round(rate, 1),
                       workers_needed=round(rate * ms / 1000, 2))
        rows.append(row)
    return rows


def print_table(rows):
    keys = list(dict.fromkeys(k for r in rows for k in r if k != 'config'))
    width = max(len(r['config']) for r in rows)
    print(f'{"config":<{width}}  ' + '  '.join(f'{k:>14}' for k in keys))
    for row in rows:
        print(f'{row["config"]:<{width}}  ' +
              '  '.join(f'{str(row.get(k, "-")):>14}' for k in keys))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.manual_seed(0)
    if args.memory_probe:
        print(json.dumps(memory_probe(args)))
        return
    if args.mode == 'step':
        rest = [a for a in argv if a not in args.configs]
        rows = step_mode(args, rest)
    elif args.mode == 'data':
        rows = data_mode(args)
    else:
        rows = epoch_mode(args)
    device = (torch.cuda.get_device_name() if args.device == 'cuda' else
              f'cpu ({torch.get_num_threads()} threads)')
    print(f'device: {device}, torch {torch.__version__}')
    print_table(rows)
    if args.out:
        # The exact command and stack, so a figure can be rerun and compared.
        result = dict(device=device, mode=args.mode, torch=torch.__version__,
                      command=' '.join(['python', 'tools/benchmark.py'] +
                                       argv),
                      results=rows)
        save_json(args.out, result)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
