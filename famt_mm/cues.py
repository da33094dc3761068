"""Read FAMT's cues out of a backbone: last-layer attention and tokens.

- ViT: any MMPretrain ``VisionTransformer`` (``MAEViT``, ``FAMTSimMIMViT``,
  ...), whatever its depth, width, heads, patch or image size. The [CLS]
  row is recomputed from the last layer's ``qkv`` projection (MMPretrain's
  attention uses fused SDPA and never materialises it): one query row, so
  it costs almost nothing.
- Swin (``SwinTransformer``, ``SimMIMSwinTransformer``): there is no
  [CLS], so the cue is the attention each last-stage token *receives*,
  averaged over the queries of its window. The last stage must be a single
  window (192 px with window 6, 224 px with window 7), so that every token
  competes with every other one, as with [CLS].
"""
import dataclasses
import inspect
from typing import Optional

import torch

from .checks import check_real
from .weights import (FREQUENCY_FILTERS, FREQUENCY_SOURCES, FUSION_MODES,
                      attention_weights, feature_frequency_weights,
                      fuse_weights, image_frequency_weights,
                      raster_frequency_weights)

# Each filter's sigma: cycles per patch (lowpass), per token (the notch).
DEFAULT_CUTOFF = {'lowpass': 0.25, 'nyquist_notch': 0.075}


@dataclasses.dataclass(frozen=True)
class CueSettings:
    """How a weight map is made from the cues: everything it depends on
    besides the data and the model. One object, from ``FAMTHook`` to the
    refresh, the cues, the panels and the tools; weight files record it.

    Args:
        fusion (str): one of :data:`famt_mm.weights.FUSION_MODES`.
        frequency_source (str): 'feature' (last-layer patch tokens) or
            'image' (grey image).
        frequency_filter (str): 'lowpass' (ours: 2-D Gaussian low-pass at
            DC) or 'nyquist_notch' (the public FAMT-labelled code's: 1-D
            raster order, 1 - Gaussian at Nyquist; feature source only).
        cutoff (float, optional): the filter's Gaussian sigma, cycles per
            patch (lowpass, default 0.25) or per token (nyquist_notch,
            default 0.075).
    """
    fusion: str = 'famt'
    frequency_source: str = 'feature'
    frequency_filter: str = 'lowpass'
    cutoff: Optional[float] = None

    def __post_init__(self):
        for name, allowed in (('fusion', FUSION_MODES),
                              ('frequency_source', FREQUENCY_SOURCES),
                              ('frequency_filter', FREQUENCY_FILTERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f'{name} {getattr(self, name)!r} is not '
                                 f'one of {allowed}')
        if (self.frequency_filter == 'nyquist_notch'
                and self.frequency_source != 'feature'):
            raise ValueError(
                "frequency_filter='nyquist_notch' filters the token order, "
                "so it needs frequency_source='feature', got "
                f'{self.frequency_source!r}')
        if self.cutoff is None:
            object.__setattr__(self, 'cutoff',
                               DEFAULT_CUTOFF[self.frequency_filter])
        check_real('cutoff', self.cutoff, 0, low_open=True)

    def record(self) -> dict:
        """The settings as a plain dict (weight-file records, logs)."""
        return dataclasses.asdict(self)


def run_capturing(backbone, images, inputs=None, outputs=None) -> dict:
    """Run the backbone on whole images (no masking) and keep what some of
    its modules receive or return.

    Args:
        inputs (dict): name -> module whose positional inputs (the tuple)
            to keep.
        outputs (dict): name -> module whose output to keep.

    Returns:
        dict: name -> captured value.
    """
    captured = {}
    handles = [
        module.register_forward_pre_hook(
            lambda m, args, key=key: captured.__setitem__(key, args))
        for key, module in (inputs or {}).items()
    ] + [
        module.register_forward_hook(
            lambda m, args, out, key=key: captured.__setitem__(key, out))
        for key, module in (outputs or {}).items()
    ]
    try:
        if 'mask' in inspect.signature(backbone.forward).parameters:
            backbone(images, mask=None)
        else:
            backbone(images)
    finally:
        for h in handles:
            h.remove()
    return captured


@torch.no_grad()
def vit_cues(backbone, images: torch.Tensor):
    """Last-layer [CLS]->patch attention and patch tokens of a ViT.

    Args:
        backbone: an MMPretrain VisionTransformer with a [CLS] token.
        images (Tensor): (B, 3, H, W) normalised images.

    Returns:
        tuple: ``cls_attn`` (B, heads, N), ``patch_tokens`` (B, N, C), the
        last layer's output (before the final norm), and the grid (h, w).
    """
    if getattr(backbone, 'cls_token', None) is None:
        raise ValueError(f'{type(backbone).__name__} has no [CLS] token; '
                         'FAMT attention weights need one')
    last = backbone.layers[-1]
    attn = last.attn
    if not all(hasattr(attn, a) for a in ('qkv', 'num_heads', 'head_dims')):
        raise ValueError(
            f'cannot read the attention of {type(attn).__name__}: FAMT needs '
            "MMPretrain's MultiheadAttention (qkv, num_heads, head_dims)")
    captured = run_capturing(
        backbone, images, inputs=dict(attn_args=attn),
        outputs=dict(tokens=last, embed=backbone.patch_embed))
    x = captured['attn_args'][0]
    batch, length, _ = x.shape
    qkv = attn.qkv(x).reshape(batch, length, 3, attn.num_heads,
                              attn.head_dims)
    q_cls = qkv[:, :1, 0].transpose(1, 2).float()  # (B, H, 1, d)
    k = qkv[:, :, 1].transpose(1, 2).float()  # (B, H, L, d)
    logits = (q_cls @ k.transpose(-2, -1))[:, :, 0] * attn.head_dims**-0.5
    extra = backbone.num_extra_tokens
    cls_attn = logits.softmax(dim=-1)[:, :, extra:]
    hw = tuple(captured['embed'][1])
    return cls_attn, captured['tokens'][:, extra:], hw


@torch.no_grad()
def swin_cues(backbone, images: torch.Tensor):
    """Last-stage received attention and tokens of a Swin Transformer.

    Returns:
        tuple: ``received_attn`` (B, heads, N), the mean over queries of
        each head's attention to every token, ``tokens`` (B, N, C), the last
        block's output, and the last stage's grid (h, w).
    """
    block = backbone.stages[-1].blocks[-1]
    captured = run_capturing(
        backbone, images, inputs=dict(attn_args=block.attn),
        outputs=dict(attn=block.attn.w_msa.softmax, tokens=block))
    attn, hw = captured['attn'], tuple(captured['attn_args'][1])
    if attn.shape[0] != images.shape[0]:
        raise ValueError(
            f'the last Swin stage ({hw} tokens) spans '
            f'{attn.shape[0] // images.shape[0]} windows; FAMT weights need '
            'it to be one window (e.g. 192 px with window 6, 224 px with '
            'window 7)')
    return attn.float().mean(dim=2), captured['tokens'], hw


def backbone_cues(backbone, images: torch.Tensor):
    """Dispatch to :func:`vit_cues` or :func:`swin_cues`."""
    if hasattr(backbone, 'layers') and hasattr(backbone, 'cls_token'):
        return vit_cues(backbone, images)
    if hasattr(backbone, 'stages'):
        return swin_cues(backbone, images)
    raise ValueError(f'FAMT cannot read attention from '
                     f'{type(backbone).__name__}: it supports MMPretrain '
                     'VisionTransformer and SwinTransformer backbones')


@torch.no_grad()
def famt_weights(backbone,
                 images: torch.Tensor,
                 cues: CueSettings = CueSettings()) -> dict:
    """Attention, frequency and fused per-patch weights for a batch.

    Args:
        backbone: see :func:`backbone_cues`.
        images (Tensor): (B, 3, H, W) normalised, un-augmented images.
        cues (CueSettings): fusion, frequency source, filter and cutoff.

    Returns:
        dict: ``attention`` (in [0, 1]), ``frequency`` (ratio to the
        image mean), ``fused`` (in [WEIGHT_FLOOR, 1], the sampling
        weights), each (B, h, w).
    """
    attn, tokens, hw = backbone_cues(backbone, images)
    attn_w = attention_weights(attn)
    if cues.frequency_filter == 'nyquist_notch':
        freq_w = raster_frequency_weights(tokens, cues.cutoff)
    elif cues.frequency_source == 'feature':
        freq_w = feature_frequency_weights(tokens, hw, cues.cutoff)
    else:
        patch = images.shape[-1] // hw[1]
        freq_w = image_frequency_weights(images, patch, cues.cutoff)
    fused = fuse_weights(attn_w, freq_w, cues.fusion)
    return {
        name: w.reshape(-1, *hw)
        for name, w in (('attention', attn_w), ('frequency', freq_w),
                        ('fused', fused))
    }
