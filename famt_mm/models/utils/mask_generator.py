"""Weighted masking and throwing: patch weights -> masked / thrown / visible.

The mask code (:mod:`famt_mm.utils.contract`): ``1`` masked (reconstructed, in
the loss), ``-1`` thrown (removed from encoder, decoder and loss), ``0``
visible (seen by the encoder).

The training step's path (:meth:`FAMTMaskGenerator.__call__` with
``check=False``, :func:`split_ids`) never reads a value back from the
device: the role counts follow from (N, r, t), and weights are validated
where they are made or loaded.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...utils.checks import check_int, check_real, check_weight_values
from ...utils.contract import MASKED, THROWN, VISIBLE
from . import mask_stats

ROUNDINGS = ('floor', 'ceil')


def mask_counts(num_tokens: int, mask_ratio: float, throw_ratio: float,
                rounding: str = 'floor') -> Tuple[int, int, int]:
    """``(n_mask, n_throw, n_visible)`` for ``num_tokens`` tokens.

    'floor' (MAE; the authors' MAE code): ``n_mask = int(N * r)``,
    ``n_throw = int(N * (r + t)) - n_mask``. 'ceil' (SimMIM's
    ``MaskGenerator`` and the authors' SimMIM-AMT): ``n_mask = ceil(N * r)``,
    ``n_throw = ceil(N * t)``. ``n_visible`` is the rest. Products are
    rounded to 9 decimals before ``ceil``, so that 50 x 0.6 gives 30, not
    31 (a float artefact SimMIM's code has).
    """
    if rounding == 'ceil':
        n_mask = math.ceil(round(num_tokens * mask_ratio, 9))
        n_throw = math.ceil(round(num_tokens * throw_ratio, 9))
    elif rounding == 'floor':
        n_mask = int(num_tokens * mask_ratio)
        n_throw = int(num_tokens * (mask_ratio + throw_ratio)) - n_mask
    else:
        raise ValueError(f'rounding {rounding!r} is not one of {ROUNDINGS}')
    return n_mask, n_throw, num_tokens - n_mask - n_throw


def weighted_order(weights: torch.Tensor,
                   generator: Optional[torch.Generator] = None,
                   gamma: float = 1.0):
    """A random ordering of each row, drawn without replacement with
    probability proportional to ``weights ** gamma`` (Gumbel-top-k).

    ``argsort(gamma log w + Gumbel, descending)`` is distributed as
    sequential sampling without replacement (Plackett-Luce). Rows are
    rescaled by their maximum first, so any positive scale gives the same
    result; zero weights come last, in uniformly random order among
    themselves. ``gamma = 0`` is a uniformly random order.

    Args:
        weights (Tensor): (B, N), non-negative, each row with a positive entry.
        generator (torch.Generator, optional): source of the noise; it may
            live on another device than ``weights``.
        gamma (float): sharpness exponent, >= 0.

    Returns:
        Tensor: (B, N) int64 token indices, first drawn first.
    """
    w = weights.float() / weights.float().amax(dim=1, keepdim=True)
    device = generator.device if generator is not None else w.device
    u = torch.rand(w.shape, generator=generator, device=device).to(w.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
    # log w >= -104 for every positive float32: -1e4 keeps zeros below all.
    keys = torch.log(w).clamp_min(-1e4) * gamma + gumbel
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
        gamma (float): sharpness, units are drawn with probability
            proportional to ``w ** gamma``. 1 (default) is the method; 0 is
            uniform random masking; > 1 concentrates the masks on the
            highest weights (see ``docs/method.md`` for what it does to
            the concentration statistics).
        rounding (str): how the counts round (:func:`mask_counts`):
            'floor' (default, MAE's int) or 'ceil' (SimMIM's, per unit).

    Call:
        weights (Tensor): (B, N) or (B, h, w) non-negative weights; any
            scale. ``mask_unit > 1`` needs the (B, h, w) form or a square N.
        generator (torch.Generator, optional): for reproducible masks.
        check (bool): validate the values (NaN, inf, negative, all-zero),
            which reads them back from the device. The training step passes
            False: its weights were validated where they were made.

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
                 mask_unit: int = 1,
                 gamma: float = 1.0,
                 rounding: str = 'floor'):
        self.mask_ratio = check_real('mask_ratio', mask_ratio, 0, 1, True,
                                     True)
        self.throw_ratio = check_real('throw_ratio', throw_ratio, 0)
        if mask_ratio + throw_ratio >= 1:
            raise ValueError(
                f'mask_ratio + throw_ratio must be < 1 so that some tokens '
                f'stay visible, got {mask_ratio} + {throw_ratio} = '
                f'{mask_ratio + throw_ratio}')
        self.mask_unit = check_int('mask_unit', mask_unit, 1)
        self.gamma = check_real('gamma', gamma, 0)
        if rounding not in ROUNDINGS:
            raise ValueError(
                f'rounding {rounding!r} is not one of {ROUNDINGS}')
        self.rounding = rounding

    def counts(self, num_units: int) -> Tuple[int, int, int]:
        """``(n_mask, n_throw, n_visible)`` in units. r + t < 1 always
        leaves one visible; raises if nothing would be masked (no loss)."""
        counts = mask_counts(num_units, self.mask_ratio, self.throw_ratio,
                             self.rounding)
        if counts[2] < 1:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} and throw_ratio='
                f'{self.throw_ratio} rounded up leave no visible unit of '
                f'{num_units}; lower them')
        if counts[0] < 1:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} masks no unit out of '
                f'{num_units}, so there is nothing to reconstruct; raise '
                'mask_ratio or use a finer mask_unit')
        return counts

    def patch_counts(self, grid) -> Tuple[int, int, int]:
        """``(n_mask, n_throw, n_visible)`` in patches for a (h, w) patch
        grid: what every row of this generator's mask holds. Raises if the
        grid is not divisible by ``mask_unit`` or the counts are empty."""
        if grid[0] % self.mask_unit or grid[1] % self.mask_unit:
            raise ValueError(
                f'patch grid {tuple(grid)} is not divisible by '
                f'mask_unit={self.mask_unit}')
        units = (grid[0] // self.mask_unit) * (grid[1] // self.mask_unit)
        area = self.mask_unit**2
        return tuple(n * area for n in self.counts(units))

    def unit_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """(B, N) or (B, h, w) patch weights -> (B, h_u, w_u) or (B, N)
        weights per mask unit, with shape checks (no value read back)."""
        if not torch.is_tensor(weights):
            raise ValueError(
                f'weights must be a tensor, got {type(weights).__name__}')
        if weights.dim() == 2 and self.mask_unit > 1:
            side = math.isqrt(weights.shape[1])
            if side * side != weights.shape[1]:
                raise ValueError(
                    f'mask_unit={self.mask_unit} needs (B, h, w) '
                    f'weights or a square N, got {tuple(weights.shape)}')
            weights = weights.reshape(-1, side, side)
        elif weights.dim() not in (2, 3):
            raise ValueError('weights must have shape (B, N) or (B, h, w), '
                             f'got {tuple(weights.shape)}')
        if weights.shape[0] == 0 or weights[0].numel() == 0:
            raise ValueError(f'weights is empty: {tuple(weights.shape)}')
        if weights.dim() == 3 and (weights.shape[1] % self.mask_unit
                                   or weights.shape[2] % self.mask_unit):
            raise ValueError(
                f'patch grid {tuple(weights.shape[1:])} is not divisible by '
                f'mask_unit={self.mask_unit}')
        return (unit_pool(weights, self.mask_unit)
                if self.mask_unit > 1 else weights)

    def __call__(self,
                 weights: torch.Tensor,
                 generator: Optional[torch.Generator] = None,
                 check: bool = True) -> torch.Tensor:
        units = self.unit_weights(weights)
        if check:
            check_weight_values(weights)
        batch = units.shape[0]
        grid = units.shape[1:] if units.dim() == 3 else None
        flat = units.reshape(batch, -1)
        n_mask, n_throw, n_vis = self.counts(flat.shape[1])

        order = weighted_order(flat, generator, self.gamma)
        # Each unit's draw position -> its role; no host-to-device copy.
        position = torch.empty_like(order).scatter_(
            1, order,
            torch.arange(order.shape[1], device=order.device).expand_as(order))
        codes = torch.where(
            position < n_mask, MASKED,
            torch.where(position < n_mask + n_throw, THROWN,
                        VISIBLE)).to(torch.int8)
        if self.mask_unit > 1:
            codes = unit_expand(codes.reshape(batch, *grid), self.mask_unit)
        return codes.reshape(batch, -1)

    def concentration(self, weights: torch.Tensor) -> dict:
        """How concentrated this generator's masks are for ``weights``:
        :func:`famt_mm.models.utils.mask_stats.concentration` on the unit
        weights."""
        units = self.unit_weights(weights).flatten(1)
        return mask_stats.concentration(
            units, self.counts(units.shape[1]), self.gamma)

    def __repr__(self):
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'throw_ratio={self.throw_ratio}, '
                f'mask_unit={self.mask_unit}, gamma={self.gamma})')


def split_ids(mask: torch.Tensor, counts: Tuple[int, int, int]):
    """Token indices per role, each ascending within its role.

    Args:
        mask (Tensor): (B, N) mask code.
        counts (tuple): ``(n_mask, n_throw, n_visible)`` of every row, as
            :meth:`FAMTMaskGenerator.patch_counts` gives them (known before
            the mask exists, so nothing is read back from the device).

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``ids_visible`` (B, n_vis),
        ``ids_masked`` (B, n_mask), ``ids_thrown`` (B, n_throw).
    """
    n_mask, _, n_vis = counts
    # visible -> 0, masked -> 1, thrown -> 2; a stable sort keeps patch order.
    key = torch.where(mask == THROWN, 2, mask.long())
    order = torch.argsort(key, dim=1, stable=True)
    return (order[:, :n_vis], order[:, n_vis:n_vis + n_mask],
            order[:, n_vis + n_mask:])
