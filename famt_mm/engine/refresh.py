"""The weight refresh as plain functions, for FAMTHook and the tools.

A refresh runs the current encoder once over the whole training set,
un-augmented, in eval mode without gradients, and turns its cues into one
fused weight map per image. These functions take a model and a data set,
not a runner: :func:`refresh_dataset` (the un-augmented view),
:func:`shard_loader` (this rank's part), :func:`compute_weights` (the
no-grad pass) and :func:`gather_weights` (every rank's part, in data set
order). ``FAMTHook`` schedules, persists and logs them.
"""
import copy
import math
import random
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import Compose, ConcatDataset, default_collate
from mmengine.dist import all_gather, get_dist_info
from mmengine.utils import ProgressBar
from mmpretrain.registry import TRANSFORMS
from torch.utils.data import DataLoader, Subset

from ..datasets.transforms import LoadFAMTWeights
from ..models.utils.cues import (CueSettings, batch_concentration,
                                 batch_weights, eval_mode, famt_weights)
from ..models.utils.mask_stats import concentration_label


def base_dataset(dataset):
    """The data set whose indices are ``sample_idx`` (wrappers such as
    RepeatDataset removed); an error if its samples have none, since FAMT
    finds each image's weights by it."""
    while True:
        if isinstance(dataset,
                      (ConcatDataset, torch.utils.data.ConcatDataset)):
            raise ValueError(
                'FAMT does not support ConcatDataset: its parts share '
                'sample indices. Merge the parts into one annotation file')
        if hasattr(dataset, 'pipeline') or not hasattr(dataset, 'dataset'):
            break
        dataset = dataset.dataset
    get_info = getattr(dataset, 'get_data_info', None)
    if get_info is None or 'sample_idx' not in get_info(0):
        raise TypeError(
            f'{type(dataset).__name__} does not give its samples a '
            "'sample_idx', which FAMT uses to find each image's weights: "
            'use a data set derived from mmengine.dataset.BaseDataset '
            '(all MMPretrain data sets are)')
    return dataset


def refresh_transforms(train_transforms, input_hw) -> list:
    """The un-augmented view of the refresh pass: the training pipeline's
    loading transforms, a resize of the whole image to the model input size
    (no crop, no flip), and packing."""
    loading = [
        t for t in train_transforms if type(t).__name__.startswith('Load')
        and not isinstance(t, LoadFAMTWeights)
    ]
    return loading + [
        TRANSFORMS.build(
            dict(type='Resize', scale=(input_hw[1], input_hw[0]),
                 interpolation='bicubic', backend='pillow')),
        TRANSFORMS.build(dict(type='PackInputs'))
    ]


def refresh_dataset(dataset, input_hw,
                    pipeline: Optional[Sequence[dict]] = None):
    """A shallow copy of the training set with the refresh pipeline
    (``pipeline`` configs, or :func:`refresh_transforms`)."""
    view = copy.copy(dataset)
    transforms = ([TRANSFORMS.build(t) for t in pipeline]
                  if pipeline is not None else refresh_transforms(
                      dataset.pipeline.transforms, input_hw))
    view.pipeline = Compose(transforms)
    return view


def check_refresh_input(dataset, input_hw) -> None:
    """A ValueError unless the refresh pipeline's first image is
    ``input_hw`` (H, W), the model's input size: checked before training,
    not found after the warm-up."""
    hw = tuple(dataset[0]['inputs'].shape[-2:])
    if hw != tuple(input_hw):
        raise ValueError(
            f'the refresh pipeline gives images of {hw[0]}x{hw[1]} but the '
            f'model takes {input_hw[0]}x{input_hw[1]}: end refresh_pipeline '
            f"with dict(type='Resize', scale=({input_hw[1]}, {input_hw[0]})) "
            'before PackInputs, or leave it out (the default resizes)')


def check_training_input(dataset, input_hw) -> None:
    """A ValueError unless the training pipeline's first sample is
    ``input_hw`` (H, W), the model's input size (checked before training:
    otherwise the first step fails inside the encoder). The random states
    are restored, so the check draws nothing from the run's streams."""
    states = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        hw = tuple(dataset[0]['inputs'].shape[-2:])
    random.setstate(states[0])
    np.random.set_state(states[1])
    if hw != tuple(input_hw):
        raise ValueError(
            f'the training pipeline gives images of {hw[0]}x{hw[1]} but the '
            f'model takes {input_hw[0]}x{input_hw[1]}: crop to the model '
            f'input size (e.g. FAMTRandomResizedCrop(scale={input_hw[1]}))')


def shard_loader(dataset, batch_size: int, num_workers: int) -> DataLoader:
    """This rank's images (rank, rank + world, ...), in order."""
    rank, world_size = get_dist_info()
    return DataLoader(
        Subset(dataset, range(rank, len(dataset), world_size)),
        batch_size=batch_size,
        num_workers=num_workers,
        shuffle=False,
        collate_fn=default_collate)


def compute_weights(model, loader, cues: CueSettings = CueSettings(),
                    amp=False, progress=False):
    """The no-grad pass over ``loader``.

    Returns:
        tuple: fused maps (n, h, w) float16 on the CPU, and per cue the
        (n, h * w) values (statistics for the log).
    """
    fused = []
    stats = {k: [] for k in ('attention', 'frequency', 'fused')}
    bar = ProgressBar(len(loader)) if progress else None
    with eval_mode(model):
        for batch in loader:
            out = batch_weights(model, batch, cues, amp)
            fused.append(out['fused'].half().cpu())
            for name, w in out.items():
                stats[name].append(w.float().flatten(1).cpu())
            if bar is not None:
                bar.update()
    if bar is not None:
        print(flush=True)  # end the progress bar's line
    stats = {k: torch.cat(v) for k, v in stats.items() if v}
    return (torch.cat(fused) if fused else None), stats


def weights_concentration(model, weights: np.ndarray,
                          max_images: int = 4096) -> dict:
    """The concentration of the masks the model's ``mask_generator`` draws
    from the maps training uses (:func:`batch_concentration`), averaged over
    at most ``max_images`` evenly spread images (the same on every rank)."""
    rows = np.linspace(0, len(weights) - 1,
                       min(len(weights), max_images)).round().astype(int)
    return batch_concentration(model, torch.from_numpy(weights[rows]))


def refresh_summary(stats: dict) -> str:
    """One log line of :func:`compute_weights`' statistics: per cue the
    mean, std and mean within-image range, then the masks' concentration
    (``stats['concentration']``, :func:`weights_concentration`)."""
    parts = []
    for name, w in stats.items():
        if name == 'concentration':
            continue
        # The spread within an image says how much a cue can move the
        # masks (the frequency ratio's is usually ~0.1).
        spread = (w.amax(1) - w.amin(1)).mean()
        parts.append(f'{name} mean {w.mean():.3f} std {w.std():.3f} '
                     f'range {spread:.3f}')
    if 'concentration' in stats:
        # How model-driven the masks are: see famt_mm.models.utils.mask_stats.
        parts.append('masks: ' + concentration_label(
            stats['concentration']).replace('\n', ', '))
    return '; '.join(parts)


def gather_weights(shard: Optional[torch.Tensor], num_images: int,
                   grid: Tuple[int, int]) -> np.ndarray:
    """Every rank's shard (rank-strided, see :func:`shard_loader`) -> the
    complete (num_images, h, w) float16 array, on every rank."""
    if shard is None:
        shard = torch.zeros(0, *grid).half()
    if tuple(shard.shape[1:]) != tuple(grid):  # before a DDP gather hangs
        raise ValueError(f'the refresh made maps of {tuple(shard.shape[1:])} '
                         f'but the weight grid is {tuple(grid)}: the refresh '
                         'images are not the model input size')
    rank, world_size = get_dist_info()
    if world_size == 1:
        return shard.numpy()
    per_rank = math.ceil(num_images / world_size)
    padded = shard.new_zeros(per_rank, *grid)
    padded[:len(shard)] = shard
    full = np.zeros((num_images, *grid), dtype=np.float16)
    for r, part in enumerate(all_gather(padded)):
        count = len(range(r, num_images, world_size))
        full[r::world_size] = part[:count].cpu().numpy()
    return full


def map_grid(model, input_hw) -> Tuple[int, int]:
    """Grid of the weight maps (the ViT patch grid; the last stage's grid
    for Swin), from one dry run at the input size."""
    probe = next(model.parameters()).new_zeros(1, 3, *input_hw)
    with eval_mode(model):
        out = famt_weights(model.backbone, probe)
    return tuple(out['fused'].shape[1:])
