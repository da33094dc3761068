"""MIM pretraining checkpoint -> downstream backbone checkpoint.

Targets (the layout each downstream backbone reads):

- ``mmdet``: ``famt_mm.det.WindowViT`` (MMPretrain ViT names, no [CLS]):
  ``{'state_dict': ...}`` without the ``backbone.`` prefix, the [CLS]
  token and its position dropped, position embeddings resized to the
  detector's input grid.
- ``mmseg``: MMSeg's ``MAE`` backbone. It ignores ``prefix`` and loads the
  whole file non-strictly, so an MMPretrain checkpoint silently loads
  nothing: keys lose ``backbone.``; [CLS] is kept; positions resized.
- ``vitdet``: MMDet's ``projects/ViTDet`` ``ViT`` (from a source checkout):
  it ignores ``prefix`` and reads ``ckpt['model']`` in the official MAE
  (timm) names; positions are left at the pretraining size (ViTDet resizes
  them itself).

The MAE decoder / SimMIM head, ``mask_token`` and the final norm (ViTDet
and MMSeg's UperNet use their own) are left out.
"""
import math
import re
from typing import Dict, Optional, Tuple

import torch
from mmpretrain.models.utils import resize_pos_embed

TARGETS = ('mmdet', 'mmseg', 'vitdet')
# MMPretrain ViT name -> official MAE / timm name
_OFFICIAL = [
    (r'^patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^layers\.(\d+)\.attn\.', r'blocks.\1.attn.'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
]


class CheckpointError(ValueError):
    """The file is not a checkpoint this tool can convert."""


def vit_mim_state(checkpoint: dict, source: str = 'checkpoint') -> dict:
    """The backbone tensors of an MMPretrain MAE / SimMIM ViT checkpoint,
    without the ``backbone.`` prefix; refuses anything else."""
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        found = list(checkpoint)[:5] if isinstance(checkpoint, dict) else \
            type(checkpoint).__name__
        hint = (' It looks like an official MAE / timm checkpoint (key '
                "'model'): it is already in the vitdet layout."
                if isinstance(checkpoint, dict) and 'model' in checkpoint
                else '')
        raise CheckpointError(
            f'{source} is not an MMPretrain checkpoint (no "state_dict"; '
            f'found {found}).{hint}')
    state = checkpoint['state_dict']
    keys = list(state)
    for kind, heads in (('detector', ('rpn_head.', 'roi_head.', 'bbox_head.',
                                      'mask_head.')),
                        ('segmentor', ('decode_head.', 'auxiliary_head.'))):
        found = sorted({k.split('.')[0] for k in keys if k.startswith(heads)})
        if found:
            raise CheckpointError(
                f'{source} is a {kind} checkpoint (it has {found}), not a '
                'masked-image-modeling pretraining checkpoint; convert the '
                'MAE / SimMIM checkpoint it was initialised from')
    if any(k.startswith('backbone.stages.') for k in keys):
        raise CheckpointError(
            f'{source} has a Swin backbone; the downstream backbones here '
            '(WindowViT, MMSeg MAE, ViTDet) are plain ViTs')
    if 'backbone.patch_embed.projection.weight' not in state or not any(
            k.startswith('backbone.layers.') for k in keys):
        raise CheckpointError(
            f'{source} has no MMPretrain ViT backbone '
            '(backbone.patch_embed.projection.weight, backbone.layers.*)')
    mae = 'neck.mask_token' in state and 'neck.decoder_embed.weight' in state
    simmim = 'backbone.mask_token' in state
    if not (mae or simmim):
        heads = sorted({k.split('.')[0] for k in keys} - {'backbone'})
        raise CheckpointError(
            f'{source} is not a masked-image-modeling pretraining checkpoint '
            f'(no MAE decoder, SimMIM decoder or mask token; top-level '
            f'modules: {heads}); a fine-tuned classifier is not a MIM '
            'checkpoint')
    return {k[len('backbone.'):]: v for k, v in state.items()
            if k.startswith('backbone.')}


def resize_positions(pos_embed: torch.Tensor, grid: Tuple[int, int],
                     extra: int) -> torch.Tensor:
    """Bicubic resize of (1, extra + h*w, C) position embeddings to
    ``grid`` (MMPretrain's ``resize_pos_embed``); the ``extra`` leading
    ([CLS]) entries are kept as they are."""
    tokens = pos_embed.shape[1] - extra
    side = int(math.isqrt(tokens))
    if side * side != tokens:
        raise CheckpointError(f'position embeddings of {tokens} patches '
                              'are not a square grid')
    return resize_pos_embed(pos_embed, (side, side), tuple(grid), 'bicubic',
                            extra).to(pos_embed.dtype)


def convert(checkpoint: dict,
            target: str,
            img_size: Optional[Tuple[int, int]] = None,
            source: str = 'checkpoint') -> Tuple[dict, Dict[str, list]]:
    """Convert an MMPretrain ViT MIM checkpoint for ``target``.

    Args:
        checkpoint (dict): the loaded MMPretrain checkpoint.
        target (str): 'mmdet', 'mmseg' or 'vitdet'.
        img_size (tuple, optional): downstream input (H, W) for 'mmdet' and
            'mmseg'; the position embeddings are resized to its patch grid.

    Returns:
        tuple: the checkpoint to save, and a report: ``mapped`` (names
        written), ``dropped`` (backbone names left out), ``pos_embed``
        (old and new shape).
    """
    if target not in TARGETS:
        raise ValueError(f'target {target!r} is not one of {TARGETS}')
    state = vit_mim_state(checkpoint, source)
    missing = [k for k in ('pos_embed', 'patch_embed.projection.weight')
               if k not in state]
    if missing:
        raise CheckpointError(
            f'{source} has no backbone.{missing[0]} (its backbone tensors '
            f'begin {sorted(state)[:3]}): convert a ViT pretrained with MAE '
            'or SimMIM (FAMT or not)')
    dropped = [k for k in state if k == 'mask_token' or k.startswith('ln1.')]
    out = {k: v for k, v in state.items() if k not in dropped}
    report = dict(pos_embed=[tuple(out['pos_embed'].shape)])
    if target == 'mmdet':
        dropped.append('cls_token')
        out.pop('cls_token', None)
    # the checkpoint's [CLS] position (if it has a [CLS]) precedes the grid
    extra = int('cls_token' in state)
    if target in ('mmdet', 'mmseg') and img_size is not None:
        if min(img_size) < 1:
            raise ValueError(f'img_size {tuple(img_size)} must be positive')
        patch = out['patch_embed.projection.weight'].shape[-1]
        if img_size[0] % patch or img_size[1] % patch:
            raise ValueError(f'img_size {tuple(img_size)} is not divisible '
                             f'by the patch size {patch}')
        grid = (img_size[0] // patch, img_size[1] // patch)
        out['pos_embed'] = resize_positions(out['pos_embed'], grid, extra)
    if target == 'mmdet':
        out['pos_embed'] = out['pos_embed'][:, extra:]
    report['pos_embed'].append(tuple(out['pos_embed'].shape))
    meta = dict(famt_mm_convert=dict(target=target, source=source))
    if target == 'vitdet':
        out['norm.weight'] = state['ln1.weight']
        out['norm.bias'] = state['ln1.bias']
        dropped = [k for k in dropped if not k.startswith('ln1.')]
        renamed = {}
        for key, value in out.items():
            for pattern, repl in _OFFICIAL:
                key = re.sub(pattern, repl, key)
            renamed[key] = value
        report.update(mapped=sorted(renamed), dropped=dropped)
        return dict(model=renamed, meta=meta), report
    report.update(mapped=sorted(out), dropped=dropped)
    return dict(state_dict=out, meta=meta), report
