"""Evaluate a checkpoint with a famt-mm config (linear probe / fine-tune
benchmarks, detection, segmentation).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import famt_mm.compat  # noqa: F401  (safe checkpoint loading)
import famt_mm.cpu_ddp  # noqa: F401  (DDP on machines without GPUs)
from famt_mm.tiers import check_scope, full_environment_needed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint to evaluate')
    parser.add_argument('--work-dir', help='where logs and results go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, KEY=VALUE')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    with full_environment_needed(args.config):
        test(args, parser)


def test(args, parser):
    cfg = Config.fromfile(args.config)
    check_scope(cfg, args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('test_dataloader') is None:
        parser.error(f'{args.config} has no test_dataloader (a pretraining '
                     'config?): evaluate with a configs/pretrain/benchmarks/, '
                     'configs/det/ or configs/seg/ config')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
