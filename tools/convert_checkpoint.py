"""Convert an MMPretrain MAE / SimMIM ViT checkpoint for MMDet or MMSeg.

    python tools/convert_checkpoint.py SRC DST --target {mmdet,mmseg,vitdet}
                                       [--img-size H [W]]

mmdet:  for configs/det (famt_mm.det.WindowViT); --img-size 1024
mmseg:  for configs/seg (MMSeg's MAE backbone); --img-size 512
vitdet: for MMDet's projects/ViTDet from a source checkout (official MAE
        names under 'model')

Refuses files that are not ViT masked-image-modeling checkpoints, and says
how many tensors it mapped.
"""
import argparse
import os.path as osp
import sys

import torch

import famt_mm.compat  # noqa: F401  (MMEngine checkpoints under torch 2.6+)
from famt_mm.utils.convert import TARGETS, CheckpointError, convert
from famt_mm.utils.fileio import output_file, save_atomic


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='MMPretrain pretraining checkpoint')
    parser.add_argument('dst', type=output_file(),
                        help='where to write the backbone checkpoint')
    parser.add_argument('--target', required=True, choices=TARGETS)
    parser.add_argument('--img-size', type=int, nargs='+',
                        help='downstream input size (H [W]) to resize the '
                        'position embeddings to (mmdet, mmseg)')
    args = parser.parse_args(argv)
    img_size = None
    if args.img_size:
        if len(args.img_size) > 2:
            parser.error('--img-size takes H or H W')
        img_size = (args.img_size[0], args.img_size[-1])
    if args.target == 'vitdet' and args.img_size:
        parser.error('--img-size applies to --target mmdet / mmseg; ViTDet '
                     'resizes its position embeddings itself')
    if osp.realpath(args.dst) == osp.realpath(args.src):
        print(f'error: dst is the source checkpoint {args.src}; converting '
              'in place would overwrite it: give another path',
              file=sys.stderr)
        return 1
    try:
        # weights_only: a checkpoint never executes code, on any torch
        checkpoint = torch.load(args.src, map_location='cpu',
                                weights_only=True)
    except Exception as e:  # any unreadable file: one line, exit 1
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        print(f'error: cannot load {args.src} as a weights-only PyTorch '
              f'checkpoint: {reason}', file=sys.stderr)
        return 1
    try:
        out, report = convert(checkpoint, args.target, img_size, args.src)
    except (CheckpointError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    save_atomic(args.dst, lambda f: torch.save(out, f))
    old, new = report['pos_embed']
    print(f'mapped {len(report["mapped"])} tensors for {args.target}; '
          f'left out {len(report["dropped"])} {report["dropped"]}; '
          f'pos_embed {old} -> {new}')
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
