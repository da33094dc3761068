from .checkpoint_hook import SafeCheckpointHook
from .epoch_seed_hook import EpochSeedHook
from .famt_hook import FAMTHook

__all__ = ['SafeCheckpointHook', 'EpochSeedHook', 'FAMTHook']
