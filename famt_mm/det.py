"""Detection transfer (MMDet): ViTDet-style plain ViT, simple pyramid, decay.

``custom_imports = dict(imports=['famt_mm.det'])`` in an MMDet config
registers, in MMDet's registries:

- ``WindowViT``: MMPretrain's ``VisionTransformer`` (same parameter names,
  so MAE / SimMIM checkpoints load as they are) with ViTDet's window
  attention in all blocks but ``global_indexes`` and one stride-16 feature
  map as output, without [CLS].
- ``SimpleFPN``: ViTDet's simple feature pyramid (strides 4-32 from the
  single map, plus a max-pooled stride-64 level).
- ``BackboneLayerDecayOptimWrapperConstructor``: layer-wise lr decay with
  depths from the backbone (MMPretrain's constructor asks the whole model).

ViTDet's decomposed relative position bias is not added: it is absent from
MAE checkpoints and ViTDet initialises it to zero. Importing this module
also applies :func:`famt_mm.compat.lvis_numpy2` for LVIS evaluation.
"""
from functools import partial
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.model import BaseModule
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from mmpretrain.models import VisionTransformer

from . import compat
from .models.utils.vit_embed import embed_patches

compat.lvis_numpy2()


def window_partition(x: torch.Tensor, hw, window: int):
    """(B, H*W, C) -> (B * nW, window * window, C), zero-padded to whole
    windows; returns the windows and the padded grid."""
    b, _, c = x.shape
    h, w = hw
    x = x.view(b, h, w, c)
    pad_h, pad_w = (-h) % window, (-w) % window
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window,
                                               c), (hp, wp)


def window_unpartition(windows: torch.Tensor, padded_hw, hw, window: int):
    """Inverse of :func:`window_partition`: back to (B, H*W, C)."""
    hp, wp = padded_hw
    c = windows.shape[-1]
    x = windows.view(-1, hp // window, wp // window, window, window, c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, c)
    return x[:, :hw[0], :hw[1]].reshape(x.shape[0], -1, c)


@MODELS.register_module()
class WindowViT(VisionTransformer):
    """Plain ViT backbone for detection (ViTDet style).

    Args:
        window_size (int): side of the attention windows, in patches.
        global_indexes (Sequence[int]): blocks with global attention
            (ViTDet: the last block of each quarter).
        Other args as :class:`mmpretrain.models.VisionTransformer`
        (``with_cls_token`` defaults to False, ``final_norm`` to False).

    Returns from forward:
        tuple: one (B, C, H / p, W / p) feature map.
    """

    def __init__(self,
                 *args,
                 window_size: int = 14,
                 global_indexes: Sequence[int] = (2, 5, 8, 11),
                 with_cls_token: bool = False,
                 final_norm: bool = False,
                 out_type: str = 'featmap',
                 **kwargs):
        super().__init__(
            *args,
            with_cls_token=with_cls_token,
            final_norm=final_norm,
            out_type=out_type,
            **kwargs)
        self.window_size = window_size
        self.global_indexes = {i % self.num_layers for i in global_indexes}

    def forward(self, x: torch.Tensor):
        """x (B, 3, H, W) -> ((B, C, H / p, W / p), )."""
        batch = x.shape[0]
        x, pos, hw = embed_patches(self, x)
        x = x + pos[:, self.num_extra_tokens:]
        x = self.pre_norm(self.drop_after_pos(x))
        for i, layer in enumerate(self.layers):
            if i in self.global_indexes:
                x = layer(x)
            else:
                windows, padded = window_partition(x, hw, self.window_size)
                x = window_unpartition(
                    layer(windows), padded, hw, self.window_size)
        if self.final_norm:
            x = self.ln1(x)
        return (x.transpose(1, 2).reshape(batch, -1, *hw), )


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W), normalised over C."""
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


# ViTDet's heads normalise with LN2d; MMDet's ViTDet project registers the
# same name, so only add it where nobody has.
if 'LN2d' not in MODELS.module_dict:
    MODELS.register_module('LN2d', module=LayerNorm2d)


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """ViTDet's simple feature pyramid from one stride-16 map.

    Strides 4 and 8 by transposed convolutions, 16 as is, 32 by max
    pooling; each level then 1x1 and 3x3 convolutions with LayerNorm to
    ``out_channels``; ``num_outs=5`` adds a stride-64 level (max pool).

    Args:
        backbone_channel (int): channels of the backbone map (768 for B).
        out_channels (int): channels of every output level.
        num_outs (int): 4 or 5 levels.
    """

    def __init__(self,
                 backbone_channel: int = 768,
                 out_channels: int = 256,
                 num_outs: int = 5,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_outs not in (4, 5):
            raise ValueError(f'num_outs must be 4 or 5, got {num_outs}')
        c = backbone_channel
        self.num_outs = num_outs
        self.scales = nn.ModuleList([
            nn.Sequential(
                nn.ConvTranspose2d(c, c // 2, 2, 2), LayerNorm2d(c // 2),
                nn.GELU(), nn.ConvTranspose2d(c // 2, c // 4, 2, 2)),
            nn.ConvTranspose2d(c, c // 2, 2, 2),
            nn.Identity(),
            nn.MaxPool2d(2, 2),
        ])
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for in_channels in (c // 4, c // 2, c, c):
            self.lateral_convs.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, bias=False),
                    LayerNorm2d(out_channels)))
            self.fpn_convs.append(
                nn.Sequential(
                    nn.Conv2d(
                        out_channels, out_channels, 3, padding=1,
                        bias=False), LayerNorm2d(out_channels)))

    def forward(self, inputs):
        """``(x, )`` with x (B, C, H, W) at stride 16 -> 4 or 5 maps of
        ``out_channels`` at strides 4, 8, 16, 32 (, 64)."""
        x = inputs[0]
        outs = [
            fpn(lateral(scale(x))) for scale, lateral, fpn in zip(
                self.scales, self.lateral_convs, self.fpn_convs)
        ]
        if self.num_outs == 5:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """MMPretrain's layer-wise lr decay for models whose *backbone* has
    ``get_layer_depth`` (detectors): parameters outside the backbone get
    the last depth, i.e. the full learning rate. Same ``paramwise_cfg``
    (``layer_decay_rate``, ``custom_keys``, ...)."""

    def add_params(self, params, module, prefix='', get_layer_depth=None,
                   **kwargs):
        """As MMPretrain's, with depths from ``model.backbone``."""
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            get_layer_depth = partial(
                module.backbone.get_layer_depth, prefix='backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
