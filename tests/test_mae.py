"""FAMT-MAE: which tokens reach the encoder and decoder, what the loss sees."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import famt_mm  # noqa: F401
from famt_mm.models.utils.mask_generator import mask_counts
from .conftest import CONFIGS, TINY_ARCH, weight_samples

CIFAR_CFG = osp.join(CONFIGS, 'pretrain', 'mae',
                     'famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')


@pytest.fixture
def model():
    cfg = Config.fromfile(CIFAR_CFG)
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.neck.update(embed_dim=32, decoder_embed_dim=32,
                          decoder_depth=1, decoder_num_heads=2)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def counts_of(model):
    """The FAMT generator's role counts on the model's patch grid."""
    return model.mask_generator.patch_counts(model.patch_grid)


def token_lengths(model, inputs, data_samples, seed=0):
    """Sequence length entering the first encoder and decoder block."""
    seen = {}
    hooks = [
        model.backbone.layers[0].register_forward_pre_hook(
            lambda m, a: seen.__setitem__('encoder', a[0].shape[1])),
        model.neck.decoder_blocks[0].register_forward_pre_hook(
            lambda m, a: seen.__setitem__('decoder', a[0].shape[1])),
    ]
    torch.manual_seed(seed)
    model.loss(inputs, data_samples)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize('phase,ratios', [('guided', (0.45, 0.40)),
                                          ('warmup', (0.75, 0.0))])
def test_encoder_and_decoder_token_counts(model, phase, ratios):
    model.set_mask_phase(phase)
    n_mask, n_throw, n_vis = mask_counts(64, *ratios)
    seen = token_lengths(model, torch.rand(2, 3, 32, 32),
                         weight_samples(torch.rand(2, 8, 8) + 0.1))
    assert seen == dict(encoder=1 + n_vis, decoder=1 + n_vis + n_mask)
    if phase == 'guided':
        assert (n_mask, n_throw, n_vis) == (28, 26, 10)


def loss_for(model, images, weights, seed=0):
    torch.manual_seed(seed)
    return model.loss(images, weight_samples(weights))['loss']


def test_thrown_patches_reach_nothing(model):
    """Changing the pixels of thrown patches changes nothing at all; the
    visible ones feed the encoder and the masked ones are the target."""
    model.set_mask_phase('guided')
    images = torch.rand(2, 3, 32, 32)
    weights = torch.rand(2, 8, 8) + 0.1
    torch.manual_seed(0)
    mask = model.mask_generator(weights).reshape(2, 8, 8)

    def perturbed(role):
        out = images.clone()
        pixels = (mask == role).repeat_interleave(4, 1).repeat_interleave(
            4, 2)[:, None].expand_as(out)
        out[pixels] = torch.rand(int(pixels.sum()))
        return out

    base = loss_for(model, images, weights)
    assert torch.equal(loss_for(model, perturbed(-1), weights), base)
    assert not torch.allclose(loss_for(model, perturbed(0), weights), base)
    assert not torch.allclose(loss_for(model, perturbed(1), weights), base)


def test_decoder_uses_the_kept_slots_position_embeddings(model):
    model.set_mask_phase('guided')
    images = torch.rand(1, 3, 32, 32)
    mask = model.mask_generator(torch.rand(1, 64) + 0.1)
    latent, _, ids_kept = model.backbone(images, mask, counts_of(model))
    kept = set(ids_kept[0].tolist())
    assert kept == set((mask[0] != -1).nonzero().flatten().tolist())
    pred = model.neck(latent, ids_kept)
    assert pred.shape == (1, 10 + 28, 4 * 4 * 3)


def test_loss_is_mae_loss_on_masked_patches(model):
    """Against a direct computation: norm-pix MSE over masked patches."""
    model.set_mask_phase('guided')
    images = torch.rand(2, 3, 32, 32)
    weights = torch.rand(2, 8, 8) + 0.1
    torch.manual_seed(3)
    mask = model.mask_generator(weights)
    latent, _, ids_kept = model.backbone(images, mask, counts_of(model))
    pred = model.neck(latent, ids_kept)
    target = images.reshape(2, 3, 8, 4, 8, 4).permute(0, 2, 4, 3, 5, 1)
    target = target.reshape(2, 64, 48)
    target = (target - target.mean(-1, keepdim=True)) / (
        target.var(-1, keepdim=True) + 1e-6)**.5
    target_kept = torch.gather(target, 1,
                               ids_kept[..., None].expand(-1, -1, 48))
    is_masked = torch.gather(mask, 1, ids_kept) == 1
    expected = ((pred - target_kept)**2).mean(-1)[is_masked].mean()
    got = loss_for(model, images, weights, seed=3)
    torch.testing.assert_close(got, expected)


def test_training_without_hook_fails_clearly(model):
    with pytest.raises(RuntimeError,
                       match=r"custom_hooks = \[dict\(type='FAMTHook'\)\]"):
        model.loss(torch.rand(1, 3, 32, 32),
                   weight_samples(torch.rand(1, 8, 8)))


def test_missing_weights_in_data_samples(model):
    model.set_mask_phase('guided')
    with pytest.raises(KeyError, match='LoadFAMTWeights'):
        model.loss(torch.rand(1, 3, 32, 32), [DataSample()])


def test_wrong_weight_grid(model):
    model.set_mask_phase('guided')
    with pytest.raises(ValueError, match=r'grid \(4, 4\).*expects \(8, 8\)'):
        model.loss(torch.rand(1, 3, 32, 32),
                   weight_samples(torch.rand(1, 4, 4)))


def test_unmasked_forward_is_plain_vit(model):
    out = model.extract_feat(torch.rand(2, 3, 32, 32))
    assert out[0].shape == (2, 65, 32)  # [CLS] + 64 patch tokens, raw
