"""Shared fixtures: real photos, the shared data sets, tiny project configs."""
import importlib.util
import os.path as osp
import uuid

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')

# A ViT small enough for 2 CPU cores: 32x32 images, patch 4, 8x8 grid.
TINY_ARCH = dict(
    embed_dims=32,
    num_layers=2,
    num_heads=2,
    feedforward_channels=64)


def weight_samples(weights):
    """DataSamples carrying per-image ``famt_weights`` (h, w)."""
    from mmpretrain.structures import DataSample
    out = []
    for w in weights:
        sample = DataSample()
        sample.set_field(w, 'famt_weights')
        out.append(sample)
    return out


@pytest.fixture(scope='session')
def photos_dir(tmp_path_factory):
    """The 16 photos scikit-image ships, as PNG files."""
    from famt_mm.utils.photos import write_photos
    out = tmp_path_factory.mktemp('photos')
    write_photos(str(out), longest_side=96)
    return str(out)


def load_tool(name: str):
    """The command-line script tools/<name>.py as a module, loaded from its
    path (its library code is in famt_mm; this reaches its CLI helpers)."""
    spec = importlib.util.spec_from_file_location(
        f'famt_tools_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_dataset(name: str) -> str:
    """``famt_mm.utils.shared_data.unpack_shared``; skip the test when the
    archive is absent."""
    try:
        from famt_mm.utils.shared_data import unpack_shared
        return unpack_shared(name)
    except FileNotFoundError as e:
        pytest.skip(f'this test needs the shared data: {e}')


def tiny_famt_mae_cfg(work_dir, data_root, *, config=None, epochs=3,
                      warmup=1, interval=1, batch_size=8, times=2,
                      num_workers=0, mode=None):
    """The project's CIFAR 32-px FAMT-MAE config, shrunk for CPU tests:
    the tiny ViT above, the photos (or any image folder) as data."""
    from mmengine.config import Config
    cfg = Config.fromfile(config or osp.join(
        CONFIGS, 'pretrain', 'mae',
        'famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py'))
    cfg.work_dir = str(work_dir)
    # MMEngine names a run's logger and visualizer after the config and the
    # second it started, and reuses them by name: two runs built in the same
    # second would write into the first one's directory
    cfg.experiment_name = f'test_{uuid.uuid4().hex}'
    cfg.model.backbone.arch = TINY_ARCH
    cfg.model.neck.update(embed_dim=32, decoder_embed_dim=32,
                          decoder_depth=1, decoder_num_heads=2)
    pipeline = [dict(type='LoadImageFromFile')] + [
        t for t in cfg.train_dataloader.dataset.pipeline
    ]
    cfg.data_preprocessor.to_rgb = True
    cfg.train_dataloader = dict(
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(
            type='RepeatDataset',
            times=times,
            dataset=dict(
                type='CustomDataset',
                data_root=data_root,
                with_label=False,
                pipeline=pipeline)))
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.default_hooks.checkpoint = dict(type='SafeCheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks[0].update(warmup_epochs=warmup, interval=interval)
    if mode is not None:
        cfg.custom_hooks[0].mode = mode
    cfg.randomness = dict(seed=0, diff_rank_seed=True)
    cfg.log_level = 'WARNING'
    return cfg
