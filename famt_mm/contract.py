"""The weight contract: what the hook, the pipeline and the models share.

- Mask codes: ``MASKED`` (1, reconstructed, in the loss), ``THROWN`` (-1,
  removed from encoder, decoder and loss), ``VISIBLE`` (0, seen by the
  encoder).
- Keys of a sample's results: ``famt_view`` (the part of the original
  image the current image shows, ``(x0, y0, x1, y1)`` in [0, 1], x0 > x1
  after a horizontal flip) and ``famt_weights`` (the per-patch weights of
  that view, packed into the data sample).
- :class:`FAMTWeightStore`: the per-image weight maps, published by
  ``FAMTHook`` and read by ``LoadFAMTWeights`` in every dataloader worker.

The patch grid has one owner too: the model (``patch_grid``); ``FAMTHook``
gives ``LoadFAMTWeights`` the model's patch size.
"""
import os
from typing import Optional

import numpy as np
import torch

MASKED, THROWN, VISIBLE = 1, -1, 0
VIEW_KEY = 'famt_view'
WEIGHTS_KEY = 'famt_weights'
FULL_VIEW = (0.0, 0.0, 1.0, 1.0)  # the whole original image


class FAMTWeightStore:
    """Per-image weight maps, visible to every dataloader worker.

    The maps are an ``.npy`` file of shape (num_images, h, w), memory-mapped
    read-only by each process, so all workers and ranks on a node share one
    copy in the page cache. The path and a version number sit in a small
    shared-memory tensor: :meth:`publish` in the main process makes every
    worker, persistent ones included, reopen the new file on its next sample.
    """

    _PATH_BYTES = 4096

    def __init__(self):
        self._version = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._path = torch.zeros(
            self._PATH_BYTES, dtype=torch.uint8).share_memory_()
        self._cache = (0, None)  # this process's (version, memmap)

    def publish(self, path: str) -> None:
        """Point every process at the maps in ``path`` (call between epochs,
        while the workers are idle)."""
        raw = os.path.abspath(path).encode()
        if len(raw) >= self._PATH_BYTES:
            raise ValueError(f'weight file path is too long: {path}')
        self._path.zero_()
        self._path[:len(raw)] = torch.frombuffer(
            bytearray(raw), dtype=torch.uint8)
        self._version += 1

    @property
    def path(self) -> Optional[str]:
        """The published file, or None before the first publish."""
        if int(self._version) == 0:
            return None
        raw = bytes(self._path.numpy())
        return raw[:raw.index(0)].decode()

    def maps(self) -> Optional[np.ndarray]:
        """The published maps (memory-mapped), or None."""
        version = int(self._version)
        if version == 0:
            return None
        if self._cache[0] != version:
            self._cache = (version, np.load(self.path, mmap_mode='r'))
        return self._cache[1]

    def __getstate__(self):
        # Workers get the shared tensors, never another process's memmap.
        state = self.__dict__.copy()
        state['_cache'] = (0, None)
        return state
