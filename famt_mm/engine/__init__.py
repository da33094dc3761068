"""Training-time machinery: the hooks, the refresh they run, the bf16
optimizer wrapper, and reading checkpoints back."""
from .hooks import EpochSeedHook, FAMTHook, SafeCheckpointHook
from .optimizers import BF16OptimWrapper

__all__ = [
    'EpochSeedHook', 'FAMTHook', 'SafeCheckpointHook', 'BF16OptimWrapper'
]
