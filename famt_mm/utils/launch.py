"""What tools/train.py and tools/test.py share: the command line around a
config and the config it makes (scope, launcher, overrides, work dir)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

import famt_mm.compat  # noqa: F401  (safe checkpoint loading)
import famt_mm.cpu_ddp  # noqa: F401  (DDP on machines without GPUs)
from famt_mm.utils.checks import check_epoch_length
from famt_mm.utils.tiers import check_scope


def launcher_parser(description: str) -> argparse.ArgumentParser:
    """CONFIG, --work-dir, --cfg-options, --launcher and the --local-rank
    that torch.distributed.launch passes; a tool adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and outputs go '
                        '(default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, KEY=VALUE')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)
    return parser


def parse_launch_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def launch_config(args: argparse.Namespace) -> Config:
    """The config with the scope checked, the launcher, the overrides and
    the work dir applied."""
    cfg = Config.fromfile(args.config)
    check_scope(cfg, args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def train_or_explain(runner) -> None:
    """``runner.train()``; a training set smaller than one batch with
    ``drop_last`` (MMEngine: "epoch_length must be a positive integer")
    exits with the sizes and the fix instead."""
    try:
        runner.train()
    except (AssertionError, ValueError) as e:  # MMEngine asserts it
        if 'epoch_length' not in str(e):
            raise
        try:
            check_epoch_length(runner.train_dataloader)
        except ValueError as empty:
            raise SystemExit(f'error: {empty}') from None
        raise
