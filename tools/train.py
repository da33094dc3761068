"""Train with any famt-mm config (pretraining, detection, segmentation).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

The config's default_scope picks MMPretrain, MMDet or MMSeg; its
custom_imports pull in famt_mm. Multi-GPU: tools/dist_train.sh.
"""
from mmengine.runner import Runner

from famt_mm.utils.launch import (launch_config, launcher_parser,
                                  parse_launch_args, train_or_explain)
from famt_mm.utils.tiers import full_environment_needed


def main():
    parser = launcher_parser(__doc__.splitlines()[0])
    parser.add_argument(
        '--resume', nargs='?', const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no CKPT is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (AmpOptimWrapper)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size')
    args = parse_launch_args(parser)
    with full_environment_needed(args.config):
        train(args)


def train(args):
    cfg = launch_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    train_or_explain(Runner.from_cfg(cfg))


if __name__ == '__main__':
    main()
