"""Guidance controls: what a refresh's maps become before training uses them.

``FAMTHook(guidance=...)`` applies one of these to the complete
(num_images, h, w) array of max-normalised maps after every refresh, so
that the weight files, the pipeline and the masks all see the result:

- ``'direct'``: the maps as computed (the method).
- ``'inverse'``: each map's ranking reversed with its spread kept,
  ``w_min / w`` (max 1, min ``w_min``, as before): the high-weight patches
  become the likely visible ones (the direction MILAN and AttMask-Low take).
- ``'shuffled'``: image i gets another image's map (a random cycle through
  the data set, so no image keeps its own; a new one at every refresh,
  seeded by the run's seed and the epoch). The map still follows the
  image's own crop and flip: the same spatial statistics, no link to the
  image's content.

A new control is one function ``(maps, seed, epoch) -> maps`` added to
:data:`GUIDANCES`.
"""
from typing import Callable, Dict

import numpy as np

from ...utils.seeding import stream_seed

GUIDANCE_STREAM = 2  # stream_seed's stream for the shuffle (0, 1: seeding)


def direct_guidance(maps: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The maps as the refresh computed them."""
    return maps


def inverse_guidance(maps: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """(n, h, w) maps with each map's ranking reversed, ``w_min / w``: the
    ratio of its largest to its smallest weight is unchanged."""
    w = maps.astype(np.float32)
    low = w.reshape(len(w), -1).min(axis=1)[:, None, None]
    return (low / w).astype(maps.dtype)


def shuffle_sources(num_images: int, seed: int, epoch: int) -> np.ndarray:
    """(n,) source image of every image's map: one random cycle through
    all images (no image its own source), a function of (seed, epoch)."""
    if num_images < 2:
        raise ValueError("guidance='shuffled' needs at least 2 images, got "
                         f'{num_images}')
    rng = np.random.default_rng(stream_seed(seed, epoch, 0, GUIDANCE_STREAM))
    cycle = rng.permutation(num_images)
    sources = np.empty(num_images, dtype=np.int64)
    sources[cycle] = np.roll(cycle, -1)
    return sources


def shuffled_guidance(maps: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """(n, h, w) maps, image i given the map of ``shuffle_sources[i]``."""
    return maps[shuffle_sources(len(maps), seed, epoch)]


GUIDANCES: Dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = dict(
    direct=direct_guidance,
    inverse=inverse_guidance,
    shuffled=shuffled_guidance)
