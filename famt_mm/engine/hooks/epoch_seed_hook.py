"""Random streams that depend on (seed, epoch, rank) only.

MMEngine seeds every dataloader worker with ``seed + worker id`` (no
epoch): without persistent workers every epoch then repeats epoch 0's
crops and flips, and with them a resumed process restarts the stream from
epoch 0's. Paired experiments need more: two runs that differ only in
their masks must see the same crops and flips, and a run interrupted and
resumed must see what an uninterrupted one sees. ``EpochSeedHook`` gives
the training data loader, before every epoch, a generator seeded from
(seed, epoch, rank), from which PyTorch derives each worker's ``random``,
NumPy and torch seeds (base seed + worker id), and reseeds the main
process (the masks' noise) from the same triple on a separate stream.
"""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from ...utils.seeding import DATA_STREAM, MODEL_STREAM, stream_seed


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Make each epoch's augmentation and mask noise a function of
    (``randomness.seed``, epoch, rank).

    Needs dataloader workers (``num_workers >= 1``, so that augmentation
    does not share the main process's stream with the masks) that are not
    persistent (they are re-created, and so re-seeded, every epoch).
    """

    priority = 'VERY_HIGH'  # before FAMTHook's refresh

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.num_workers < 1 or loader.persistent_workers:
            raise ValueError(
                'EpochSeedHook needs train_dataloader num_workers >= 1 and '
                'persistent_workers=False (got num_workers='
                f'{loader.num_workers}, persistent_workers='
                f'{loader.persistent_workers}): workers are then re-seeded '
                'every epoch, apart from the masks\' random stream')
        if runner.seed is None:
            raise ValueError('EpochSeedHook needs randomness=dict(seed=...)')
        # MMEngine's worker_init_fn would reseed every worker with
        # seed + worker id; PyTorch's own seeding from the generator stays.
        loader.worker_init_fn = None

    def before_train_epoch(self, runner) -> None:
        rank = get_rank()
        loader = runner.train_dataloader
        loader.generator = torch.Generator().manual_seed(
            stream_seed(runner.seed, runner.epoch, rank, DATA_STREAM))
        seed = stream_seed(runner.seed, runner.epoch, rank, MODEL_STREAM)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
