"""Step mode: each config's training step, refresh batch and mask sampling
side by side on one in-memory batch; FLOPs and peak memory."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample
from torch.utils.flop_counter import FlopCounterMode

import famt_mm  # noqa: F401
from famt_mm.engine.hooks.famt_hook import interval_epochs, trained_phase
from famt_mm.evaluation.experiment import build_model, load_config
from famt_mm.models.utils.cues import batch_weights, eval_mode
from .common import famt_hook_cfg

CLI = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
               'benchmark.py')


class Bench:
    """One config's model, optimiser and fixed batch."""

    def __init__(self, path, args, amp=None):
        amp = args.amp if amp is None else amp
        cfg = load_config(path, args.cfg_options)
        self.name = osp.splitext(osp.basename(path))[0] + (
            '@amp' if amp and args.compare_amp else '')
        self.model = build_model(cfg)
        self.model.init_weights()
        self.model.to(args.device).train()
        optim_cfg = cfg.optim_wrapper.copy()
        optim_cfg.type = ('OptimWrapper' if not amp else 'AmpOptimWrapper'
                          if args.device == 'cuda' else 'BF16OptimWrapper')
        optim_cfg.pop('loss_scale', None)
        self.optim = build_optim_wrapper(self.model, optim_cfg)
        hook = HOOKS.build(famt_hook_cfg(cfg))
        self.mode, self.cues = hook.mode, hook.cues
        self.model.set_mask_phase(trained_phase(self.mode))
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
    cfg = load_config(args.configs[0], args.cfg_options)
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
            [sys.executable, CLI, path, '--memory-probe', *argv_rest],
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
