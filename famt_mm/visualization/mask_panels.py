"""The paper's figure: image, attention, frequency, fused weights, mask."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmengine.dataset import default_collate
from mmengine.runner.amp import autocast

from ..models.utils.cues import (CueSettings, batch_concentration,
                                 batch_weights, eval_mode, on_patch_grid)
from ..models.utils.mask_stats import concentration_label
from ..utils.contract import MASKED, THROWN

PANELS = ('image', 'attention', 'frequency', 'fused', 'masked / thrown')
# Overlay colours (RGB): masked patches red, thrown ones dark grey.
_MASKED_RGB = np.array([220, 40, 40], dtype=np.float32)
_THROWN_RGB = np.array([40, 40, 40], dtype=np.float32)


def mask_overlay(image: np.ndarray, mask: np.ndarray, grid) -> np.ndarray:
    """Paint masked patches red and thrown ones grey over an RGB image.

    Args:
        image (ndarray): (H, W, 3) uint8 RGB.
        mask (ndarray): (h * w,) mask code (1 masked, -1 thrown, 0 visible).
        grid (tuple): patch grid (h, w); H and W are multiples of it.
    """
    h, w = grid
    ph, pw = image.shape[0] // h, image.shape[1] // w
    codes = np.kron(mask.reshape(h, w), np.ones((ph, pw), dtype=mask.dtype))
    out = image.astype(np.float32)
    for code, rgb, alpha in ((MASKED, _MASKED_RGB, 0.6),
                             (THROWN, _THROWN_RGB, 0.85)):
        sel = codes == code
        out[sel] = (1 - alpha) * out[sel] + alpha * rgb
    return out.astype(np.uint8)


def render_panels(images: Sequence[np.ndarray],
                  weights: Dict[str, torch.Tensor],
                  masks: torch.Tensor,
                  titles: Sequence[str] = None,
                  mask_grid=None,
                  mask_labels: Sequence[str] = None) -> np.ndarray:
    """One row per image: the image, its attention and fused weights
    (patch grids on a [0, 1] scale), its frequency ratio (on its own range,
    written under it) and its sampled mask.

    Args:
        images: B RGB uint8 arrays (H, W, 3) at the model input size.
        weights (dict): ``attention``, ``frequency``, ``fused``, each
            (B, h, w).
        masks (Tensor): (B, h' * w') mask codes.
        titles: optional B row labels.
        mask_grid (tuple): the masks' patch grid (h', w'); defaults to the
            weights' grid (h, w) (they differ for Swin).
        mask_labels: optional B labels under the masks (e.g. the
            concentration statistics).

    Returns:
        ndarray: the figure as an (H', W', 3) uint8 RGB array.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt

    rows = len(images)
    fig, axes = plt.subplots(
        rows, len(PANELS), figsize=(2.2 * len(PANELS), 2.3 * rows),
        squeeze=False)
    grid = tuple(mask_grid or weights['fused'].shape[1:])
    for i, image in enumerate(images):
        mask = masks[i].cpu().numpy()
        cells = [image] + [weights[k][i].float().cpu().numpy()
                           for k in ('attention', 'frequency', 'fused')]
        cells.append(mask_overlay(image, mask, grid))
        for j, (ax, cell) in enumerate(zip(axes[i], cells)):
            if cell.ndim == 2 and PANELS[j] == 'frequency':
                # A ratio to the image mean (about 1 +- 0.1): its own range.
                ax.imshow(cell, cmap='inferno', interpolation='nearest')
                ax.set_xlabel(f'{cell.min():.2f} - {cell.max():.2f}',
                              fontsize=7)
            elif cell.ndim == 2:
                ax.imshow(cell, cmap='inferno', vmin=0, vmax=1,
                          interpolation='nearest')
            else:
                ax.imshow(cell)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(PANELS[j], fontsize=9)
        if titles is not None:
            axes[i][0].set_ylabel(titles[i], fontsize=8)
        if mask_labels is not None:
            axes[i][-1].set_xlabel(mask_labels[i], fontsize=7)
    counts = [int((masks[0] == c).sum()) for c in (MASKED, THROWN, 0)]
    fig.suptitle(f'masked (red) {counts[0]}, thrown (grey) {counts[1]}, '
                 f'visible {counts[2]} of {masks.shape[1]} patches',
                 fontsize=9)
    fig.tight_layout()
    fig.canvas.draw()
    array = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return array


@torch.no_grad()
def render_batch(model,
                 batch: dict,
                 cues: CueSettings = CueSettings(),
                 generator: torch.Generator = None,
                 titles: Sequence[str] = None) -> np.ndarray:
    """Panels for a collated, un-augmented batch (the refresh pipeline's
    output), with the mask the model's ``mask_generator`` draws from the
    fused weights.

    Args:
        model: a FAMT algorithm (``backbone``, ``data_preprocessor``,
            ``mask_generator``).
        batch (dict): ``inputs`` (B, 3, H, W) uint8 as loaded.
        cues (CueSettings): how the weights are made.
    """
    with eval_mode(model):
        out = batch_weights(model, batch, cues)
        fused = on_patch_grid(model, out['fused'])
        grid = model.patch_grid
        masks = model.mask_generator(fused, generator)
        labels = [
            concentration_label(batch_concentration(model, w[None]))
            for w in fused
        ]
    images = [img.permute(1, 2, 0).cpu().numpy() for img in batch['inputs']]
    if getattr(model.data_preprocessor, '_channel_conversion', False):
        images = [img[..., ::-1] for img in images]  # loaded BGR -> RGB
    return render_panels(images, out, masks, titles, mask_grid=grid,
                         mask_labels=labels)


def render_first(model, dataset, count: int,
                 cues: CueSettings = CueSettings()) -> np.ndarray:
    """:func:`render_batch` of the first ``count`` images of a refresh
    dataset, in fp32 (also inside a training run's autocast)."""
    batch = default_collate([dataset[i] for i in range(min(count,
                                                           len(dataset)))])
    with autocast(enabled=False):
        return render_batch(model, batch, cues)
