"""Weight formulas against plain NumPy references."""
import numpy as np
import pytest
import torch

from famt_mm.weights import (attention_weights, feature_frequency_weights,
                             fuse_weights, image_frequency_weights,
                             minmax_normalize)


def np_minmax(x, axis=-1):
    lo = x.min(axis=axis, keepdims=True)
    hi = x.max(axis=axis, keepdims=True)
    return (x - lo) / (hi - lo)


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
    expected = np_minmax(np_minmax(attn).mean(axis=1))
    got = attention_weights(torch.from_numpy(attn)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.shape == (3, 20)


@pytest.mark.parametrize('hw', [(4, 4), (3, 5), (14, 14)])
def test_feature_frequency_weights_match_numpy(hw):
    rng = np.random.default_rng(1)
    h, w = hw
    tokens = rng.normal(size=(2, h * w, 7))
    got = feature_frequency_weights(torch.from_numpy(tokens), hw, 0.2).numpy()
    for b in range(2):
        grid = tokens[b].T.reshape(7, h, w)
        expected = np_minmax(np_lowpass(grid, 0.2).ravel())
        np.testing.assert_allclose(got[b], expected, rtol=1e-4, atol=1e-5)


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
    np.testing.assert_allclose(got[0], np_minmax(pooled), rtol=1e-4,
                               atol=1e-5)


def test_image_frequency_rejects_bad_size():
    with pytest.raises(ValueError, match=r'\(30, 32\).*patch_size=8'):
        image_frequency_weights(torch.rand(1, 3, 30, 32), 8)


def test_fusion_modes():
    a = torch.tensor([[0.0, 0.5, 1.0, 0.25]])
    f = torch.tensor([[1.0, 1.0, 0.5, 0.0]])
    np.testing.assert_allclose(
        fuse_weights(a, f, 'famt').numpy(),
        np_minmax((a * f).numpy()))
    np.testing.assert_allclose(fuse_weights(a, f, 'attention').numpy(),
                               a.numpy())
    np.testing.assert_allclose(fuse_weights(a, f, 'frequency').numpy(),
                               f.numpy())
    np.testing.assert_allclose(
        fuse_weights(a, f, 'sum', alpha=0.25).numpy(),
        np_minmax((0.25 * a + 0.75 * f).numpy()))
    with pytest.raises(ValueError, match="'bogus'"):
        fuse_weights(a, f, 'bogus')


def test_minmax_of_constant_is_uniform():
    out = minmax_normalize(torch.full((2, 5), 3.0))
    assert torch.equal(out, torch.ones(2, 5))
