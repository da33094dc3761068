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

Each backbone family is one registered reader (:data:`BACKBONE_ADAPTERS`),
each frequency cue one registered function (:data:`FREQUENCY_CUES`); the
fusions are registered in :data:`.patch_weights.FUSIONS`.
"""
import dataclasses
import inspect
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.runner.amp import autocast

from ...datasets.transforms import pool_to_grid
from ...utils.checks import check_real
from .patch_weights import (FUSIONS, attention_weights,
                            feature_frequency_weights, fuse_weights,
                            image_frequency_weights, raster_frequency_weights)

# (frequency_source, frequency_filter) -> (cue(images, tokens, hw, cutoff)
# -> (B, N) ratios to the image mean, default cutoff). A new frequency cue
# is one @register_frequency_cue(source, filter, default_cutoff) function.
FREQUENCY_CUES = {}
# name -> (attributes the backbone must have, not None; reader(backbone,
# images) -> (attention (B, heads, N), tokens (B, N, C), grid (h, w))).
# A new backbone is one @register_backbone_adapter(name, needs) reader.
BACKBONE_ADAPTERS = {}


def register_frequency_cue(source: str, filter: str, default_cutoff: float):
    """Decorator: add a frequency cue for (``source``, ``filter``)."""
    def add(cue):
        FREQUENCY_CUES[(source, filter)] = (cue, default_cutoff)
        return cue
    return add


def register_backbone_adapter(name: str, needs: tuple):
    """Decorator: add a cue reader for backbones that have every
    attribute in ``needs`` (not None). Later registrations are tried first,
    so an adapter for a subclass can take over from a general one."""
    def add(reader):
        BACKBONE_ADAPTERS[name] = (tuple(needs), reader)
        return reader
    return add


@register_frequency_cue('feature', 'lowpass', 0.25)
def feature_lowpass(images, tokens, hw, cutoff):
    """Ours: 2-D Gaussian low-pass at DC of the last-layer tokens (sigma in
    cycles per patch)."""
    return feature_frequency_weights(tokens, hw, cutoff)


@register_frequency_cue('image', 'lowpass', 0.25)
def image_lowpass(images, tokens, hw, cutoff):
    """The same low-pass on the grey image, pooled per patch."""
    return image_frequency_weights(images, images.shape[-1] // hw[1], cutoff)


@register_frequency_cue('feature', 'nyquist_notch', 0.075)
def feature_nyquist_notch(images, tokens, hw, cutoff):
    """The public FAMT-labelled code's: 1-D raster order, 1 - Gaussian at
    Nyquist (sigma per token)."""
    return raster_frequency_weights(tokens, cutoff)


@dataclasses.dataclass(frozen=True)
class CueSettings:
    """How a weight map is made from the cues: everything it depends on
    besides the data and the model. One object, from ``FAMTHook`` to the
    refresh, the cues, the panels and the tools; weight files record it.

    Args:
        fusion (str): one of
            :data:`famt_mm.models.utils.patch_weights.FUSION_MODES`.
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
        if self.fusion not in FUSIONS:
            raise ValueError(f'fusion {self.fusion!r} is not one of '
                             f'{tuple(FUSIONS)}')
        sources = sorted({s for s, _ in FREQUENCY_CUES})
        filters = sorted({f for _, f in FREQUENCY_CUES})
        for name, allowed in (('frequency_source', sources),
                              ('frequency_filter', filters)):
            if getattr(self, name) not in allowed:
                raise ValueError(f'{name} {getattr(self, name)!r} is not '
                                 f'one of {tuple(allowed)}')
        key = (self.frequency_source, self.frequency_filter)
        if key not in FREQUENCY_CUES:
            raise ValueError(
                f'no frequency cue for frequency_source={key[0]!r} with '
                f'frequency_filter={key[1]!r}; registered (source, filter) '
                f'pairs: {sorted(FREQUENCY_CUES)}')
        if self.cutoff is None:
            object.__setattr__(self, 'cutoff', FREQUENCY_CUES[key][1])
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


@register_backbone_adapter('vit', needs=('layers', 'cls_token', 'patch_embed'))
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


@register_backbone_adapter('swin', needs=('stages', ))
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
    """Read the cues with the newest registered adapter whose ``needs``
    the backbone has (:data:`BACKBONE_ADAPTERS`)."""
    missing = {}
    for name, (needs, reader) in reversed(BACKBONE_ADAPTERS.items()):
        lacks = [a for a in needs if getattr(backbone, a, None) is None]
        if not lacks:
            return reader(backbone, images)
        missing[name] = lacks
    raise ValueError(
        f'FAMT cannot read attention from {type(backbone).__name__}: no cue '
        'adapter fits it (' + '; '.join(f'{n} needs {lacks}'
                                        for n, lacks in missing.items())
        + '); register one with famt_mm.models.utils.cues.'
        'register_backbone_adapter')


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
    frequency_cue = FREQUENCY_CUES[(cues.frequency_source,
                                    cues.frequency_filter)][0]
    freq_w = frequency_cue(images, tokens, hw, cues.cutoff)
    fused = fuse_weights(attn_w, freq_w, cues.fusion)
    return {
        name: w.reshape(-1, *hw)
        for name, w in (('attention', attn_w), ('frequency', freq_w),
                        ('fused', fused))
    }


@contextmanager
def eval_mode(model):
    """Put ``model`` in eval mode for the block, then restore its mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def batch_weights(model, batch: dict, cues: CueSettings = CueSettings(),
                  amp=False) -> dict:
    """A collated batch -> ``attention``, ``frequency``, ``fused`` maps
    (:func:`famt_weights`). Call it under :func:`eval_mode`."""
    inputs = model.data_preprocessor(batch, False)['inputs']
    with autocast(enabled=amp):
        return famt_weights(model.backbone, inputs, cues)


def on_patch_grid(model, maps: torch.Tensor) -> torch.Tensor:
    """Fused maps (B, h0, w0) -> (B, *model.patch_grid) float. Swin's maps
    are its last stage's; training pools them to the patch grid
    (LoadFAMTWeights), and so does everything that draws masks from them."""
    maps = maps.float()
    if tuple(maps.shape[1:]) != tuple(model.patch_grid):
        maps = pool_to_grid(maps, model.patch_grid)
    return maps


def batch_concentration(model, fused: torch.Tensor) -> dict:
    """The concentration of the masks the model's ``mask_generator`` draws
    from fused maps (B, h0, w0)."""
    return model.mask_generator.concentration(on_patch_grid(model, fused))
