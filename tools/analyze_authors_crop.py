"""What the authors' released AMT crop code does to the weights.

    python tools/analyze_authors_crop.py [--weights FILE.npy]
        [--image-size 500 375] [--crops 64] [--seed 0] [--out FILE.json]

The authors' ``maskRandomResizedCrop`` (mae-AMT/amtdatasets.py) slices the
image's weight map with pixel coordinates divided by the whole image size,
``map[i // H : (i + h) // H + 2, j // W : (j + w) // W + 2]``, which is the
map's top-left 2x2 (3x3 when the crop touches the bottom/right edge)
corner whatever the crop; it then resizes that corner bilinearly to the
input size, clamps to [0, 1], flips with the image and sums every patch
(``patchify_map``). This tool re-implements that path and famt-mm's
(:func:`famt_mm.datasets.transforms.pool_view`: the map's region under the
crop,
area-averaged per output patch), draws the same RandomResizedCrop boxes
(torchvision's ``get_params``, MAE's scale (0.2, 1)) for every map, and
measures per crop:

- contrast: max / min of the per-patch weights the sampler sees;
- overlap: mean Jaccard overlap of the visible sets of two draws at
  r = 0.45, t = 0.40 (:func:`famt_mm.models.utils.mask_stats.visible_overlap`);
- always-visible: patches visible in >= 95% of draws.

``--weights`` takes a weight file of a run (``work_dir/famt_weights/
epoch_E.npy``, (images, h, w)); without it, 64 synthetic object-centred
maps with the range of the authors' attention weights (head-mean minimum
about 0.17, maximum 1) on a 14 x 14 grid. Prints a Markdown table; --out
writes the numbers as JSON.
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import RandomResizedCrop

from famt_mm.datasets.transforms import crop_view, flip_view, pool_view
from famt_mm.models.utils.mask_generator import mask_counts
from famt_mm.models.utils.mask_stats import always_visible, visible_overlap
from famt_mm.utils.contract import FULL_VIEW


def synthetic_maps(count: int, side: int, rng) -> np.ndarray:
    """Object-centred maps in [~0.17, 1]: a Gaussian bump at a random
    place and size over mild noise."""
    yy, xx = np.mgrid[:side, :side] + 0.5
    maps = []
    for _ in range(count):
        cy, cx = rng.uniform(0.2, 0.8, 2) * side
        radius = rng.uniform(0.12, 0.3) * side
        bump = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * radius**2))
        raw = bump + 0.15 * rng.random((side, side))
        raw = (raw - raw.min()) / (raw.max() - raw.min())
        maps.append(0.17 + 0.83 * raw)
    return np.stack(maps).astype(np.float32)


def authors_patch_weights(weight_map, box, flip, size, patch):
    """The released path: corner slice, bilinear resize to the input size,
    clamp, flip, sum per patch. ``box`` = (i, j, h, w) in pixels of an
    image of ``size`` = (H, W)."""
    i, j, h, w = box
    height, width = size
    corner = torch.from_numpy(np.ascontiguousarray(weight_map))[
        i // height:(i + h) // height + 2, j // width:(j + w) // width + 2]
    side = weight_map.shape[0] * patch
    resized = F.interpolate(corner[None, None].float(), size=(side, side),
                            mode='bilinear', align_corners=False)[0, 0]
    resized = resized.clamp(0, 1)
    if flip:
        resized = resized.flip(-1)
    grid = weight_map.shape[0]
    return resized.reshape(grid, patch, grid, patch).sum((1, 3))


def ours_patch_weights(weight_map, box, flip, size):
    i, j, h, w = box
    view = crop_view(FULL_VIEW, (j, i, j + w, i + h), size)
    if flip:
        view = flip_view(view, 'horizontal')
    return torch.from_numpy(pool_view(weight_map, view, weight_map.shape))


def analyse(maps: np.ndarray, image_size, crops: int, seed: int) -> dict:
    """Contrast, overlap and always-visible per method, averaged over
    every (map, crop)."""
    torch.manual_seed(seed)
    width, height = image_size
    dummy = torch.empty(3, height, width)
    grid = maps.shape[1]
    counts = mask_counts(grid * grid, 0.45, 0.40)
    rows = {name: [] for name in ('authors', 'famt-mm')}
    for weight_map in maps:
        for _ in range(crops):
            box = RandomResizedCrop.get_params(dummy, (0.2, 1.0),
                                               (3 / 4, 4 / 3))
            flip = bool(torch.rand(1) < 0.5)
            rows['authors'].append(authors_patch_weights(
                weight_map, box, flip, (height, width), patch=16))
            rows['famt-mm'].append(ours_patch_weights(
                weight_map, box, flip, (height, width)))
    result = dict(maps=len(maps), grid=grid, crops_per_map=crops,
                  image_size=list(image_size), counts=list(counts))
    for name, weights in rows.items():
        w = torch.stack(weights).flatten(1).float()
        result[name] = dict(
            contrast=float((w.amax(1) / w.amin(1).clamp_min(1e-12)).mean()),
            overlap=float(visible_overlap(w, counts).mean()),
            always_visible=float(always_visible(w, counts).float().mean()))
    n_vis = counts[2]
    result['uniform'] = dict(contrast=1.0,
                             overlap=n_vis / (2 * grid * grid - n_vis),
                             always_visible=0.0)
    return result


def markdown(result: dict) -> str:
    lines = ['| crop path | max/min weight | visible-set overlap | '
             'always visible (patches) |', '|---|---|---|---|']
    for name in ('authors', 'famt-mm', 'uniform'):
        r = result[name]
        lines.append(f'| {name} | {r["contrast"]:.2f} | {r["overlap"]:.3f} '
                     f'| {r["always_visible"]:.2f} |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', help='(images, h, w) .npy weight file')
    parser.add_argument('--image-size', type=int, nargs=2,
                        default=(500, 375), metavar=('W', 'H'),
                        help='original image size in pixels')
    parser.add_argument('--crops', type=int, default=64)
    parser.add_argument('--maps', type=int, default=64,
                        help='maps used (the first ones of --weights)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='JSON output')
    args = parser.parse_args(argv)
    if args.crops < 1 or args.maps < 1:
        sys.exit('error: --crops and --maps must be >= 1')
    if args.weights:
        maps = np.load(args.weights, mmap_mode='r')
        if maps.ndim != 3 or maps.shape[1] != maps.shape[2]:
            sys.exit(f'error: {args.weights} must hold square (images, h, '
                     f'w) maps, got shape {maps.shape}')
        maps = np.asarray(maps[:args.maps], dtype=np.float32)
    else:
        maps = synthetic_maps(args.maps, 14, np.random.default_rng(args.seed))
    result = analyse(maps, args.image_size, args.crops, args.seed)
    result['weights'] = args.weights or 'synthetic'
    print(markdown(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
