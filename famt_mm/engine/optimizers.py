"""bfloat16 autocast for training on a CPU.

MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU, NPU or MLU;
CPUs with AVX512-BF16 / AMX run bfloat16 matmuls faster than float32.
bfloat16 has float32's exponent range, so no loss scaling is needed.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward passes run under bfloat16 autocast
    on the model's device (CPU or GPU); parameters, gradients and the
    optimiser stay float32."""

    @contextmanager
    def optim_context(self, model):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=torch.bfloat16):
            yield


def uses_autocast(optim_wrapper) -> bool:
    """Whether training runs under autocast (so should a refresh)."""
    from mmengine.optim import AmpOptimWrapper
    return isinstance(optim_wrapper, (AmpOptimWrapper, BF16OptimWrapper))
