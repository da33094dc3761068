"""The control arms: each one config key, each doing what it says."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import famt_mm  # noqa: F401
from famt_mm.engine.hooks.famt_hook import FAMTHook
from famt_mm.models.utils.guidance import (inverse_guidance, shuffle_sources,
                                           shuffled_guidance)
from famt_mm.utils.contract import MASKED, THROWN, VISIBLE
from .conftest import CONFIGS, TINY_ARCH, tiny_famt_mae_cfg, weight_samples
from .test_hook import train

MAE_CFG = osp.join(
    CONFIGS, 'pretrain', 'mae',
    'famt-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py')
SIMMIM_CFG = osp.join(
    CONFIGS, 'pretrain', 'simmim',
    'famt-simmim_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')


def tiny_model(path):
    init_default_scope('mmpretrain')  # whatever an earlier test left
    cfg = Config.fromfile(path)
    cfg.model.backbone.arch = TINY_ARCH
    if cfg.model.type == 'FAMTMAE':
        cfg.model.neck.update(embed_dim=32, decoder_embed_dim=32,
                              decoder_depth=1, decoder_num_heads=2)
    else:
        cfg.model.neck.in_channels = 32
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def encoder_length(model, phase, weights, seed=0):
    """(mask, tokens entering the first encoder block) for one batch."""
    model.set_mask_phase(phase)
    seen = {}
    handle = model.backbone.layers[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('n', a[0].shape[1]))
    images = torch.rand(len(weights), 3, 32, 32)
    torch.manual_seed(seed)
    mask, counts = model.sample_mask(images, weight_samples(weights))
    model.loss(images, weight_samples(weights))
    handle.remove()
    return mask, counts, seen['n']


@pytest.mark.parametrize('path,guided,nothrow', [
    # MAE, 64 patches: 28 masked, 26 thrown, 10 visible; r = 54 / 64
    (MAE_CFG, (28, 26, 10), (54, 0, 10)),
    # SimMIM, 16 units of 2x2, rounded up: 8 / 5 / 3 units, patches x4
    (SIMMIM_CFG, (32, 20, 12), (52, 0, 12)),
])
def test_uniform_phases_keep_the_guided_budget(path, guided, nothrow):
    model = tiny_model(path)
    peaked = torch.full((4, 8, 8), 0.01)
    peaked[:, :2, :2] = 1.0  # would steer a guided draw
    mask, counts, _ = encoder_length(model, 'uniform', peaked)
    assert counts == guided
    # uniform: the guided generator's draw on uniform weights, whatever
    # the batch carries
    torch.manual_seed(0)
    ones = model.mask_generator(torch.ones(4, 8, 8))
    assert torch.equal(mask, ones)
    mask, counts, n_encoder = encoder_length(model, 'uniform_nothrow', peaked)
    assert counts == nothrow
    assert not (mask == THROWN).any()
    assert ((mask == MASKED).sum(1) == nothrow[0]).all()
    assert ((mask == VISIBLE).sum(1) == nothrow[2]).all()
    # the visible set is the uniform draw's: thrown slots became masked
    assert torch.equal(mask == VISIBLE, ones == VISIBLE)
    if model.backbone.__class__.__name__ == 'FAMTMAEViT':
        assert n_encoder == 1 + nothrow[2]
    else:  # SimMIM keeps masked slots as mask tokens, throws none
        assert n_encoder == 1 + 64


def test_inverse_reverses_the_ranking_and_keeps_the_spread():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0.05, 1.0, (5, 8, 8)).astype(np.float32)
    maps /= maps.reshape(5, -1).max(1)[:, None, None]
    inv = inverse_guidance(maps, seed=0, epoch=0)
    for m, i in zip(maps.reshape(5, -1), inv.reshape(5, -1)):
        assert np.array_equal(np.argsort(m), np.argsort(-i))  # no ties here
        assert i.max() == pytest.approx(1.0)
        assert i.max() / i.min() == pytest.approx(m.max() / m.min(),
                                                  rel=1e-5)


def test_shuffle_is_another_images_map_and_new_every_refresh():
    maps = np.arange(50, dtype=np.float16)[:, None, None] * np.ones((8, 8))
    sources = shuffle_sources(50, seed=3, epoch=4)
    assert sorted(sources) == list(range(50))  # a permutation
    assert (sources != np.arange(50)).all()  # nobody keeps their own
    np.testing.assert_array_equal(
        shuffled_guidance(maps, 3, 4)[:, 0, 0], maps[sources, 0, 0])
    assert np.array_equal(sources, shuffle_sources(50, 3, 4))  # seeded
    assert not np.array_equal(sources, shuffle_sources(50, 3, 5))
    assert not np.array_equal(sources, shuffle_sources(50, 4, 4))
    with pytest.raises(ValueError, match='at least 2 images, got 1'):
        shuffle_sources(1, 0, 0)


def test_guidance_needs_a_refreshing_mode():
    with pytest.raises(ValueError, match="guidance 'upside' is not one of"):
        FAMTHook(guidance='upside')
    with pytest.raises(ValueError, match="mode='uniform' has no refresh"):
        FAMTHook(mode='uniform', guidance='inverse')


@pytest.mark.parametrize('key', ['custom_hooks.0.mode=uniform',
                                 'custom_hooks.0.mode=uniform_nothrow',
                                 'custom_hooks.0.guidance=inverse',
                                 'custom_hooks.0.guidance=shuffled'])
@pytest.mark.parametrize('path', [MAE_CFG, SIMMIM_CFG])
def test_each_control_is_one_config_key(path, key):
    cfg = Config.fromfile(path)
    name, value = key.split('=')
    cfg.merge_from_dict({name: value})
    hook = FAMTHook(**{k: v for k, v in cfg.custom_hooks[0].items()
                       if k != 'type'})
    assert getattr(hook, name.split('.')[-1]) == value


def test_uniform_modes_train_without_a_refresh(tmp_path, photos_dir):
    for mode, phase in (('uniform', 'uniform'),
                        ('uniform_nothrow', 'uniform_nothrow')):
        work = tmp_path / mode
        cfg = tiny_famt_mae_cfg(work, photos_dir, epochs=2, warmup=1,
                                times=1, mode=mode)
        _, rows = train(cfg)
        assert [r['phase'] for r in rows if r['epoch'] == 0][0] == 'warmup'
        assert {r['phase'] for r in rows if r['epoch'] == 1} == {phase}
        assert not list((work / 'famt_weights').glob('epoch_*'))


def refreshed(tmp_path, photos_dir, guidance, epochs=2):
    cfg = tiny_famt_mae_cfg(tmp_path / guidance, photos_dir, epochs=epochs,
                            warmup=1, interval=1, times=1)
    cfg.custom_hooks[0].update(guidance=guidance, log_panels=0)
    runner, rows = train(cfg)
    folder = tmp_path / guidance / 'famt_weights'
    return runner, rows, {e: np.load(folder / f'epoch_{e}.npy')
                          for e in range(1, epochs)}


def test_inverse_and_shuffled_refreshes(tmp_path, photos_dir):
    """Paired runs (same seed, data and warm-up): the first refresh sees the
    same model, so the controls' files are functions of the direct one."""
    _, _, direct = refreshed(tmp_path, photos_dir, 'direct')
    runner, rows, inverse = refreshed(tmp_path, photos_dir, 'inverse')
    np.testing.assert_array_equal(inverse[1],
                                  inverse_guidance(direct[1], 0, 1))
    record = json.loads(
        (tmp_path / 'inverse' / 'famt_weights' / 'epoch_1.json').read_text())
    assert record['guidance'] == 'inverse'
    runner, rows, shuffled = refreshed(tmp_path, photos_dir, 'shuffled',
                                       epochs=3)
    seed = next(h for h in runner.hooks if isinstance(h, FAMTHook)).seed
    np.testing.assert_array_equal(
        shuffled[1], direct[1][shuffle_sources(16, seed, 1)])
    # a new permutation at the second refresh
    assert not np.array_equal(shuffle_sources(16, seed, 1),
                              shuffle_sources(16, seed, 2))
    # the masks' statistics of every refresh: in its weight file's record
    # and among the visualizer's scalars (runs started in the same second
    # share one visualizer, hence the search over all of them)
    record = json.loads(
        (tmp_path / 'shuffled' / 'famt_weights' / 'epoch_2.json').read_text())
    assert {'support', 'entropy', 'always_visible_share', 'overlap'} <= set(
        record['concentration'])
    logged = {k for path in tmp_path.rglob('scalars.json')
              for line in open(path) for k in json.loads(line)}
    assert {'famt/support', 'famt/entropy', 'famt/always_visible_share',
            'famt/overlap'} <= logged
