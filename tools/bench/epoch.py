"""Epoch mode: one real training epoch with the config's dataloader, then
one FAMTHook refresh."""
import os.path as osp
import tempfile
import time

from mmpretrain.registry import HOOKS

from famt_mm.engine.hooks.famt_hook import FAMTHook, interval_epochs
from famt_mm.evaluation.experiment import load_config
from .common import famt_hook_cfg


def epoch_mode(args) -> list:
    from mmengine.runner import Runner

    rows = []
    for path in args.configs:
        cfg = load_config(path, args.cfg_options)
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
