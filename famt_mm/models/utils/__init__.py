"""Per-patch weights -> masks: the cues, their fusion, the guidance
variants, the mask generator and the masks' statistics."""
from .cues import CueSettings, famt_weights
from .mask_generator import FAMTMaskGenerator, mask_counts, split_ids

__all__ = [
    'CueSettings', 'famt_weights', 'FAMTMaskGenerator', 'mask_counts',
    'split_ids'
]
