"""FAMT-SimMIM: mask tokens in the encoder, thrown tokens out, Swin."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import famt_mm  # noqa: F401
from famt_mm.models.utils.mask_generator import mask_counts
from .conftest import CONFIGS, TINY_ARCH, tiny_famt_mae_cfg, weight_samples

SIMMIM_CFG = osp.join(
    CONFIGS, 'pretrain', 'simmim',
    'famt-simmim_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')
# A Swin whose last stage (2x2 tokens at 64 px) is one window of 2.
TINY_SWIN = dict(
    type='FAMTSimMIMSwinTransformer',
    arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
    img_size=64,
    stage_cfgs=dict(block_cfgs=dict(window_size=2)))


def counts_of(model):
    """The FAMT generator's role counts on the model's patch grid."""
    return model.mask_generator.patch_counts(model.patch_grid)


def tiny_simmim_cfg():
    cfg = Config.fromfile(SIMMIM_CFG)
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.neck.in_channels = 32
    return cfg


@pytest.fixture
def model():
    model = MODELS.build(tiny_simmim_cfg().model)
    model.init_weights()
    return model


def test_encoder_length_and_mask_tokens(model):
    model.set_mask_phase('guided')
    model.eval()  # no dropout: inspect exact token values
    images = torch.rand(2, 3, 32, 32)
    torch.manual_seed(0)
    mask = model.mask_generator(torch.rand(2, 8, 8) + 0.1)
    seen = {}
    handle = model.backbone.layers[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('x', a[0]))
    feats = model.backbone(images, mask, counts_of(model))
    handle.remove()
    n_throw = int((mask[0] == -1).sum())
    # 16 units of 2x2 patches: 7 masked, 4 thrown -> 16 patches thrown
    assert [u * 4 for u in mask_counts(16, 0.44, 0.26)] == [28, 16, 20]
    assert seen['x'].shape[1] == 1 + 64 - n_throw
    # Kept tokens are visible then masked, each in patch order.
    pos = model.backbone.pos_embed[0, 1:]
    ids_masked = (mask[0] == 1).nonzero().flatten()
    n_vis = int((mask[0] == 0).sum())
    masked_tokens = seen['x'][0, 1 + n_vis:]
    torch.testing.assert_close(
        masked_tokens, model.backbone.mask_token[0] + pos[ids_masked])
    # Thrown positions come back as zeros in the feature map.
    featmap = feats[0].flatten(2)[0]  # (C, N)
    thrown = (mask[0] == -1)
    assert (featmap[:, thrown] == 0).all()
    assert (featmap[:, ~thrown] != 0).any(dim=0).all()


def test_units_stay_whole(model):
    model.set_mask_phase('guided')
    mask, counts = model.sample_mask(torch.rand(4, 3, 32, 32),
                                     weight_samples(torch.rand(4, 8, 8)))
    assert counts == model.mask_generator.patch_counts((8, 8))
    assert [int((mask[0] == c).sum()) for c in (1, -1, 0)] == list(counts)
    blocks = mask.reshape(4, 4, 2, 4, 2)
    assert (blocks == blocks[:, :, :1, :, :1]).all()


def loss_for(model, images, weights, seed=0):
    torch.manual_seed(seed)
    return model.loss(images, weight_samples(weights))['loss']


def test_loss_sees_masked_pixels_only(model):
    model.set_mask_phase('guided')
    images = torch.rand(2, 3, 32, 32)
    weights = torch.rand(2, 8, 8) + 0.1
    torch.manual_seed(1)
    mask = model.mask_generator(weights).reshape(2, 8, 8)
    base = loss_for(model, images, weights, seed=1)

    def perturbed(role):
        out = images.clone()
        pix = (mask == role).repeat_interleave(4, 1).repeat_interleave(4, 2)
        out[pix[:, None].expand_as(out)] = 0.5
        return out

    # thrown pixels: neither input nor target
    assert torch.equal(loss_for(model, perturbed(-1), weights, 1), base)
    # Direct L1 over masked pixels of the decoder's reconstruction.
    torch.manual_seed(1)
    code = model.mask_generator(weights)
    rec = model.neck(model.backbone(images, code, counts_of(model))[0])
    pix = (code == 1).reshape(2, 8, 8).repeat_interleave(
        4, 1).repeat_interleave(4, 2)[:, None].expand_as(rec)
    torch.testing.assert_close(base, (rec - images).abs()[pix].mean())


def test_simmim_few_iterations_lower_the_loss(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, config=SIMMIM_CFG,
                            epochs=8, warmup=2, interval=2, times=6)
    cfg.model.neck.pop('embed_dim')  # MAE-decoder keys the helper sets
    for key in ('decoder_embed_dim', 'decoder_depth', 'decoder_num_heads'):
        cfg.model.neck.pop(key)
    cfg.model.neck.in_channels = 32
    runner = Runner.from_cfg(cfg)
    runner.train()
    history = runner.message_hub.get_scalar('train/loss').data[0]
    per_epoch = np.array(history).reshape(8, -1).mean(1)
    assert np.isfinite(per_epoch).all()
    assert per_epoch[-1] < 0.8 * per_epoch[0]
    assert osp.isfile(tmp_path / 'famt_weights' / 'epoch_6.npy')


def test_swin_masking_with_refresh(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, config=SIMMIM_CFG,
                            epochs=3, warmup=1, interval=1)
    cfg.model.backbone = TINY_SWIN
    cfg.model.neck = dict(type='SimMIMLinearDecoder', in_channels=128,
                          encoder_stride=32)
    for gen in ('mask_generator', 'warmup_mask_generator'):
        cfg.model[gen] = dict(type='FAMTMaskGenerator', mask_ratio=0.5,
                              throw_ratio=0.0, mask_unit=4)
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    pipeline[1].scale = 64  # FAMTRandomResizedCrop
    runner = Runner.from_cfg(cfg)
    runner.train()
    maps = np.load(tmp_path / 'famt_weights' / 'epoch_2.npy')
    assert maps.shape == (16, 2, 2)  # the last stage's single window
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())


def test_throwing_with_swin_is_refused():
    cfg = tiny_simmim_cfg()
    cfg.model.backbone = TINY_SWIN
    with pytest.raises(ValueError, match='FAMTSimMIMSwinTransformer cannot '
                       'drop tokens.*throw_ratio=0.26'):
        MODELS.build(cfg.model)


def test_swin_cues_need_a_single_last_window():
    from famt_mm.models.utils.cues import famt_weights
    swin = MODELS.build(dict(TINY_SWIN, img_size=128))  # last stage 4x4
    swin.eval()  # (SwinTransformer.train does not return self)
    with pytest.raises(ValueError, match='spans 4 windows'):
        famt_weights(swin, torch.rand(1, 3, 128, 128))
