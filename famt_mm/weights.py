"""Per-patch weights: attention (AMT), Fourier low-pass (FAMT), fusion.

Plain tensor functions, batched, no model state. Every function returns
weights normalised to [0, 1] per image, so their scale is comparable.
See ``docs/method.md`` for the formulas and where they depart from the
authors' code.
"""
import torch

FUSION_MODES = ('famt', 'attention', 'frequency', 'sum')
FREQUENCY_SOURCES = ('feature', 'image')


def minmax_normalize(x: torch.Tensor, dim=-1, eps: float = 1e-12):
    """Rescale ``x`` to [0, 1] along ``dim``: ``(x - min) / (max - min)``.

    A constant slice (max == min) maps to all ones, so it stays a valid,
    uniform sampling distribution instead of all zeros.
    """
    lo = x.amin(dim=dim, keepdim=True)
    hi = x.amax(dim=dim, keepdim=True)
    span = hi - lo
    out = (x - lo) / span.clamp_min(eps)
    return torch.where(span > eps, out, torch.ones_like(out))


def attention_weights(cls_attn: torch.Tensor) -> torch.Tensor:
    """AMT weights from the last layer's [CLS] attention.

    ``a_w = mean_h minmax_N(A_h[cls, patches])``: each head's CLS->patch
    attention row is min-max normalised over the N patches, then the heads
    are averaged (the result is re-normalised to [0, 1]).

    Args:
        cls_attn (Tensor): (B, H, N) CLS->patch attention (the [CLS] row of
            each head's softmax attention, without its CLS->CLS element),
            or, for backbones without [CLS], the attention each patch
            receives (see :func:`famt_mm.cues.swin_cues`).

    Returns:
        Tensor: (B, N) weights in [0, 1].
    """
    if cls_attn.dim() != 3:
        raise ValueError('cls_attn must have shape (B, heads, N), got '
                         f'{tuple(cls_attn.shape)}')
    per_head = minmax_normalize(cls_attn.float(), dim=-1)
    return minmax_normalize(per_head.mean(dim=1), dim=-1)


def gaussian_lowpass(h: int, w: int, cutoff: float, device=None):
    """Gaussian low-pass transfer function on an unshifted ``fft2`` grid.

    ``H(u, v) = exp(-(u^2 + v^2) / (2 * cutoff^2))`` with ``u, v`` the
    frequencies in cycles per patch (``torch.fft.fftfreq``, in [-0.5, 0.5)).

    Returns:
        Tensor: (h, w) float32 filter, 1 at the DC term.
    """
    if not 0 < cutoff:
        raise ValueError(
            f'cutoff must be > 0 (cycles per patch), got {cutoff}')
    u = torch.fft.fftfreq(h, device=device)[:, None]
    v = torch.fft.fftfreq(w, device=device)[None, :]
    return torch.exp(-(u**2 + v**2) / (2 * cutoff**2))


def lowpass_magnitude(grid: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Channel-summed magnitude of a Gaussian low-passed 2-D signal.

    ``m(y, x) = sum_c |IFFT2(H * FFT2(g_c))(y, x)|`` for a (B, C, h, w) grid.

    Returns:
        Tensor: (B, h, w), not normalised.
    """
    if grid.dim() != 4:
        raise ValueError(
            f'grid must have shape (B, C, h, w), got {tuple(grid.shape)}')
    h, w = grid.shape[-2:]
    spectrum = torch.fft.fft2(grid.float())
    filtered = torch.fft.ifft2(spectrum *
                               gaussian_lowpass(h, w, cutoff, grid.device))
    return filtered.abs().sum(dim=1)


def feature_frequency_weights(patch_tokens: torch.Tensor, hw, cutoff=0.25):
    """FAMT frequency weights from the last layer's patch tokens.

    The tokens are laid out on their (h, w) patch grid, every channel is
    low-passed with :func:`gaussian_lowpass` (``fft2`` over the grid), and
    the per-patch magnitude summed over channels is min-max normalised.
    Patches inside smooth, object-scale structures keep their energy;
    isolated, high-frequency responses (texture, clutter) are damped.

    Args:
        patch_tokens (Tensor): (B, N, C) with N = h * w (no [CLS]).
        hw (tuple[int, int]): the patch grid (h, w).
        cutoff (float): standard deviation of the Gaussian in cycles per
            patch; 0.5 is the Nyquist frequency.

    Returns:
        Tensor: (B, N) weights in [0, 1].
    """
    b, n, c = patch_tokens.shape
    h, w = hw
    if h * w != n:
        raise ValueError(f'patch grid {hw} does not hold {n} tokens')
    grid = patch_tokens.transpose(1, 2).reshape(b, c, h, w)
    return minmax_normalize(lowpass_magnitude(grid, cutoff).flatten(1))


def image_frequency_weights(images: torch.Tensor, patch_size: int,
                            cutoff=0.25):
    """Image-domain alternative: low-pass the grey image, pool per patch.

    ``g = mean_c(img)``; ``m = |IFFT2(H * FFT2(g))|`` on the pixel grid with
    ``cutoff`` in cycles per *patch* (``cutoff / patch_size`` per pixel);
    the per-patch mean of ``m`` is min-max normalised.

    Args:
        images (Tensor): (B, C, H, W), H and W divisible by ``patch_size``.

    Returns:
        Tensor: (B, N) weights in [0, 1], N = (H / p) * (W / p).
    """
    b, _, height, width = images.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {(height, width)} is not divisible by '
                         f'patch_size={patch_size}')
    grey = images.float().mean(dim=1, keepdim=True)
    magnitude = lowpass_magnitude(grey, cutoff / patch_size)
    pooled = torch.nn.functional.avg_pool2d(magnitude[:, None], patch_size)
    return minmax_normalize(pooled.flatten(1))


def fuse_weights(attn_w, freq_w, mode='famt', alpha=0.5):
    """Fuse attention and frequency weights, both (B, N) in [0, 1].

    - ``'famt'``: ``a_w * f_w`` (the method's product fusion, default);
    - ``'attention'``: ``a_w`` (AMT);
    - ``'frequency'``: ``f_w``;
    - ``'sum'``: ``alpha * a_w + (1 - alpha) * f_w``.

    The result is min-max normalised per image.
    """
    if mode not in FUSION_MODES:
        raise ValueError(
            f'fusion mode {mode!r} is not one of {FUSION_MODES}')
    if mode == 'attention':
        fused = attn_w
    elif mode == 'frequency':
        fused = freq_w
    elif mode == 'famt':
        fused = attn_w * freq_w
    else:
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        fused = alpha * attn_w + (1 - alpha) * freq_w
    return minmax_normalize(fused)
