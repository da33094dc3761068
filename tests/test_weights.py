"""Weight formulas against plain NumPy references."""
import numpy as np
import pytest
import torch

from famt_mm.models.utils.patch_weights import (FUSIONS, WEIGHT_FLOOR,
                                                attention_weights,
                                                feature_frequency_weights,
                                                fuse_weights,
                                                image_frequency_weights,
                                                minmax_normalize)


def np_minmax(x, axis=-1):
    lo = x.min(axis=axis, keepdims=True)
    hi = x.max(axis=axis, keepdims=True)
    return (x - lo) / (hi - lo)


def np_max_floor(x, floor=WEIGHT_FLOOR):
    return np.maximum(x / x.max(axis=-1, keepdims=True), floor)


def spearman(x, y):
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return np.corrcoef(rx, ry)[0, 1]


def np_lowpass(grid, sigma):
    """grid (C, h, w) -> (h, w) channel-summed |low-passed| magnitude,
    with the Gaussian built on an explicitly centred (fftshift) grid."""
    c, h, w = grid.shape
    u = (np.arange(h) - h // 2) / h
    v = (np.arange(w) - w // 2) / w
    gauss = np.exp(-(u[:, None]**2 + v[None, :]**2) / (2 * sigma**2))
    out = np.zeros((h, w))
    for ch in range(c):
        spec = np.fft.fftshift(np.fft.fft2(grid[ch]))
        out += np.abs(np.fft.ifft2(np.fft.ifftshift(spec * gauss)))
    return out


def test_attention_weights_match_numpy():
    rng = np.random.default_rng(0)
    attn = rng.random((3, 5, 20))  # B, heads, N
    expected = np_minmax(attn).mean(axis=1)  # no second min-max
    got = attention_weights(torch.from_numpy(attn)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.shape == (3, 20)
    assert got.min() > 0.05 and got.max() < 0.95


@pytest.mark.parametrize('hw', [(4, 4), (3, 5), (14, 14)])
def test_feature_frequency_weights_match_numpy(hw):
    rng = np.random.default_rng(1)
    h, w = hw
    tokens = rng.normal(size=(2, h * w, 7))
    got = feature_frequency_weights(torch.from_numpy(tokens), hw, 0.2).numpy()
    for b in range(2):
        grid = tokens[b].T.reshape(7, h, w)
        magnitude = np_lowpass(grid, 0.2).ravel()
        expected = magnitude / magnitude.mean()
        np.testing.assert_allclose(got[b], expected, rtol=1e-4, atol=1e-5)
        assert abs(got[b].mean() - 1) < 1e-5


def test_lowpass_prefers_smooth_region():
    # A smooth blob in one half, white noise of equal power in the other.
    rng = np.random.default_rng(2)
    h = w = 16
    yy, xx = np.mgrid[:h, :w]
    blob = np.exp(-((yy - 8)**2 + (xx - 4)**2) / 8.0)
    noise = rng.normal(size=(h, w)) * (xx >= 8)
    grid = (blob * 3 + noise)[None].repeat(4, 0)
    tokens = torch.from_numpy(grid.reshape(4, -1).T[None])
    wts = feature_frequency_weights(tokens, (h, w), 0.1)[0].reshape(h, w)
    assert wts[:, :8].mean() > 2 * wts[:, 8:].mean()


def test_image_frequency_weights_match_numpy():
    rng = np.random.default_rng(3)
    img = rng.random((1, 3, 32, 48))
    got = image_frequency_weights(torch.from_numpy(img), 8, 0.25).numpy()
    grey = img[0].mean(0)
    mag = np_lowpass(grey[None], 0.25 / 8)
    pooled = mag.reshape(4, 8, 6, 8).mean(axis=(1, 3)).ravel()
    np.testing.assert_allclose(got[0], pooled / pooled.mean(), rtol=1e-4,
                               atol=1e-5)


def test_image_frequency_rejects_bad_size():
    with pytest.raises(ValueError, match=r'\(30, 32\).*patch_size=8'):
        image_frequency_weights(torch.rand(1, 3, 30, 32), 8)


def test_fusion_modes():
    a = torch.tensor([[0.1, 0.5, 1.0, 0.25]])
    f = torch.tensor([[1.1, 1.0, 0.9, 1.0]])
    an, fn = a.numpy(), f.numpy()
    np.testing.assert_allclose(
        fuse_weights(a, f, 'famt').numpy(), np_max_floor(an * fn), rtol=1e-6)
    np.testing.assert_allclose(fuse_weights(a, f, 'attention').numpy(),
                               np_max_floor(an), rtol=1e-6)
    np.testing.assert_allclose(fuse_weights(a, f, 'frequency').numpy(),
                               np_max_floor(fn), rtol=1e-6)
    np.testing.assert_allclose(
        fuse_weights(a, f, 'sum', alpha=0.25).numpy(),
        np_max_floor(0.25 * an / an.max() + 0.75 * fn / fn.max()),
        rtol=1e-6)
    with pytest.raises(ValueError, match="'bogus'"):
        fuse_weights(a, f, 'bogus')


@pytest.mark.parametrize('mode', tuple(FUSIONS))
def test_no_weight_is_exactly_zero(mode):
    # Every head has its minimum on patch 0 (head mean exactly 0 there)
    # and the token grid is zero at patch 5 (low-passed magnitude ~0).
    attn = torch.rand(2, 4, 16)
    attn[:, :, 0] = -1
    tokens = torch.randn(2, 16, 8)
    tokens[:, :, :] = 0
    tokens[:, 3] = 1.0
    a = attention_weights(attn)
    f = feature_frequency_weights(tokens, (4, 4), 0.05)
    fused = fuse_weights(a, f, mode)
    assert a[:, 0].max() == 0  # the formula reaches 0 ...
    assert fused.min() >= WEIGHT_FLOOR  # ... the sampling weights never do
    assert torch.allclose(fused.amax(1), torch.ones(2))


def test_flat_frequency_leaves_amt():
    a = attention_weights(torch.rand(3, 6, 49))
    flat = feature_frequency_weights(torch.ones(3, 49, 8), (7, 7))
    assert torch.allclose(flat, torch.ones(3, 49))
    assert torch.allclose(fuse_weights(a, flat, 'famt'),
                          fuse_weights(a, flat, 'attention'))


def test_fused_ranking_follows_attention_unless_frequency_is_strong():
    rng = np.random.default_rng(4)
    h = w = 14
    attn = torch.from_numpy(rng.random((1, 6, h * w)))
    a = attention_weights(attn)
    # Low contrast: tokens of a mildly varying map (ratio ~ 1 +- 0.05).
    yy, xx = np.mgrid[:h, :w]
    mild = 1 + 0.05 * np.sin(yy / 3.0)
    tokens = torch.from_numpy(
        (mild[None] * np.ones((4, 1, 1))).reshape(4, -1).T[None])
    f_low = feature_frequency_weights(tokens, (h, w), 0.25)
    fused_low = fuse_weights(a, f_low, 'famt')[0].numpy()
    assert spearman(fused_low, a[0].numpy()) > 0.9
    # High contrast: a strong smooth object in the left half, nothing
    # elsewhere: the fused ranking moves towards the object.
    blob = np.exp(-((yy - 7)**2 + (xx - 3)**2) / 6.0) * 10 + 0.1
    tokens = torch.from_numpy(
        (blob[None] * np.ones((4, 1, 1))).reshape(4, -1).T[None])
    f_high = feature_frequency_weights(tokens, (h, w), 0.25)
    fused_high = fuse_weights(a, f_high, 'famt')[0].numpy()
    assert spearman(fused_high, a[0].numpy()) < 0.8
    assert spearman(fused_high, f_high[0].numpy()) > 0.5
    left = (xx < 7).ravel()
    assert fused_high[left].mean() > 2 * fused_high[~left].mean()


def test_minmax_of_constant_is_uniform():
    out = minmax_normalize(torch.full((2, 5), 3.0))
    assert torch.equal(out, torch.ones(2, 5))


def np_raster_notch(tokens, sigma):
    """(N, C) tokens -> (N, ) the public FAMT-labelled code's frequency cue,
    with an explicit DFT matrix: per channel X = F x, Y = H X, y = F^-1 Y;
    sum_c |y_c| over the mean of sum_c |x_c|."""
    n = tokens.shape[0]
    k = np.arange(n)
    dft = np.exp(-2j * np.pi * np.outer(k, k) / n)
    notch = np.array([
        1 - np.exp(-(i - (n - 1) / 2)**2 / (2 * (sigma * n)**2))
        for i in range(n)
    ])
    out = np.zeros(n)
    for ch in range(tokens.shape[1]):
        spectrum = dft @ tokens[:, ch]
        out += np.abs(np.conj(dft) @ (notch * spectrum) / n)
    return out / np.abs(tokens).sum(axis=1).mean()


@pytest.mark.parametrize('n', [16, 49, 196])
def test_public_code_filter_matches_an_independent_reference(n):
    from famt_mm.models.utils.patch_weights import raster_frequency_weights
    rng = np.random.default_rng(n)
    tokens = rng.normal(size=(2, n, 5))
    got = raster_frequency_weights(torch.from_numpy(tokens), 0.075).numpy()
    for b in range(2):
        np.testing.assert_allclose(got[b], np_raster_notch(tokens[b], 0.075),
                                   rtol=1e-4, atol=1e-5)


def test_public_code_filter_amplitudes():
    """The table in docs/method.md: 1.000 / 0.996 / 0.585 / 0.0006 at
    0.1 / 0.25 / 0.4 / 0.5 cycles per token, N = 196 (bins rounded)."""
    from famt_mm.models.utils.patch_weights import nyquist_notch
    notch = nyquist_notch(196, 0.075).numpy()
    got = [notch[round(f * 196)] for f in (0.1, 0.25, 0.4, 0.5)]
    np.testing.assert_allclose(got, [1.000, 0.996, 0.585, 0.0006],
                               atol=5e-4)
    # and it is the public filter that reaches the weights
    from mmpretrain.models import VisionTransformer

    from famt_mm.models.utils.cues import CueSettings, famt_weights
    vit = VisionTransformer(
        arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                  feedforward_channels=64), img_size=32, patch_size=8)
    vit.eval()
    images = torch.rand(2, 3, 32, 32)
    public = famt_weights(vit, images, CueSettings(
        frequency_filter='nyquist_notch'))
    ours = famt_weights(vit, images, CueSettings())
    assert public['frequency'].shape == (2, 4, 4)
    assert not torch.allclose(public['frequency'], ours['frequency'])
    assert CueSettings(frequency_filter='nyquist_notch').cutoff == 0.075
    assert CueSettings().cutoff == 0.25
