"""FAMTMaskGenerator: exact counts, sampling law, reproducibility, errors."""
import itertools

import numpy as np
import pytest
import torch

from famt_mm.models.utils.mask_generator import (FAMTMaskGenerator,
                                                 mask_counts, split_ids)


def role_counts(mask):
    return [(mask == c).sum(1) for c in (1, -1, 0)]


@pytest.mark.parametrize('n,r,t', [(196, 0.45, 0.40), (196, 0.75, 0.0),
                                   (64, 0.44, 0.26), (49, 0.6, 0.0),
                                   (100, 0.29, 0.1)])
def test_exact_counts(n, r, t):
    gen = FAMTMaskGenerator(r, t)
    mask = gen(torch.rand(8, n) + 0.01)
    assert mask.dtype == torch.int8 and mask.shape == (8, n)
    n_mask = int(n * r)
    n_throw = int(n * (r + t)) - n_mask
    for got, want in zip(role_counts(mask),
                         (n_mask, n_throw, n - n_mask - n_throw)):
        assert (got == want).all()
    assert mask_counts(n, r, t) == (n_mask, n_throw, n - n_mask - n_throw)


def test_paper_default_counts_vit_b():
    assert mask_counts(196, 0.45, 0.40) == (88, 78, 30)


def simmim_authors_counts(units, r, t):
    """SimMIM's MaskGenerator and the authors' SimMIM-AMT generator:
    int(np.ceil(token_count * ratio)) for the masked and thrown units."""
    n_mask = int(np.ceil(units * r))
    n_throw = int(np.ceil(units * t))
    return n_mask, n_throw, units - n_mask - n_throw


@pytest.mark.parametrize('units,r,t', [(49, 0.44, 0.26), (49, 0.44, 0.0),
                                       (49, 0.6, 0.0), (16, 0.44, 0.26),
                                       (16, 0.6, 0.0), (36, 0.44, 0.26)])
def test_simmim_counts_round_up_as_the_authors(units, r, t):
    assert mask_counts(units, r, t, 'ceil') == simmim_authors_counts(
        units, r, t)
    gen = FAMTMaskGenerator(r, t, rounding='ceil')
    mask = gen(torch.rand(4, units) + 0.01)
    assert tuple(int(c[0]) for c in role_counts(mask)) == \
        simmim_authors_counts(units, r, t)


def test_simmim_config_counts_at_14x14_with_32px_units():
    """ViT-B/16 SimMIM at 224 px: 22 / 13 / 14 units of 49, i.e. 88 / 52 /
    56 patches, and the warm-up masks 22 units (88 patches)."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import famt_mm  # noqa: F401
    from .conftest import CONFIGS
    cfg = Config.fromfile(f'{CONFIGS}/pretrain/simmim/famt-simmim_vit-base-'
                          'p16_8xb256-amp-coslr-200e_in1k.py')
    gen = MODELS.build(cfg.model.mask_generator)
    warm = MODELS.build(cfg.model.warmup_mask_generator)
    assert gen.counts(49) == (22, 13, 14)
    assert gen.patch_counts((14, 14)) == (88, 52, 56)
    assert warm.patch_counts((14, 14)) == (88, 0, 108)


def test_ceil_counts_that_leave_nothing_visible_are_refused():
    with pytest.raises(ValueError, match='leave no visible unit of 4'):
        FAMTMaskGenerator(0.5, 0.3, rounding='ceil').counts(4)
    with pytest.raises(ValueError, match="rounding 'round'"):
        FAMTMaskGenerator(rounding='round')


def test_grid_input_equals_flat_input():
    w = torch.rand(4, 14, 14) + 0.1
    gen = FAMTMaskGenerator()
    a = gen(w, torch.Generator().manual_seed(3))
    b = gen(w.flatten(1), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_same_seed_same_mask_and_seeds_differ():
    w = torch.rand(4, 196) + 0.1
    gen = FAMTMaskGenerator()
    m1 = gen(w, torch.Generator().manual_seed(7))
    m2 = gen(w, torch.Generator().manual_seed(7))
    m3 = gen(w, torch.Generator().manual_seed(8))
    assert torch.equal(m1, m2)
    assert not torch.equal(m1, m3)


def plackett_luce_first_k(weights, k):
    """Exact P(item i is among the first k drawn) by enumerating orders."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    probs = np.zeros(n)
    for order in itertools.permutations(range(n)):
        p, left = 1.0, weights.sum()
        for i in order:
            p *= weights[i] / left
            left -= weights[i]
        for i in order[:k]:
            probs[i] += p
    return probs


def test_sampling_law_matches_sequential_sampling_without_replacement():
    # 5 patches, r=0.4 -> 2 masked, t=0.4 -> 2 thrown, 1 visible.
    w = [1.0, 2.0, 3.0, 4.0, 10.0]
    draws = 200_000
    gen = FAMTMaskGenerator(0.4, 0.4)
    mask = gen(torch.tensor(w).expand(draws, -1),
               torch.Generator().manual_seed(0))
    p_masked = (mask == 1).float().mean(0).numpy()
    p_visible = (mask == 0).float().mean(0).numpy()
    np.testing.assert_allclose(p_masked, plackett_luce_first_k(w, 2),
                               atol=0.006)
    np.testing.assert_allclose(p_visible, 1 - plackett_luce_first_k(w, 4),
                               atol=0.006)


def test_high_weights_masked_middle_thrown_low_visible():
    n = 196
    w = torch.linspace(0.05, 1.0, n).expand(4000, -1)
    mask = FAMTMaskGenerator(0.45, 0.40)(w, torch.Generator().manual_seed(1))
    p_mask = (mask == 1).float().mean(0)
    p_throw = (mask == -1).float().mean(0)
    p_vis = (mask == 0).float().mean(0)
    thirds = [slice(0, n // 3), slice(n // 3, 2 * n // 3),
              slice(2 * n // 3, n)]  # low, middle, high weights
    masked, thrown, visible = ([p[s].mean() for s in thirds]
                               for p in (p_mask, p_throw, p_vis))
    assert masked[0] < masked[1] < masked[2]  # more often with weight
    assert thrown[1] > thrown[0] and thrown[1] > thrown[2]  # middle most
    assert visible[0] > visible[1] > visible[2]  # low weights
    # High weight is only more likely, never certain.
    assert p_mask.max() < 1 and p_vis[-1] > 0


def test_uniform_weights_give_uniform_roles():
    mask = FAMTMaskGenerator(0.45, 0.40)(torch.ones(20000, 196),
                                         torch.Generator().manual_seed(2))
    p_mask = (mask == 1).float().mean(0)
    assert (p_mask - 88 / 196).abs().max() < 0.02


def test_zero_weights_are_drawn_last_in_random_order():
    w = torch.tensor([0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0])
    mask = FAMTMaskGenerator(0.3, 0.4)(w.expand(3000, -1),
                                       torch.Generator().manual_seed(4))
    # 3 masked + 4 thrown out of 7 positives: zero weights always visible.
    assert (mask[:, :3] == 0).all()
    assert ((mask[:, 3:] == 0).sum(1) == 0).all()


def test_scale_invariance():
    w = torch.rand(3, 50) + 0.01
    gen = FAMTMaskGenerator()
    assert torch.equal(gen(w, torch.Generator().manual_seed(5)),
                       gen(w * 1e4, torch.Generator().manual_seed(5)))


def test_mask_unit_keeps_units_whole():
    gen = FAMTMaskGenerator(0.44, 0.26, mask_unit=2)
    mask = gen(torch.rand(6, 14, 14) + 0.01).reshape(6, 7, 2, 7, 2)
    assert (mask == mask[:, :, :1, :, :1]).all()  # every 2x2 unit uniform
    units = mask[:, :, 0, :, 0].flatten(1)
    assert ((units == 1).sum(1) == int(49 * 0.44)).all()
    assert ((units == -1).sum(1) == int(49 * 0.70) - int(49 * 0.44)).all()


def test_mask_unit_pools_weights_per_unit():
    # Only the top-left unit has weight: it must be masked every time.
    w = torch.full((200, 8, 8), 1e-6)
    w[:, :2, :2] = 1.0
    mask = FAMTMaskGenerator(0.25, 0.0, mask_unit=2)(w).reshape(200, 8, 8)
    assert (mask[:, :2, :2] == 1).all()


def test_split_ids_roles_and_order():
    mask = torch.tensor([[1, 0, -1, 1, 0, 1], [0, 1, 1, -1, 1, 0]],
                        dtype=torch.int8)
    vis, msk, thr = split_ids(mask, (3, 1, 2))
    assert vis.tolist() == [[1, 4], [0, 5]]
    assert msk.tolist() == [[0, 3, 5], [1, 2, 4]]
    assert thr.tolist() == [[2], [3]]


@pytest.mark.parametrize('kwargs,match', [
    (dict(mask_ratio=0.0), r'mask_ratio must be a finite number in \(0, 1\)'),
    (dict(mask_ratio=1.2), r'mask_ratio .* in \(0, 1\), got 1.2'),
    (dict(mask_ratio=float('nan')), 'mask_ratio .* got nan'),
    (dict(throw_ratio=-0.1), r'throw_ratio .* in \[0, inf\], got -0.1'),
    (dict(throw_ratio=float('nan')), 'throw_ratio .* got nan'),
    (dict(throw_ratio=True), 'throw_ratio .* got True'),
    (dict(gamma=-1), r'gamma .* in \[0, inf\], got -1'),
    (dict(mask_unit='2'), "mask_unit must be an int >= 1, got '2'"),
    (dict(mask_unit=True), 'mask_unit must be an int >= 1, got True'),
    (dict(mask_ratio=0.6, throw_ratio=0.4), 'must be < 1'),
    (dict(mask_unit=0), 'mask_unit must be an int >= 1'),
])
def test_bad_ratios(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FAMTMaskGenerator(**kwargs)


@pytest.mark.parametrize('weights,match', [
    (torch.tensor([[1.0, -1.0, 2.0, 3.0]]),
     r'negative weights in sample\(s\) \[0\]'),
    (torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, float('nan'), 2.0, 3.0]]),
     r'NaN weights in sample\(s\) \[1\]'),
    (torch.tensor([[1.0, float('inf'), 2.0, 3.0]]), 'infinite'),
    (torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]]),
     r'all-zero weights in sample\(s\) \[1\]'),
    (torch.rand(2, 3, 4, 5), r'\(B, N\) or \(B, h, w\)'),
    (torch.rand(2, 0), 'empty'),
])
def test_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        FAMTMaskGenerator(0.25, 0.25)(weights)


def test_nothing_masked_is_refused():
    # int(4 * 0.2) = 0 masked tokens: the loss would divide by zero.
    with pytest.raises(ValueError, match='masks no unit out of 4'):
        FAMTMaskGenerator(0.2, 0.3)(torch.ones(1, 4))


def test_unit_not_dividing_grid():
    with pytest.raises(ValueError, match=r'\(14, 14\).*mask_unit=4'):
        FAMTMaskGenerator(mask_unit=4)(torch.ones(1, 14, 14))
