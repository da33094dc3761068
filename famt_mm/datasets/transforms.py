"""Data-pipeline side of FAMT: weight maps that follow crops and flips.

Each image's weight map lives on the patch grid of the *un-augmented*
image (the whole image resized to the input size). Geometric transforms
record which part of the original image the current image shows (its
*view*); :class:`LoadFAMTWeights` then averages the map over the region of
every output patch, exactly, treating the map as constant over each cell.
This replaces the authors' crop code, which divides pixel coordinates by
the whole image size and so nearly always reads the map's top-left corner.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform, RandomFlip
from mmcv.transforms.utils import cache_randomness
from mmpretrain.datasets.transforms import RandomResizedCrop
from mmpretrain.registry import TRANSFORMS

from ..utils.checks import check_int
from ..utils.contract import FULL_VIEW, VIEW_KEY, WEIGHTS_KEY
from .weight_files import FAMTWeightStore


def crop_view(view, box, size):
    """Compose a view with a crop of the current image.

    Args:
        view (tuple): ``(x0, y0, x1, y1)``: original-image coordinates in
            [0, 1] of the current image's left, top, right and bottom edges
            (x0 > x1 after a horizontal flip).
        box (tuple): ``(left, top, right, bottom)`` crop in current pixels.
        size (tuple): current image ``(height, width)``.
    """
    x0, y0, x1, y1 = view
    left, top, right, bottom = box
    h, w = size
    return (x0 + (x1 - x0) * left / w, y0 + (y1 - y0) * top / h,
            x0 + (x1 - x0) * right / w, y0 + (y1 - y0) * bottom / h)


def flip_view(view, direction: str):
    """Compose a view with a flip ('horizontal', 'vertical', 'diagonal')."""
    x0, y0, x1, y1 = view
    if direction in ('horizontal', 'diagonal'):
        x0, x1 = x1, x0
    if direction in ('vertical', 'diagonal'):
        y0, y1 = y1, y0
    return (x0, y0, x1, y1)


def _overlap_matrix(start: float, end: float, n_out: int, n_cells: int):
    """(n_out, n_cells): share of each output cell covered by each map cell.

    Output cell ``i`` spans ``[start, end]`` split in ``n_out`` equal parts
    (in original coordinates; ``start > end`` when flipped); map cell ``k``
    spans ``[k / n_cells, (k + 1) / n_cells]``.
    """
    edges = start + (end - start) * np.arange(n_out + 1) / n_out
    lo = np.minimum(edges[:-1], edges[1:])[:, None]
    hi = np.maximum(edges[:-1], edges[1:])[:, None]
    cells = np.arange(n_cells + 1) / n_cells
    overlap = (np.minimum(hi, cells[None, 1:]) -
               np.maximum(lo, cells[None, :-1]))
    return np.clip(overlap, 0, None) / (hi - lo)


def pool_view(weight_map: np.ndarray, view, grid) -> np.ndarray:
    """Area-average of ``weight_map`` over each output patch of ``view``.

    Args:
        weight_map (ndarray): (h0, w0) map over the whole original image.
        view (tuple): ``(x0, y0, x1, y1)``, see :func:`crop_view`.
        grid (tuple): output patch grid ``(h, w)``.

    Returns:
        ndarray: (h, w) float32 per-patch weights.
    """
    x0, y0, x1, y1 = view
    rows = _overlap_matrix(y0, y1, grid[0], weight_map.shape[0])
    cols = _overlap_matrix(x0, x1, grid[1], weight_map.shape[1])
    return (rows @ weight_map.astype(np.float64) @ cols.T).astype(np.float32)


def pool_to_grid(maps: torch.Tensor, grid) -> torch.Tensor:
    """:func:`pool_view` of the whole image for a batch of maps: (B, h0, w0)
    -> (B, h, w), e.g. Swin's last-stage weights to its patch grid."""
    rows = torch.from_numpy(
        _overlap_matrix(0.0, 1.0, grid[0], maps.shape[1])).to(maps)
    cols = torch.from_numpy(
        _overlap_matrix(0.0, 1.0, grid[1], maps.shape[2])).to(maps)
    return rows @ maps @ cols.T


@TRANSFORMS.register_module()
class LoadFAMTWeights(BaseTransform):
    """Add this image's per-patch FAMT weights, following crops and flips.

    Looks up the weight map of ``results['sample_idx']`` in the
    :class:`FAMTWeightStore` named ``store`` (where ``FAMTHook``'s
    archive publishes them), restricts it to the view recorded by
    :class:`FAMTRandomResizedCrop` / :class:`FAMTRandomFlip` and averages
    it over each output patch. Before the first refresh (the warm-up) the
    weights are uniform. Put it after the geometric transforms and pack it
    with ``PackInputs(algorithm_keys=['famt_weights'])``.

    Added key: ``famt_weights``, float32 tensor (H / p, W / p).

    Args:
        store (str): the store's name; the same as ``FAMTHook(store=...)``.
            Defaults to 'famt'.
        patch_size (int, optional): the model's patch size in pixels.
            Leave it out: ``FAMTHook`` publishes the model's; a given value
            must match the model.
    """

    def __init__(self, store: str = 'famt',
                 patch_size: Optional[int] = None):
        self.patch_size = check_int('patch_size', patch_size, 1,
                                    optional=True)
        self.store = FAMTWeightStore.named(store)

    def transform(self, results: dict) -> dict:
        """Add ``famt_weights`` (H / p, W / p) for ``results['img']``."""
        h, w = results['img'].shape[:2]
        p = self.patch_size or self.store.patch_size
        if p is None:
            raise ValueError(
                'LoadFAMTWeights has no patch size: FAMTHook publishes the '
                "model's; without the hook pass patch_size=...")
        if h % p or w % p:
            raise ValueError(f'image size {(h, w)} is not divisible by '
                             f'patch_size={p}; resize or crop to a multiple')
        grid = (h // p, w // p)
        maps = self.store.maps()
        if maps is None:
            weights = np.ones(grid, dtype=np.float32)
        else:
            if 'sample_idx' not in results:
                raise KeyError(
                    "LoadFAMTWeights needs results['sample_idx'], which "
                    "mmengine's BaseDataset.get_data_info adds; use a data "
                    'set derived from mmengine.dataset.BaseDataset')
            idx = results['sample_idx']
            if not 0 <= idx < len(maps):
                raise IndexError(
                    f'sample_idx {idx} is outside the weight file '
                    f'{self.store.path}, which holds {len(maps)} maps')
            weights = pool_view(maps[idx], results.get(VIEW_KEY, FULL_VIEW),
                                grid)
        results[WEIGHTS_KEY] = torch.from_numpy(weights)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(store={self.store.instance_name!r}, '
                f'patch_size={self.patch_size})')


@TRANSFORMS.register_module()
class FAMTRandomResizedCrop(RandomResizedCrop):
    """:class:`mmpretrain.datasets.RandomResizedCrop` that records its crop
    in ``results['famt_view']`` so the FAMT weights follow it. Same args."""

    def __init__(self, scale, **kwargs):
        sizes = scale if isinstance(scale, (tuple, list)) else (scale, )
        if not all(isinstance(v, int) and v > 0 for v in sizes):
            # the parent asserts without a message
            raise ValueError(f'FAMTRandomResizedCrop scale must be an int > '
                             f'0 or a (w, h) of them, got {scale!r}')
        super().__init__(scale, **kwargs)

    @cache_randomness
    def rand_crop_params(self, img: np.ndarray):
        """The parent's draw (top, left, height, width), remembered."""
        # Keep the draw that super().transform is about to use. (mmcv's
        # cache_random_params cannot be used here: RandomResizedCrop lists
        # this method twice in _methods_with_randomness, so every use of
        # the context nests one more wrapper until recursion overflows.)
        self._last_crop = super().rand_crop_params(img)
        return self._last_crop

    def transform(self, results: dict) -> dict:
        """Crop and resize as the parent; record the crop in the view."""
        size = results['img'].shape[:2]
        results = super().transform(results)
        top, left, height, width = self._last_crop
        results[VIEW_KEY] = crop_view(
            results.get(VIEW_KEY, FULL_VIEW),
            (left, top, left + width, top + height), size)
        return results


@TRANSFORMS.register_module()
class FAMTRandomFlip(RandomFlip):
    """:class:`mmcv.transforms.RandomFlip` that records its flip in
    ``results['famt_view']`` so the FAMT weights follow it. Same args."""

    def __init__(self, prob=None, direction='horizontal', **kwargs):
        directions = ('horizontal', 'vertical', 'diagonal')
        probs = prob if isinstance(prob, (list, tuple)) else [prob]
        dirs = direction if isinstance(direction, (list, tuple)) else [
            direction]
        if not all(p is None or (isinstance(p, (int, float))
                                 and 0 <= p <= 1) for p in probs):
            raise ValueError(f'FAMTRandomFlip prob must be in [0, 1] (or a '
                             f'list of such), got {prob!r}')
        if not all(d in directions for d in dirs):
            raise ValueError(f'FAMTRandomFlip direction must be one of '
                             f'{directions} (or a list), got {direction!r}')
        super().__init__(prob, direction, **kwargs)

    def transform(self, results: dict) -> dict:
        """Flip as the parent; record the flip in the view."""
        results = super().transform(results)
        if results.get('flip'):
            results[VIEW_KEY] = flip_view(
                results.get(VIEW_KEY, FULL_VIEW), results['flip_direction'])
        return results


GEOMETRIC = ('Crop', 'Flip', 'Resize', 'Rotate', 'Affine')


def check_weight_pipeline(dataset, store: FAMTWeightStore,
                          patch_size: int) -> None:
    """Refuse a training pipeline whose weights would not reach the model
    or not follow the image: no :class:`LoadFAMTWeights`, one reading
    another store or configured with another patch size, crops or flips
    before it that do not record what they did, anything geometric after
    it."""
    transforms: Sequence = getattr(getattr(dataset, 'pipeline', None),
                                   'transforms', [])
    loaders = [i for i, t in enumerate(transforms)
               if isinstance(t, LoadFAMTWeights)]
    if not loaders:
        raise ValueError(
            f'the training pipeline of {type(dataset).__name__} has no '
            'LoadFAMTWeights; add dict(type="LoadFAMTWeights") '
            'after the crop and flip (use FAMTRandomResizedCrop and '
            'FAMTRandomFlip) and pack it with '
            'PackInputs(algorithm_keys=["famt_weights"])')
    loader = transforms[loaders[0]]
    if loader.store is not store:
        raise ValueError(
            f'LoadFAMTWeights reads the store {loader.store.instance_name!r} '
            f'but FAMTHook publishes to {store.instance_name!r}: give both '
            'the same store=... (or leave both out)')
    if loader.patch_size not in (None, patch_size):
        raise ValueError(
            f'LoadFAMTWeights(patch_size={loader.patch_size}) but the '
            f'backbone patches are {patch_size} px: leave patch_size out '
            "(FAMTHook publishes it) or set it to the model's")
    check_transform_order(transforms, loaders[0])


def check_transform_order(transforms: Sequence, loader_index: int) -> None:
    """Refuse a pipeline whose crops or flips the weights cannot follow."""
    famt = (FAMTRandomResizedCrop, FAMTRandomFlip)
    for i, t in enumerate(transforms):
        name = type(t).__name__
        if not any(word in name for word in GEOMETRIC):
            continue
        if i < loader_index and ('Crop' in name or 'Flip' in name) \
                and not isinstance(t, famt):
            raise ValueError(
                f'{name} (pipeline step {i}) does not record its crop or '
                'flip, so the FAMT weights would not follow the image: use '
                'FAMTRandomResizedCrop and FAMTRandomFlip before '
                'LoadFAMTWeights')
        if i > loader_index:
            raise ValueError(
                f'{name} (pipeline step {i}) comes after LoadFAMTWeights '
                f'(step {loader_index}), so the weights would not follow '
                'it: put LoadFAMTWeights after every crop, flip and resize')
