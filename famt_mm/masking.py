"""Weighted masking and throwing: patch weights -> masked / thrown / visible.

The mask code used everywhere in famt_mm: ``1`` masked (reconstructed, in
the loss), ``-1`` thrown (removed from encoder, decoder and loss), ``0``
visible (seen by the encoder).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

MASKED, THROWN, VISIBLE = 1, -1, 0


def mask_counts(num_tokens: int, mask_ratio: float,
                throw_ratio: float) -> Tuple[int, int, int]:
    """``(n_mask, n_throw, n_visible)`` for ``num_tokens`` tokens.

    ``n_mask = int(N * r)``, ``n_throw = int(N * (r + t)) - n_mask``,
    ``n_visible = N - n_mask - n_throw`` (the method's definition).
    """
    n_mask = int(num_tokens * mask_ratio)
    n_throw = int(num_tokens * (mask_ratio + throw_ratio)) - n_mask
    return n_mask, n_throw, num_tokens - n_mask - n_throw


def weighted_order(weights: torch.Tensor,
                   generator: Optional[torch.Generator] = None):
    """A random ordering of each row, drawn without replacement with
    probability proportional to the weights (Gumbel-top-k).

    ``argsort(log w + Gumbel, descending)`` is distributed as sequential
    sampling without replacement (Plackett-Luce). Rows are rescaled by their
    maximum first, so any positive scale gives the same result; zero weights
    come last, in uniformly random order among themselves.

    Args:
        weights (Tensor): (B, N), non-negative, each row with a positive entry.
        generator (torch.Generator, optional): source of the noise; it may
            live on another device than ``weights``.

    Returns:
        Tensor: (B, N) int64 token indices, first drawn first.
    """
    w = weights.float() / weights.float().amax(dim=1, keepdim=True)
    device = generator.device if generator is not None else w.device
    u = torch.rand(w.shape, generator=generator, device=device).to(w.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    # log w >= -104 for every positive float32: -1e4 keeps zeros below all.
    keys = torch.log(w).clamp_min(-1e4) + gumbel
    return torch.argsort(keys, dim=1, descending=True)


def unit_pool(weights: torch.Tensor, unit: int) -> torch.Tensor:
    """Mean of (B, h, w) patch weights over ``unit x unit`` blocks."""
    return F.avg_pool2d(weights[:, None].float(), unit)[:, 0]


def unit_expand(codes: torch.Tensor, unit: int) -> torch.Tensor:
    """Give every patch of a ``unit x unit`` block its block's code."""
    return codes.repeat_interleave(unit, 1).repeat_interleave(unit, 2)


@MODELS.register_module()
class FAMTMaskGenerator:
    """Sample masked / thrown / visible patches from per-patch weights.

    A full ordering of the mask units is drawn by weighted sampling without
    replacement (:func:`weighted_order`): the first ``n_mask`` units are
    masked (high weight: hard, semantic content), the next ``n_throw`` are
    thrown, the rest stay visible. High-weight units are only *more likely*
    to be masked. Uniform weights give plain random masking / throwing.

    Args:
        mask_ratio (float): r, fraction of units masked, in (0, 1).
        throw_ratio (float): t, fraction thrown, >= 0, with r + t < 1.
        mask_unit (int): side of a mask unit in patches. 1 masks single
            patches (MAE); 2 with 16-px patches masks 32x32 blocks (SimMIM).
            Weights are averaged per unit and every patch of a unit shares
            its fate.

    Call:
        weights (Tensor): (B, N) or (B, h, w) non-negative weights; any
            scale. ``mask_unit > 1`` needs the (B, h, w) form or a square N.
        generator (torch.Generator, optional): for reproducible masks.

    Returns:
        Tensor: (B, N) int8: 1 masked, -1 thrown, 0 visible.

    Example:
        >>> gen = FAMTMaskGenerator(mask_ratio=0.45, throw_ratio=0.40)
        >>> mask = gen(torch.rand(2, 14, 14))
        >>> [(mask == c).sum(1).tolist() for c in (1, -1, 0)]
        [[88, 88], [78, 78], [30, 30]]
    """

    def __init__(self,
                 mask_ratio: float = 0.45,
                 throw_ratio: float = 0.40,
                 mask_unit: int = 1):
        if not 0 < mask_ratio < 1:
            raise ValueError(f'mask_ratio must be in (0, 1), got {mask_ratio}')
        if throw_ratio < 0:
            raise ValueError(f'throw_ratio must be >= 0, got {throw_ratio}')
        if mask_ratio + throw_ratio >= 1:
            raise ValueError(
                f'mask_ratio + throw_ratio must be < 1 so that some tokens '
                f'stay visible, got {mask_ratio} + {throw_ratio} = '
                f'{mask_ratio + throw_ratio}')
        if int(mask_unit) != mask_unit or mask_unit < 1:
            raise ValueError(
                f'mask_unit must be a positive integer, got {mask_unit}')
        self.mask_ratio = mask_ratio
        self.throw_ratio = throw_ratio
        self.mask_unit = int(mask_unit)

    def counts(self, num_units: int) -> Tuple[int, int, int]:
        """``(n_mask, n_throw, n_visible)`` in units. r + t < 1 always
        leaves one visible; raises if nothing would be masked (no loss)."""
        counts = mask_counts(num_units, self.mask_ratio, self.throw_ratio)
        if counts[0] < 1:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} masks no unit out of '
                f'{num_units}, so there is nothing to reconstruct; raise '
                'mask_ratio or use a finer mask_unit')
        return counts

    def _check_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """Validate and bring weights to (B, h, w) unit-poolable form."""
        if not torch.is_tensor(weights):
            raise ValueError(
                f'weights must be a tensor, got {type(weights).__name__}')
        if weights.dim() == 2:
            side = int(round(weights.shape[1]**0.5))
            if self.mask_unit > 1:
                if side * side != weights.shape[1]:
                    raise ValueError(
                        f'mask_unit={self.mask_unit} needs (B, h, w) '
                        f'weights or a square N, got {tuple(weights.shape)}')
                weights = weights.reshape(-1, side, side)
        elif weights.dim() != 3:
            raise ValueError('weights must have shape (B, N) or (B, h, w), '
                             f'got {tuple(weights.shape)}')
        if weights.shape[0] == 0 or weights[0].numel() == 0:
            raise ValueError(f'weights is empty: {tuple(weights.shape)}')
        if weights.dim() == 3 and (weights.shape[1] % self.mask_unit
                                   or weights.shape[2] % self.mask_unit):
            raise ValueError(
                f'patch grid {tuple(weights.shape[1:])} is not divisible by '
                f'mask_unit={self.mask_unit}')
        if torch.isnan(weights).any():
            raise ValueError('weights contain NaN')
        if torch.isinf(weights).any():
            raise ValueError('weights contain inf')
        if (weights < 0).any():
            raise ValueError(
                f'weights must be non-negative, min is {weights.min().item()}')
        flat = weights.flatten(1)
        empty = (flat.amax(dim=1) <= 0).nonzero().flatten()
        if len(empty):
            raise ValueError(
                f'sample(s) {empty.tolist()} have all-zero weights; give them '
                'uniform weights for random masking')
        return weights

    def __call__(self,
                 weights: torch.Tensor,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        weights = self._check_weights(weights)
        batch = weights.shape[0]
        if self.mask_unit > 1:
            weights = unit_pool(weights, self.mask_unit)
        grid = weights.shape[1:] if weights.dim() == 3 else None
        flat = weights.reshape(batch, -1)
        n_mask, n_throw, n_vis = self.counts(flat.shape[1])

        order = weighted_order(flat, generator)
        codes_in_order = torch.tensor(
            [MASKED] * n_mask + [THROWN] * n_throw + [VISIBLE] * n_vis,
            dtype=torch.int8,
            device=flat.device).expand(batch, -1)
        codes = torch.empty_like(codes_in_order).scatter_(
            1, order, codes_in_order)
        if self.mask_unit > 1:
            codes = unit_expand(codes.reshape(batch, *grid), self.mask_unit)
        return codes.reshape(batch, -1)

    def __repr__(self):
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'throw_ratio={self.throw_ratio}, '
                f'mask_unit={self.mask_unit})')


def split_ids(mask: torch.Tensor):
    """Token indices per role, each ascending within its role.

    Args:
        mask (Tensor): (B, N) mask code with the same counts in every row.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``ids_visible`` (B, n_vis),
        ``ids_masked`` (B, n_mask), ``ids_thrown`` (B, n_throw).
    """
    # visible -> 0, masked -> 1, thrown -> 2; a stable sort keeps patch order.
    key = torch.where(mask == THROWN, 2, mask.long())
    order = torch.argsort(key, dim=1, stable=True)
    n_vis = int((mask[0] == VISIBLE).sum())
    n_mask = int((mask[0] == MASKED).sum())
    return (order[:, :n_vis], order[:, n_vis:n_vis + n_mask],
            order[:, n_vis + n_mask:])
