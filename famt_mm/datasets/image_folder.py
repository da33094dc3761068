"""An image folder decoded once into memory, for small-image pretraining.

On a GPU, a 32-px ViT-Tiny step consumes tens of thousands of images per
second; decoding a JPEG per sample then starves it. This keeps the decoded
images in one array (shared by forked dataloader workers) and starts the
pipeline after loading, so the FAMT crop, flip and weight transforms still
run per sample.
"""
import os

import numpy as np
from mmcv import imread
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS


def check_nonempty(paths) -> None:
    """A ValueError naming the zero-byte files among ``paths`` (OpenCV
    fails on them with a message that has no path)."""
    empty = [p for p in paths if os.path.getsize(p) == 0]
    if empty:
        raise ValueError(
            f'{len(empty)} empty (zero-byte) image file(s), e.g. {empty[0]}'
            '; remove or replace them')


def decode_image(path: str) -> np.ndarray:
    """The image at ``path`` (BGR, as ``LoadImageFromFile``), or a
    ValueError naming the file when it does not decode (OpenCV raises
    without a path for an empty file and returns None for other bytes)."""
    try:
        img = imread(path)
    except Exception as e:  # noqa: B902  cv2.error and friends
        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
    else:
        if img is not None:
            return img
        reason = 'not an image OpenCV can decode'
    size = os.path.getsize(path) if os.path.isfile(path) else None
    raise ValueError(f'cannot decode image {path} ({size} bytes: {reason}); '
                     'remove or re-encode it')


@DATASETS.register_module()
class InMemoryImageFolder(CustomDataset):
    """:class:`mmpretrain.datasets.CustomDataset` with its images decoded
    once (BGR, as ``LoadImageFromFile``). Leave ``LoadImageFromFile`` out
    of the pipeline: every sample already has ``img``, ``img_shape`` and
    ``ori_shape``. Same args as CustomDataset.
    """

    def full_init(self):
        """Load the file list, then decode every image."""
        if self._fully_initialized:
            return
        super().full_init()
        images = []
        for idx in range(len(self)):
            images.append(
                decode_image(super().get_data_info(idx)['img_path']))
        shapes = {img.shape for img in images}
        # One array when all sizes agree (workers share its pages).
        self.images = np.stack(images) if len(shapes) == 1 else images

    def get_data_info(self, idx: int) -> dict:
        """The sample's info with its decoded image."""
        info = super().get_data_info(idx)
        img = self.images[idx]
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return info
