"""How concentrated FAMT's masks are: statistics of the sampling law.

For weights ``w`` (one row per image) and the role counts of a mask
generator, the units are ordered by weighted sampling without replacement
(probability ``w ** gamma``): the first ``n_mask + n_throw`` drawn are
masked or thrown, the rest stay visible. These plain functions say, per
image, whether such masks are model-driven, near-random or near-
deterministic:

- ``support``: effective support of the sampling distribution,
  ``exp(entropy(p)) / N`` with ``p = w ** gamma / sum``; 1 for uniform
  weights, ``k / N`` when all mass sits on ``k`` units.
- ``entropy``: ``entropy(p) / log N``, the entropy relative to uniform
  weights' (1 for uniform, ``log k / log N`` for mass on ``k`` units).
- ``always_visible``: the number of units visible in >= 95% of draws
  (0 for uniform weights at any usual ratio); ``always_visible_share``
  the same as a share of the ``n_vis`` visible slots (1: the visible set
  never changes).
- ``overlap``: mean Jaccard overlap of the visible sets of two independent
  draws; ``n_vis / (2 N - n_vis)`` for uniform weights (``overlap_uniform``),
  1 for deterministic masks.

Visibility probabilities use the standard approximation for successive
(Plackett-Luce) sampling: unit ``i`` is among the first ``k`` drawn with
probability ``1 - exp(-c w_i)``, ``c`` solving ``sum_i (1 - exp(-c w_i)) =
k`` (exact as N grows; tests compare it with Monte-Carlo draws). All
functions are batched and sync-free.
"""
import math
from typing import Tuple

import torch

# 'always visible': visible in at least this share of the draws
ALWAYS_VISIBLE_LEVEL = 0.95

# Relative weight below which a unit counts as zero in the approximation.
_TINY = 1e-6


def sampling_probabilities(weights: torch.Tensor, gamma: float = 1.0):
    """(B, N) first-draw probabilities ``w ** gamma / sum(w ** gamma)``."""
    w = weights.float().flatten(1)
    w = (w / w.amax(dim=1, keepdim=True)).clamp_min(_TINY)**gamma
    return w / w.sum(dim=1, keepdim=True)


def sampling_entropy(weights: torch.Tensor, gamma: float = 1.0):
    """(B,) entropy (nats) of the sampling distribution."""
    p = sampling_probabilities(weights, gamma)
    return -(p * p.log()).sum(dim=1)


def effective_support(weights: torch.Tensor, gamma: float = 1.0):
    """(B,) perplexity of the sampling distribution over N: in (0, 1]."""
    return sampling_entropy(weights, gamma).exp() / weights[0].numel()


def visible_probability(weights: torch.Tensor, counts: Tuple[int, int, int],
                        gamma: float = 1.0, iters: int = 60):
    """(B, N) probability that each unit is visible (not among the first
    ``n_mask + n_throw`` drawn), by the successive-sampling approximation.

    Args:
        weights (Tensor): (B, N) or (B, h, w) non-negative weights.
        counts (tuple): ``(n_mask, n_throw, n_visible)``.
    """
    p = sampling_probabilities(weights, gamma)
    drawn = counts[0] + counts[1]
    # Bisection on log c: sum_i (1 - exp(-c p_i)) grows from 0 to N.
    lo = torch.full_like(p[:, :1], -30.0)
    hi = torch.full_like(p[:, :1], 30.0)
    for _ in range(iters):
        mid = (lo + hi) / 2
        taken = (1 - torch.exp(-mid.exp() * p)).sum(dim=1, keepdim=True)
        below = taken < drawn
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return torch.exp(-((lo + hi) / 2).exp() * p)


def _count_always_visible(vis: torch.Tensor, level: float):
    return (vis >= level).sum(1)


def _jaccard_overlap(vis: torch.Tensor, n_vis: int):
    shared = vis.pow(2).sum(dim=1)
    return shared / (2 * n_vis - shared)


def always_visible(weights, counts, gamma: float = 1.0,
                   level=ALWAYS_VISIBLE_LEVEL):
    """(B,) number of units visible in at least ``level`` of the draws."""
    return _count_always_visible(
        visible_probability(weights, counts, gamma), level)


def visible_overlap(weights, counts, gamma: float = 1.0):
    """(B,) mean Jaccard overlap of two independent draws' visible sets,
    ``E|V1 & V2| / (2 n_vis - E|V1 & V2|)``."""
    return _jaccard_overlap(visible_probability(weights, counts, gamma),
                            counts[2])


def concentration(weights: torch.Tensor, counts: Tuple[int, int, int],
                  gamma: float = 1.0) -> dict:
    """The statistics averaged over the batch, and the uniform overlap for
    reference: ``support``, ``entropy``, ``always_visible``,
    ``always_visible_share``, ``overlap``, ``overlap_uniform`` (floats;
    reads them back, so not for the step)."""
    n_vis, num_units = counts[2], weights[0].numel()
    vis = visible_probability(weights, counts, gamma)  # solved once
    entropy = sampling_entropy(weights, gamma)
    always = _count_always_visible(vis, ALWAYS_VISIBLE_LEVEL).float().mean()
    return dict(
        support=float((entropy.exp() / num_units).mean()),
        entropy=float((entropy / math.log(num_units)).mean())
        if num_units > 1 else 1.0,
        always_visible=float(always),
        always_visible_share=float(always) / n_vis,
        overlap=float(_jaccard_overlap(vis, n_vis).mean()),
        overlap_uniform=n_vis / (2 * num_units - n_vis))


def concentration_label(stats: dict) -> str:
    """Short text of :func:`concentration`'s output (two lines)."""
    return (f'support {stats["support"]:.2f}, entropy '
            f'{stats["entropy"]:.3f}, always-vis '
            f'{stats["always_visible"]:.1f}\noverlap {stats["overlap"]:.3f} '
            f'(random {stats["overlap_uniform"]:.3f})')
