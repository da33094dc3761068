"""FAMT for SimMIM: mask tokens inside the encoder, thrown tokens out.

MMPretrain ships SimMIM for Swin only; the paper's SimMIM results are with
ViT-B/16, so this adds a ViT backbone with a mask token. Masked patches
become the mask token, thrown patches leave the sequence (with their
position embeddings), visible patches pass unchanged. SimMIM's linear
decoder and L1 loss on masked pixels are reused as they are.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models import SimMIM, SimMIMSwinTransformer, VisionTransformer
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...utils.contract import MASKED
from ..utils.mask_generator import split_ids
from ..utils.vit_embed import embed_patches
from .famt_base import FAMTMaskingMixin
from .mae import gather_tokens


@MODELS.register_module()
class FAMTSimMIMViT(VisionTransformer):
    """ViT for SimMIM with FAMT masking and throwing.

    ``forward(x, mask, counts)`` with ``mask`` a (B, N) int8 code and
    ``counts`` its ``(n_mask, n_throw, n_visible)``: the encoder runs
    on ``[CLS] + N - n_throw`` tokens (masked ones replaced by
    ``mask_token``) and returns ``(featmap, )``, (B, C, h, w), with zeros
    at thrown positions. ``mask=None`` is the plain ViT forward. Same args
    as :class:`mmpretrain.models.VisionTransformer`; ``out_type`` defaults
    to ``'featmap'``, the layout SimMIM's decoder reads.
    """
    supports_throwing = True

    def __init__(self, *args, out_type: str = 'featmap', **kwargs):
        super().__init__(*args, out_type=out_type, **kwargs)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))

    def init_weights(self) -> None:
        """ViT init, and the mask token ~ N(0, 0.02) unless pretrained."""
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg['type'] == 'Pretrained'):
            trunc_normal_(self.mask_token, std=.02)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                counts: Optional[Tuple[int, int, int]] = None):
        """x (B, 3, H, W); mask (B, N) int8 or None; counts ->
        ((B, C, h, w), )."""
        if mask is None:
            return super().forward(x)
        if counts is None:
            raise ValueError('FAMTSimMIMViT needs the mask code\'s counts '
                             '(FAMTMaskGenerator.patch_counts)')
        x, pos, hw = embed_patches(self, x)
        batch, _, channels = x.shape
        extra = self.num_extra_tokens
        x = torch.where((mask == MASKED)[..., None],
                        self.mask_token.to(x.dtype), x) + pos[:, extra:]
        ids_visible, ids_masked, _ = split_ids(mask, counts)
        ids_kept = torch.cat((ids_visible, ids_masked), dim=1)
        x = gather_tokens(x, ids_kept)
        if self.cls_token is not None:
            cls_token = self.cls_token + pos[:, :extra]
            x = torch.cat((cls_token.expand(batch, -1, -1), x), dim=1)
        x = self.pre_norm(self.drop_after_pos(x))
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        tokens = x[:, extra:]
        grid = tokens.new_zeros(batch, mask.shape[1], channels)
        grid.scatter_(1, ids_kept[..., None].expand_as(tokens), tokens)
        return (grid.transpose(1, 2).reshape(batch, channels, *hw), )


@MODELS.register_module()
class FAMTSimMIMSwinTransformer(SimMIMSwinTransformer):
    """MMPretrain's SimMIM Swin taking FAMT's mask code, as
    :class:`FAMTSimMIMViT`: ``forward(x, mask, counts)``. Masked patches
    become its mask token; it cannot throw (its shifted windows need the
    full patch grid), so every code is masked or visible. Same args as
    :class:`mmpretrain.models.SimMIMSwinTransformer`.
    """
    supports_throwing = False

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                counts: Optional[Tuple[int, int, int]] = None):
        """x (B, 3, H, W); mask (B, N) int8 or None -> multi-stage
        features (as SimMIMSwinTransformer)."""
        if mask is None:
            return super().forward(x, None)
        grid = self.patch_embed.init_out_size
        return super().forward(
            x, (mask == MASKED).reshape(-1, *grid).to(x.dtype))


@MODELS.register_module()
class FAMTSimMIM(FAMTMaskingMixin, SimMIM):
    """SimMIM with FAMT / AMT masking and throwing.

    The backbone takes the mask code and its counts: with
    :class:`FAMTSimMIMViT` masked patches become mask tokens and thrown
    patches leave the encoder; with :class:`FAMTSimMIMSwinTransformer`
    (whose windows need the full grid) only masking is possible:
    ``throw_ratio`` must be 0.

    Args:
        mask_generator (dict): default r=0.44, t=0.26 in 2x2-patch units
            (32x32 pixels with 16-px patches, SimMIM's granularity).
        warmup_mask_generator (dict): default SimMIM's random masking,
            r=0.6, nothing thrown, same units.
        Other args as :class:`mmpretrain.models.SimMIM`.
    """

    def __init__(self,
                 *args,
                 mask_generator: dict = dict(
                     type='FAMTMaskGenerator',
                     mask_ratio=0.44,
                     throw_ratio=0.26,
                     mask_unit=2),
                 warmup_mask_generator: dict = dict(
                     type='FAMTMaskGenerator',
                     mask_ratio=0.6,
                     throw_ratio=0.0,
                     mask_unit=2),
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.init_masking(mask_generator, warmup_mask_generator)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """L1 reconstruction loss on masked pixels.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            data_samples (list[DataSample]): with ``famt_weights`` (h, w).
        """
        mask, counts = self.sample_mask(inputs, data_samples)
        masked = (mask == MASKED).reshape(-1, *self.patch_grid).float()
        latent = self.backbone(inputs, mask, counts)
        img_rec = self.neck(latent[0])
        return dict(loss=self.head.loss(img_rec, inputs, masked))
