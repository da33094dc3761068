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

The modes live in tools/bench/ (step.py, epoch.py, data.py).
"""
import argparse
import json
import sys

import torch
from bench import data, epoch, step
from mmengine.config import DictAction

import famt_mm  # noqa: F401
from famt_mm.utils.fileio import output_file, save_json


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
        print(json.dumps(step.memory_probe(args)))
        return
    if args.mode == 'step':
        rest = [a for a in argv if a not in args.configs]
        rows = step.step_mode(args, rest)
    elif args.mode == 'data':
        rows = data.data_mode(args)
    else:
        rows = epoch.epoch_mode(args)
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
