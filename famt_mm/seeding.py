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
from mmengine.dist import all_gather_object, get_dist_info, get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

DATA_STREAM, MODEL_STREAM = 0, 1


def shared_rank_seed(logger=None):
    """The seed every rank shares, or None when they differ (or there is
    one rank). With one seed on every GPU the mask noise is the same for
    sample j of every rank, dividing the masks' diversity per step by the
    world size; ``logger`` (if given) gets a warning saying how to fix it."""
    world_size = get_dist_info()[1]
    if world_size == 1:
        return None
    seeds = all_gather_object(torch.initial_seed())
    if len(set(seeds)) > 1:
        return None
    if logger is not None:
        logger.warning(
            f'FAMT: all {world_size} ranks have the random seed {seeds[0]}, '
            'so they draw identical masks for the same batch position; set '
            'randomness = dict(seed=..., diff_rank_seed=True) in the config')
    return seeds[0]


def stream_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """A 63-bit seed for one (seed, epoch, rank, stream)."""
    state = np.random.SeedSequence([seed, epoch, rank, stream])
    return int(state.generate_state(1, np.uint64)[0] >> np.uint64(1))


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
