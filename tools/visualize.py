"""Draw FAMT's weights and masks for images, as in the paper's figures.

    python tools/visualize.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \
        --out FIG.png [--mode famt|attention|frequency|sum] [--seed 0]

Per image: the image resized to the model input, the attention, frequency
and fused weights of the checkpoint's encoder, and the masked (red) /
thrown (grey) / visible patches its mask generator draws from them.
"""
import argparse
import dataclasses
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.dataset import Compose, default_collate
from mmpretrain.registry import HOOKS, TRANSFORMS
from PIL import Image

import famt_mm  # noqa: F401
from famt_mm.datasets.image_folder import check_nonempty
from famt_mm.engine.checkpoint import load_encoder
from famt_mm.engine.refresh import refresh_transforms
from famt_mm.evaluation.experiment import build_model, load_config
from famt_mm.models.utils.patch_weights import FUSIONS
from famt_mm.utils.fileio import output_file, save_atomic
from famt_mm.visualization.mask_panels import render_batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out', required=True,
                        type=output_file('.png', '.jpg', '.jpeg'),
                        help='PNG (or JPEG) to write')
    parser.add_argument('--mode', choices=tuple(FUSIONS),
                        help="weight fusion; default: the config's FAMTHook "
                        "mode ('famt' for a random-masking config)")
    parser.add_argument('--seed', type=int, default=0, help='mask seed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    missing = [p for p in args.images if not osp.isfile(p)]
    if missing:
        sys.exit(f'not found: {missing}')
    try:
        check_nonempty(args.images)
    except ValueError as e:
        sys.exit(f'visualize: {e}')

    cfg = load_config(args.config, args.cfg_options)
    model = build_model(cfg)
    if not hasattr(model, 'mask_generator'):
        sys.exit(f'{args.config} is not a FAMT pretraining config')
    try:
        load_encoder(model, args.checkpoint)
    except ValueError as e:
        sys.exit(f'visualize: {e}')
    hook = HOOKS.build(next((h for h in cfg.get('custom_hooks', [])
                             if h['type'] == 'FAMTHook'),
                            dict(type='FAMTHook')))
    cues = (dataclasses.replace(hook.cues, fusion=args.mode)
            if args.mode else hook.cues)

    input_hw = model.input_size
    pipeline = Compose(refresh_transforms(
        [TRANSFORMS.build(dict(type='LoadImageFromFile'))], input_hw))
    batch = default_collate([pipeline(dict(img_path=p)) for p in args.images])
    figure = render_batch(
        model, batch, cues, torch.Generator().manual_seed(args.seed),
        titles=[osp.splitext(osp.basename(p))[0] for p in args.images])
    image = Image.fromarray(figure)
    save_atomic(args.out, lambda f: image.save(
        f, format='PNG' if args.out.lower().endswith('.png') else 'JPEG'))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
