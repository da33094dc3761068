"""What every FAMT algorithm shares: two mask generators and the phase."""
from typing import List, Tuple

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ...utils.contract import MASKED, THROWN, WEIGHTS_KEY

# 'guided': mask_generator on the batch's weights; 'uniform': the same
# generator and counts on uniform weights; 'uniform_nothrow': that draw with
# its thrown patches masked instead (random masking at the guided visible
# count). The last two are FAMTHook's control modes.
MASK_PHASES = ('warmup', 'guided', 'uniform', 'uniform_nothrow')


class FAMTMaskingMixin:
    """Mask sampling for an algorithm with a ``backbone``.

    ``mask_phase`` is ``'warmup'`` (random masking with
    ``warmup_mask_generator``), ``'guided'`` (``mask_generator`` on the
    batch's ``famt_weights``), or a control (:data:`MASK_PHASES`).
    ``FAMTHook`` sets it before every epoch; it starts as None so that
    training without the hook fails loudly.
    """

    def init_masking(self, mask_generator: dict,
                     warmup_mask_generator: dict) -> None:
        """Build both generators; the phase starts unset. A generator that
        throws needs a backbone whose ``supports_throwing`` is True."""
        self.mask_generator = MODELS.build(mask_generator)
        self.warmup_mask_generator = MODELS.build(warmup_mask_generator)
        self.mask_phase = None
        throws = getattr(self.backbone, 'supports_throwing', False)
        for gen in (self.mask_generator, self.warmup_mask_generator):
            if gen.throw_ratio > 0 and not throws:
                raise ValueError(
                    f'{type(self.backbone).__name__} cannot drop tokens '
                    '(supports_throwing is not True), but a mask generator '
                    f'has throw_ratio={gen.throw_ratio}: set throw_ratio=0 '
                    'for masking only, or use a backbone that throws '
                    '(FAMTMAEViT, FAMTSimMIMViT)')

    def set_mask_phase(self, phase: str) -> None:
        """Switch to one of :data:`MASK_PHASES`."""
        if phase not in MASK_PHASES:
            raise ValueError(
                f'mask phase {phase!r} is not one of {MASK_PHASES}')
        self.mask_phase = phase

    @property
    def patch_grid(self):
        """(h, w) patch grid of the backbone's input size."""
        return tuple(self.backbone.patch_embed.init_out_size)

    @property
    def patch_size(self) -> int:
        """Side of a patch in pixels (the patch embedding's stride)."""
        return self.backbone.patch_embed.projection.stride[0]

    @property
    def input_size(self) -> Tuple[int, int]:
        """(H, W) in pixels that the patch grid covers."""
        return tuple(g * self.patch_size for g in self.patch_grid)

    def sample_mask(self, inputs: torch.Tensor,
                    data_samples: List[DataSample]) -> Tuple[torch.Tensor,
                                                             tuple]:
        """(B, N) int8 mask code for this batch (1 masked, -1 thrown,
        0 visible) and its role counts ``(n_mask, n_throw, n_visible)``.

        Nothing is read back from the device: the weights were validated
        where they were made (the refresh) or loaded (the weight file).
        """
        if self.mask_phase is None:
            raise RuntimeError(
                f'{type(self).__name__} has no mask phase: FAMTHook sets it. '
                "Add custom_hooks = [dict(type='FAMTHook')] to the config "
                "(or call model.set_mask_phase('warmup') for random "
                'masking without the hook)')
        grid = self.patch_grid
        if self.mask_phase != 'guided':
            generator = self.warmup_mask_generator \
                if self.mask_phase == 'warmup' else self.mask_generator
            mask = generator(inputs.new_ones(inputs.shape[0], *grid),
                             check=False)
            counts = generator.patch_counts(grid)
            if self.mask_phase == 'uniform_nothrow':
                mask = torch.where(mask == THROWN, MASKED, mask).to(mask.dtype)
                counts = (counts[0] + counts[1], 0, counts[2])
            return mask, counts
        if not data_samples or WEIGHTS_KEY not in data_samples[0]:
            raise KeyError(
                "the data samples have no 'famt_weights': add "
                "LoadFAMTWeights to the training pipeline and pack it with "
                "PackInputs(algorithm_keys=['famt_weights'])")
        weights = torch.stack([ds.famt_weights for ds in data_samples])
        if tuple(weights.shape[1:]) != grid:
            raise ValueError(
                f'famt_weights have grid {tuple(weights.shape[1:])} but the '
                f'backbone expects {grid}: set LoadFAMTWeights.patch_size to '
                'the model patch size and crop to the model input size')
        return (self.mask_generator(weights, check=False),
                self.mask_generator.patch_counts(grid))
