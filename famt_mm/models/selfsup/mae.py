"""FAMT for MAE: masked, thrown and visible patches.

The encoder sees visible patches only; the decoder sees those plus a mask
token for every masked slot; thrown slots appear nowhere. The loss is
MAE's (optionally norm-pix) MSE on the masked patches.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.models import MAE, MAEPretrainDecoder, MAEViT
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...utils.contract import MASKED
from ..utils.mask_generator import split_ids
from .famt_base import FAMTMaskingMixin


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``x[b, ids[b]]`` for (B, L, C) tokens and (B, K) indices."""
    return torch.gather(x, 1, ids[..., None].expand(-1, -1, x.shape[-1]))


@MODELS.register_module()
class FAMTMAEViT(MAEViT):
    """MAE ViT encoder that keeps only the visible patches of a FAMT mask.

    ``forward(x, mask, counts)`` with ``mask`` a (B, N) int8 code from
    :class:`FAMTMaskGenerator` and ``counts`` its ``(n_mask, n_throw,
    n_visible)`` (:meth:`FAMTMaskGenerator.patch_counts`) returns
    ``(latent, mask, ids_kept)``: ``latent`` (B, 1 + n_vis, C) with [CLS]
    first; ``ids_kept`` (B, n_vis + n_mask), the patch indices of the
    visible then the masked slots, which is the decoder's token order.
    ``mask=None`` returns the plain ViT features (as MAEViT).
    """
    supports_throwing = True

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                counts: Optional[Tuple[int, int, int]] = None):
        """x (B, 3, H, W); mask (B, N) int8 or None; counts. See the class
        doc."""
        if mask is None or mask is False:
            return super().forward(x, mask=None)
        if mask is True or counts is None:
            raise ValueError('FAMTMAEViT needs a (B, N) mask code from '
                             'FAMTMaskGenerator and its counts')
        ids_visible, ids_masked, _ = split_ids(mask, counts)
        x = self.patch_embed(x)[0] + self.pos_embed[:, 1:, :]
        x = gather_tokens(x, ids_visible)
        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        x = torch.cat((cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        for layer in self.layers:
            x = layer(x)
        x = self.norm1(x)
        return x, mask, torch.cat((ids_visible, ids_masked), dim=1)


@MODELS.register_module()
class FAMTMAEPretrainDecoder(MAEPretrainDecoder):
    """MAE decoder over the kept slots only: visible latents plus one mask
    token per masked slot, each with its slot's position embedding.

    ``forward(x, ids_kept)``: ``x`` (B, 1 + n_vis, C) encoder output,
    ``ids_kept`` (B, n_vis + n_mask). Returns (B, n_vis + n_mask, P)
    predictions in ``ids_kept`` order.
    """

    def forward(self, x: torch.Tensor, ids_kept: torch.Tensor):
        """x (B, 1 + n_vis, C), ids_kept (B, n_vis + n_mask) ->
        (B, n_vis + n_mask, p * p * 3)."""
        x = self.decoder_embed(x)
        batch, n_masked = x.shape[0], ids_kept.shape[1] - (x.shape[1] - 1)
        x = torch.cat((x, self.mask_token.expand(batch, n_masked, -1)), dim=1)
        pos = self.decoder_pos_embed.expand(batch, -1, -1)
        x = x + torch.cat((pos[:, :1], gather_tokens(pos[:, 1:], ids_kept)),
                          dim=1)
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_pred(self.decoder_norm(x))
        return x[:, 1:, :]


@MODELS.register_module()
class FAMTMAE(FAMTMaskingMixin, MAE):
    """MAE with FAMT / AMT masking and throwing.

    Each training step draws the mask from the batch's ``famt_weights``
    (added by ``LoadFAMTWeights``) with ``mask_generator``, or, during the
    warm-up, plain random masking with ``warmup_mask_generator``. The
    ``FAMTHook`` switches between the two.

    Args:
        mask_generator (dict): FAMT generator config; default r=0.45,
            t=0.40 (15% visible).
        warmup_mask_generator (dict): generator for the warm-up; default
            MAE's random masking, r=0.75, nothing thrown.
        Other args as :class:`mmpretrain.models.MAE`.
    """

    def __init__(self,
                 *args,
                 mask_generator: dict = dict(
                     type='FAMTMaskGenerator',
                     mask_ratio=0.45,
                     throw_ratio=0.40),
                 warmup_mask_generator: dict = dict(
                     type='FAMTMaskGenerator',
                     mask_ratio=0.75,
                     throw_ratio=0.0),
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.init_masking(mask_generator, warmup_mask_generator)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Reconstruction loss on masked patches.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            data_samples (list[DataSample]): with ``famt_weights`` (h, w).
        """
        mask, counts = self.sample_mask(inputs, data_samples)
        latent, mask, ids_kept = self.backbone(inputs, mask, counts)
        pred_kept = self.neck(latent, ids_kept)
        pred = pred_kept.new_zeros(*mask.shape, pred_kept.shape[-1])
        pred.scatter_(1, ids_kept[..., None].expand_as(pred_kept), pred_kept)
        loss = self.head.loss(pred, inputs, (mask == MASKED).float())
        return dict(loss=loss)
