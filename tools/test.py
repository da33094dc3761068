"""Evaluate a checkpoint with a famt-mm config (linear probe / fine-tune
benchmarks, detection, segmentation).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
from mmengine.runner import Runner

from famt_mm.utils.launch import (launch_config, launcher_parser,
                                  parse_launch_args)
from famt_mm.utils.tiers import full_environment_needed


def main():
    parser = launcher_parser(__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='checkpoint to evaluate')
    args = parse_launch_args(parser)
    with full_environment_needed(args.config):
        test(args, parser)


def test(args, parser):
    cfg = launch_config(args)
    if cfg.get('test_dataloader') is None:
        parser.error(f'{args.config} has no test_dataloader (a pretraining '
                     'config?): evaluate with a configs/pretrain/benchmarks/, '
                     'configs/det/ or configs/seg/ config')
    cfg.load_from = args.checkpoint
    Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
