"""Per-patch weights: attention (AMT), Fourier low-pass (FAMT), fusion.

Plain tensor functions, batched, no model state. The cues keep their own
scale (attention in [0, 1], frequency as a ratio to the image mean, about
1 +- 0.1); the fused weight is divided by its image maximum and floored at
:data:`WEIGHT_FLOOR`, so every patch keeps a chance of every role. See
``docs/method.md`` for the formulas and where they depart from the papers
and the authors' code.
"""
import torch

# Smallest fused weight, relative to the image maximum. Per-head min-max
# can give a patch a head mean of exactly 0 (every head's minimum); with
# weight 0 weighted sampling would place it last in every draw, i.e. make
# it visible every time. 0.01 keeps it unlikely to be masked, not excluded.
WEIGHT_FLOOR = 0.01


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


def max_normalize(x: torch.Tensor, floor: float = WEIGHT_FLOOR,
                  eps: float = 1e-12):
    """``max(x / max(x), floor)`` per row of a (B, N) tensor: in
    [floor, 1], ranks and ratios above the floor kept (never the minimum
    subtracted). A row without a positive entry becomes all ones."""
    hi = x.amax(dim=-1, keepdim=True)
    out = (x / hi.clamp_min(eps)).clamp_min(floor)
    return torch.where(hi > eps, out, torch.ones_like(out))


def ratio_to_mean(x: torch.Tensor, eps: float = 1e-12):
    """``x / mean(x)`` per row of a (B, N) tensor (a flat row becomes all
    ones, a row of zeros too)."""
    mean = x.mean(dim=-1, keepdim=True)
    return torch.where(mean > eps, x / mean.clamp_min(eps),
                       torch.ones_like(x))


def attention_weights(cls_attn: torch.Tensor) -> torch.Tensor:
    """AMT weights from the last layer's [CLS] attention.

    ``a_w = mean_h minmax_N(A_h[cls, patches])``: each head's CLS->patch
    attention row is min-max normalised over the N patches, then the heads
    are averaged, as in the authors' code (no second min-max: the mean's
    minimum stays above 0 unless every head has its minimum on one patch).

    Args:
        cls_attn (Tensor): (B, H, N) CLS->patch attention (the [CLS] row of
            each head's softmax attention, without its CLS->CLS element),
            or, for backbones without [CLS], the attention each patch
            receives (see :func:`famt_mm.models.utils.cues.swin_cues`).

    Returns:
        Tensor: (B, N) weights in [0, 1].
    """
    if cls_attn.dim() != 3:
        raise ValueError('cls_attn must have shape (B, heads, N), got '
                         f'{tuple(cls_attn.shape)}')
    return minmax_normalize(cls_attn.float(), dim=-1).mean(dim=1)


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
    the per-patch magnitude summed over channels is divided by its image
    mean: ``f = m / mean(m)``. Patches inside smooth, object-scale
    structures keep their energy (f > 1); isolated, high-frequency
    responses (texture, clutter) are damped (f < 1). The ratio keeps the
    cue's own contrast, so a flat map (f = 1) leaves FAMT = AMT.

    Args:
        patch_tokens (Tensor): (B, N, C) with N = h * w (no [CLS]).
        hw (tuple[int, int]): the patch grid (h, w).
        cutoff (float): standard deviation of the Gaussian in cycles per
            patch; 0.5 is the Nyquist frequency.

    Returns:
        Tensor: (B, N) positive weights with mean 1 per image.
    """
    b, n, c = patch_tokens.shape
    h, w = hw
    if h * w != n:
        raise ValueError(f'patch grid {hw} does not hold {n} tokens')
    grid = patch_tokens.transpose(1, 2).reshape(b, c, h, w)
    return ratio_to_mean(lowpass_magnitude(grid, cutoff).flatten(1))


def nyquist_notch(n: int, sigma: float, device=None) -> torch.Tensor:
    """The public FAMT-labelled code's filter on an unshifted 1-D ``fft``
    of ``n`` tokens: ``H(k) = 1 - exp(-(k - (n - 1) / 2)^2 / (2 (sigma
    n)^2))`` for bins k = 0 .. n - 1, i.e. one minus a Gaussian of ``sigma``
    cycles per token centred on the Nyquist bin. Returns (n, ) float32."""
    if not 0 < sigma:
        raise ValueError(f'sigma must be > 0 (cycles per token), got {sigma}')
    k = torch.arange(n, device=device, dtype=torch.float32)
    return 1 - torch.exp(-(k - (n - 1) / 2)**2 / (2 * (sigma * n)**2))


def raster_frequency_weights(patch_tokens: torch.Tensor,
                             sigma: float = 0.075) -> torch.Tensor:
    """The public FAMT-labelled code's frequency cue, to reproduce its
    weights (``FAMTHook(frequency_filter='nyquist_notch')``).

    Every channel of the tokens is filtered along the 1-D raster token
    order with :func:`nyquist_notch` (``fft`` over N, not over the 2-D
    grid); the per-token magnitude summed over channels is divided by the
    image's mean *unfiltered* magnitude (also summed over channels):
    ``f(n) = sum_c |IFFT(H * FFT(x_c))(n)| / mean_n sum_c |x_c(n)|``.
    It removes only the top of the spectrum (see ``docs/method.md``).

    Args:
        patch_tokens (Tensor): (B, N, C), no [CLS].
        sigma (float): the Gaussian's sigma in cycles per token (the public
            code's 0.075).

    Returns:
        Tensor: (B, N) positive weights (mean about 1, not exactly).
    """
    tokens = patch_tokens.float()
    spectrum = torch.fft.fft(tokens, dim=1)
    notch = nyquist_notch(tokens.shape[1], sigma, tokens.device)
    filtered = torch.fft.ifft(spectrum * notch[None, :, None], dim=1)
    magnitude = filtered.abs().sum(dim=-1)
    scale = tokens.abs().sum(dim=-1).mean(dim=1, keepdim=True)
    return magnitude / scale.clamp_min(1e-12)


def image_frequency_weights(images: torch.Tensor, patch_size: int,
                            cutoff=0.25):
    """Image-domain alternative: low-pass the grey image, pool per patch.

    ``g = mean_c(img)``; ``m = |IFFT2(H * FFT2(g))|`` on the pixel grid with
    ``cutoff`` in cycles per *patch* (``cutoff / patch_size`` per pixel);
    the per-patch mean of ``m`` divided by its image mean.

    Args:
        images (Tensor): (B, C, H, W), H and W divisible by ``patch_size``.

    Returns:
        Tensor: (B, N) weights with mean 1 per image, N = (H / p) * (W / p).
    """
    b, _, height, width = images.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f'image size {(height, width)} is not divisible by '
                         f'patch_size={patch_size}')
    grey = images.float().mean(dim=1, keepdim=True)
    magnitude = lowpass_magnitude(grey, cutoff / patch_size)
    pooled = torch.nn.functional.avg_pool2d(magnitude[:, None], patch_size)
    return ratio_to_mean(pooled.flatten(1))


# name -> fusion(attn_w, freq_w, **kwargs) -> (B, N) weights >= 0, before
# max_normalize. A new fusion is one @register_fusion('name') function; its
# name becomes a FAMTHook ``mode`` and a CueSettings ``fusion``.
FUSIONS = {}


def register_fusion(name: str):
    """Decorator: add a fusion function under ``name``."""
    def add(fusion):
        FUSIONS[name] = fusion
        return fusion
    return add


@register_fusion('famt')
def product_fusion(attn_w, freq_w):
    """``a_w * f`` (the method's product fusion, the default): the
    frequency ratio scales attention up or down by its own contrast."""
    return attn_w * freq_w


@register_fusion('attention')
def attention_fusion(attn_w, freq_w):
    """``a_w`` (AMT)."""
    return attn_w


@register_fusion('frequency')
def frequency_fusion(attn_w, freq_w):
    """``f`` alone."""
    return freq_w


@register_fusion('sum')
def sum_fusion(attn_w, freq_w, alpha=0.5):
    """``alpha * a_w / max(a_w) + (1 - alpha) * f / max(f)``."""
    if not 0 <= alpha <= 1:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    return (alpha * max_normalize(attn_w, floor=0) +
            (1 - alpha) * max_normalize(freq_w, floor=0))


def fuse_weights(attn_w, freq_w, mode='famt', floor=WEIGHT_FLOOR, **kwargs):
    """Fuse attention weights (B, N) in [0, 1] and frequency ratios (B, N)
    with the fusion registered as ``mode`` (:data:`FUSIONS`; ``kwargs``,
    e.g. ``alpha`` for ``'sum'``, go to it). The result is divided by its
    image maximum and floored at ``floor`` (:func:`max_normalize`): in
    [floor, 1], no patch at exactly 0.
    """
    if mode not in FUSIONS:
        raise ValueError(
            f'fusion mode {mode!r} is not one of {tuple(FUSIONS)}')
    return max_normalize(FUSIONS[mode](attn_w, freq_w, **kwargs), floor)
