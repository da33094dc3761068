"""Concentration statistics against Monte-Carlo draws of the generator."""
import pytest
import torch

from famt_mm.models.utils.mask_generator import (FAMTMaskGenerator,
                                                 weighted_order)
from famt_mm.models.utils.mask_stats import (always_visible, concentration,
                                             effective_support,
                                             visible_overlap,
                                             visible_probability)
from famt_mm.models.utils.patch_weights import (attention_weights,
                                                feature_frequency_weights,
                                                fuse_weights, minmax_normalize)
from famt_mm.utils.contract import VISIBLE

DRAWS = 3000


def monte_carlo(weights, generator):
    """Per-unit visible frequency and mean Jaccard overlap of the visible
    sets of consecutive independent draws."""
    batch = weights.shape[0]
    torch.manual_seed(0)
    codes = generator(weights.repeat(DRAWS, 1)).reshape(DRAWS, batch, -1)
    visible = codes == VISIBLE
    a, b = visible[0::2], visible[1::2]
    shared = (a & b).sum(-1).float()
    union = (a | b).sum(-1).float()
    return visible.float().mean(0), (shared / union).mean(0)


MAPS = {
    'uniform': torch.ones(2, 196),
    'mild': torch.rand(2, 196) * 0.8 + 0.2,
    'peaked': torch.rand(2, 196)**6 + 1e-3,
    'lognormal': torch.exp(2 * torch.randn(2, 196)),
}


@pytest.mark.parametrize('name', MAPS)
@pytest.mark.parametrize('gamma', [0.0, 1.0, 2.0])
def test_statistics_match_monte_carlo(name, gamma):
    torch.manual_seed(1)
    weights = MAPS[name]
    gen = FAMTMaskGenerator(0.45, 0.40, gamma=gamma)
    counts = gen.counts(196)
    freq, jaccard = monte_carlo(weights, gen)
    prob = visible_probability(weights, counts, gamma)
    assert (prob - freq).abs().max() < 0.05
    torch.testing.assert_close(
        visible_overlap(weights, counts, gamma), jaccard, atol=0.01,
        rtol=0.03)
    # Units visible in >= 95% of the draws, counted both ways (a unit near
    # the threshold may fall on either side).
    approx = always_visible(weights, counts, gamma).float()
    empirical = (freq >= 0.95).sum(1).float()
    assert (approx - empirical).abs().max() <= 2


def test_uniform_and_gamma_zero_are_random_masking():
    counts = FAMTMaskGenerator(0.45, 0.40).counts(196)
    n_vis = counts[2]
    uniform = n_vis / (2 * 196 - n_vis)
    for weights, gamma in ((torch.ones(1, 196), 1.0),
                           (torch.rand(1, 196)**8, 0.0)):
        stats = concentration(weights, counts, gamma)
        assert stats['support'] == pytest.approx(1.0, abs=1e-5)
        assert stats['always_visible'] == 0
        assert stats['overlap'] == pytest.approx(uniform, abs=1e-4)
        assert stats['overlap_uniform'] == pytest.approx(uniform)


def test_support_of_k_hot_weights():
    weights = torch.zeros(1, 100)
    weights[0, :25] = 1
    assert effective_support(weights).item() == pytest.approx(0.25, abs=0.01)


def test_gamma_is_an_exponent_on_the_weights():
    weights = torch.rand(4, 50) + 0.01
    first = weighted_order(weights, torch.Generator().manual_seed(3), 2.0)
    second = weighted_order(weights**2, torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    sharp = FAMTMaskGenerator(gamma=3.0).concentration(weights)
    plain = FAMTMaskGenerator().concentration(weights)
    assert sharp['overlap'] > plain['overlap']
    assert sharp['support'] < plain['support']


def test_generator_diagnoses_units():
    gen = FAMTMaskGenerator(0.44, 0.26, mask_unit=2)
    weights = torch.ones(3, 8, 8)
    weights[:, :2, :2] = 1e-3  # one unit almost never masked or thrown
    stats = gen.concentration(weights)
    assert stats['always_visible'] == pytest.approx(1.0)
    assert stats['overlap_uniform'] == pytest.approx(5 / (32 - 5))


def test_ratio_weights_repeat_visible_sets_less_than_minmax():
    """The issue's finding: double min-max and a min-maxed frequency cue
    make the visible sets repeat; the ratio formula keeps every patch in
    play. The old formula is written out here as the reference."""
    torch.manual_seed(5)
    attn = torch.rand(8, 12, 196)**3
    tokens = torch.randn(8, 196, 32) + 3
    counts = FAMTMaskGenerator(0.45, 0.40).counts(196)
    new = fuse_weights(attention_weights(attn),
                       feature_frequency_weights(tokens, (14, 14)), 'famt')
    old_a = minmax_normalize(minmax_normalize(attn).mean(1))
    magnitude = feature_frequency_weights(tokens, (14, 14))
    old = minmax_normalize(old_a * minmax_normalize(magnitude))
    assert old.min() == 0 and new.min() > 0
    assert (visible_overlap(new, counts).mean() <
            visible_overlap(old, counts).mean())
    assert always_visible(new, counts).float().mean() <= \
        always_visible(old, counts).float().mean()
