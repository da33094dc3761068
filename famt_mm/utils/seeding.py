"""Seeds that depend on (seed, epoch, rank, stream) only, and the seed
the ranks share (see :class:`famt_mm.engine.hooks.EpochSeedHook`)."""
import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info

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
