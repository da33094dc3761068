"""The training step never reads a value back from the device.

On the ``meta`` device every ``.item()``, ``int(tensor)``, ``bool(tensor)``
and data-dependent shape raises, so a full FAMT loss that runs there has
no host synchronisation; on a CUDA machine the same step also runs under
``torch.cuda.set_sync_debug_mode('error')``.
"""
import os.path as osp

import pytest
import torch

from .conftest import CONFIGS, TINY_ARCH, weight_samples

IN1K = {
    'mae': ('mae', 'famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py',
            dict(embed_dim=32, decoder_embed_dim=32, decoder_depth=1,
                 decoder_num_heads=2)),
    'simmim': ('simmim',
               'famt-simmim_vit-base-p16_8xb256-amp-coslr-200e_in1k.py',
               dict(in_channels=32)),
}


def tiny_in1k_model(algo):
    """The in1k config's model with a tiny ViT (224 px, 14 x 14 grid)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import famt_mm  # noqa: F401
    family, name, neck = IN1K[algo]
    cfg = Config.fromfile(osp.join(CONFIGS, 'pretrain', family, name))
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.neck.update(neck)
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model)


def test_meta_tensors_refuse_host_reads():
    x = torch.empty(4, device='meta')
    with pytest.raises(Exception):
        int(x.sum())
    with pytest.raises(Exception):
        x[x > 0]


@pytest.mark.parametrize('algo', IN1K)
@pytest.mark.parametrize('phase', ['warmup', 'guided'])
def test_loss_runs_on_meta(algo, phase):
    model = tiny_in1k_model(algo).to('meta')
    model.set_mask_phase(phase)
    inputs = torch.empty(2, 3, 224, 224, device='meta')
    samples = weight_samples(torch.empty(2, 14, 14, device='meta'))
    loss = model.loss(inputs, samples)['loss']
    assert loss.device.type == 'meta' and loss.shape == ()


def test_public_generator_call_still_validates():
    from famt_mm.models.utils.mask_generator import FAMTMaskGenerator
    gen = FAMTMaskGenerator()
    with pytest.raises(ValueError, match='NaN'):
        gen(torch.full((1, 196), float('nan')))
    # The training path skips the value checks (no host read) ...
    gen(torch.empty(1, 196, device='meta'), check=False)
    # ... which a meta tensor proves: checking would need one.
    with pytest.raises(Exception):
        gen(torch.empty(1, 196, device='meta'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('algo', IN1K)
def test_cuda_step_has_no_sync(algo):
    model = tiny_in1k_model(algo).cuda()
    inputs = torch.randn(2, 3, 224, 224, device='cuda')
    samples = [s.to('cuda') for s in weight_samples(torch.rand(2, 14, 14))]
    for phase in ('warmup', 'guided'):
        model.set_mask_phase(phase)
        model.loss(inputs, samples)  # warm the allocator and kernels
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode('error')
        try:
            with torch.autocast('cuda', dtype=torch.bfloat16):
                loss = model.loss(inputs, samples)['loss']
            loss.backward()
        finally:
            torch.cuda.set_sync_debug_mode('default')
