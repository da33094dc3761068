"""FAMTHook on real runs: schedule, workers, resume, loss."""
import glob
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

import famt_mm  # noqa: F401
from famt_mm.engine.hooks.famt_hook import (FAMTHook, refresh_schedule,
                                            to_epochs)
from .conftest import TINY_ARCH, tiny_famt_mae_cfg


@HOOKS.register_module(force=True)
class FAMTRecorder(Hook):
    """Records, per iteration, what the model trains with."""
    priority = 'LOWEST'

    def before_run(self, runner):
        self.rows = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        famt = next(h for h in runner.hooks if isinstance(h, FAMTHook))
        weights = torch.stack(
            [ds.famt_weights for ds in data_batch['data_samples']])
        self.rows.append(
            dict(
                epoch=runner.epoch,
                phase=runner.model.mask_phase,
                weights=weights,
                weights_file=famt.store.path))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.rows[-1]['loss'] = float(outputs['loss'])


def train(cfg):
    cfg.custom_hooks.append(dict(type='FAMTRecorder'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, next(h for h in runner.hooks
                        if isinstance(h, FAMTRecorder)).rows


def test_schedule_helpers():
    assert refresh_schedule('famt', 40, 40, 400) == (
        40, [40, 80, 120, 160, 200, 240, 280, 320, 360])
    assert refresh_schedule('random', 40, 40, 400) == (400, [])
    assert to_epochs(0.1, 400) == 40 and to_epochs(3, 400) == 3
    with pytest.raises(ValueError, match="mode 'amt2' is not one of"):
        FAMTHook(mode='amt2')


def test_refresh_epochs_phases_and_persistent_workers(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=5, warmup=2,
                            interval=2, num_workers=2)
    runner, rows = train(cfg)
    by_epoch = {r['epoch']: r for r in rows}
    assert [by_epoch[e]['phase'] for e in range(5)] == [
        'warmup', 'warmup', 'guided', 'guided', 'guided']
    weights_dir = osp.join(tmp_path, 'famt_weights')
    assert osp.isfile(osp.join(weights_dir, 'epoch_2.npy'))
    assert osp.isfile(osp.join(weights_dir, 'epoch_4.npy'))
    assert not osp.isfile(osp.join(weights_dir, 'epoch_3.npy'))
    for row in rows:
        uniform = bool((row['weights'] == 1).all())
        # Persistent workers: uniform during warm-up, FAMT weights after.
        assert uniform == (row['epoch'] < 2)
        assert row['weights'].min() >= 0 and row['weights'].max() <= 1
    assert by_epoch[3]['weights_file'].endswith('epoch_2.npy')
    assert by_epoch[4]['weights_file'].endswith('epoch_4.npy')
    maps = np.load(osp.join(weights_dir, 'epoch_4.npy'))
    assert maps.shape == (16, 8, 8) and maps.dtype == np.float16
    assert np.allclose(maps.reshape(16, -1).max(1), 1)  # normalised
    ckpt = torch.load(osp.join(tmp_path, 'epoch_5.pth'))  # safe unpickler
    hook = next(h for h in runner.hooks if isinstance(h, FAMTHook))
    assert ckpt['famt'] == dict(weights_epoch=4, num_images=16, grid=[8, 8],
                                data_fingerprint=hook.archive.fingerprint)
    # the panels of every refresh went to the visualizer's local backend
    for epoch in (2, 4):
        assert glob.glob(osp.join(tmp_path, '*', 'vis_data', 'vis_image',
                                  f'famt_panels_{epoch}.png'))


def test_random_mode_never_refreshes(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=0,
                            mode='random')
    _, rows = train(cfg)
    assert {r['phase'] for r in rows} == {'warmup'}
    assert not osp.exists(osp.join(tmp_path, 'famt_weights', 'epoch_0.npy'))


def test_max_keep_weights_prunes_older_files(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=3, times=1)
    cfg.custom_hooks[0].update(max_keep_weights=1, log_panels=0)
    train(cfg)
    assert sorted(
        p for p in os.listdir(tmp_path / 'famt_weights')
        if p.startswith('epoch_')) == ['epoch_2.json', 'epoch_2.npy']


def test_resume_restores_the_weights(tmp_path, photos_dir):
    full = tiny_famt_mae_cfg(tmp_path / 'full', photos_dir, epochs=4,
                             warmup=1, interval=2)
    _, rows_full = train(full)
    # Interrupted after epoch 2, resumed from its checkpoint.
    part = tiny_famt_mae_cfg(tmp_path / 'part', photos_dir, epochs=2,
                             warmup=1, interval=2)
    train(part)
    resumed = tiny_famt_mae_cfg(tmp_path / 'part', photos_dir, epochs=4,
                                warmup=1, interval=2)
    resumed.resume = True
    runner, rows_resumed = train(resumed)
    first = rows_resumed[0]
    assert first['epoch'] == 2 and first['phase'] == 'guided'
    assert first['weights_file'] == str(tmp_path / 'part' / 'famt_weights' /
                                        'epoch_1.npy')
    # The weights the resumed run trains with are the ones the interrupted
    # run computed, bit for bit; the uninterrupted run has the same
    # schedule (its own model, so its own values).
    np.testing.assert_array_equal(
        np.load(first['weights_file']),
        np.load(tmp_path / 'part' / 'famt_weights' / 'epoch_1.npy'))
    full_epochs = [(r['epoch'], r['phase']) for r in rows_full if
                   r['epoch'] >= 2]
    assert [(r['epoch'], r['phase'])
            for r in rows_resumed] == full_epochs
    assert osp.isfile(tmp_path / 'part' / 'famt_weights' / 'epoch_3.npy')


def logged(runner) -> str:
    """Everything the run logged (MMEngine writes it to log_dir)."""
    return ''.join(
        open(p).read() for p in glob.glob(osp.join(runner.log_dir, '*.log')))


def resume_after(tmp_path, data_root, **kwargs):
    """Resume the 2-epoch run in tmp_path for a third epoch."""
    cfg = tiny_famt_mae_cfg(tmp_path, data_root, epochs=3, warmup=1,
                            interval=5, **kwargs)
    cfg.resume = True
    cfg.log_level = 'INFO'
    return train(cfg)


@pytest.mark.parametrize('fault,reason', [
    ('shape', 'cannot be used .*shape \\(10, 8, 8\\)'),
    ('truncated', 'cannot be used'),
    ('nan', r'cannot be used .*NaN weights in sample\(s\) \[3\]'),
])
def test_resume_recomputes_an_unusable_weight_file(tmp_path, photos_dir,
                                                   fault, reason):
    train(tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            interval=5))
    path = tmp_path / 'famt_weights' / 'epoch_1.npy'
    if fault == 'shape':
        np.save(path, np.ones((10, 8, 8), dtype=np.float16))
    elif fault == 'truncated':
        path.write_bytes(path.read_bytes()[:300])
    else:
        maps = np.load(path)
        maps[3, 2, 2] = np.nan
        np.save(path, maps)
    runner, rows = resume_after(tmp_path, photos_dir)
    assert re.search(f'FAMT: {re.escape(str(path))} {reason}',
                     logged(runner))
    assert 'recomputing them with the resumed model now' in logged(runner)
    assert rows[0]['phase'] == 'guided'
    maps = np.load(path)
    assert maps.shape == (16, 8, 8) and np.isfinite(maps).all()


def test_resume_recomputes_weights_of_other_images(tmp_path, photos_dir):
    """Same number of images, one swapped: every index could now belong to
    another image, so the weights are recomputed, and the log says why."""
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(photos_dir, data)
    train(tiny_famt_mae_cfg(tmp_path, str(data), epochs=2, warmup=1,
                            interval=5))
    first = sorted(data.iterdir())[0]
    first.rename(data / ('zz_' + first.name))  # same count, new order
    runner, rows = resume_after(tmp_path, str(data))
    assert re.search(r'epoch_1.npy was computed for another data set \(data '
                     r'fingerprint [0-9a-f]{16}, this one is [0-9a-f]{16}',
                     logged(runner))
    assert rows[0]['phase'] == 'guided'
    record = json.loads(
        (tmp_path / 'famt_weights' / 'epoch_1.json').read_text())
    hook = next(h for h in runner.hooks if isinstance(h, FAMTHook))
    assert record['data_fingerprint'] == hook.archive.fingerprint


def test_resume_after_swapped_image_contents(tmp_path, photos_dir):
    """Same paths, two images' contents swapped: the fingerprint covers
    each file's size and mtime, so the weights are recomputed; the old
    file is kept aside and the log names two different fingerprints."""
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(photos_dir, data)
    train(tiny_famt_mae_cfg(tmp_path, str(data), epochs=2, warmup=1,
                            interval=5))
    old = np.load(tmp_path / 'famt_weights' / 'epoch_1.npy')
    a, b = sorted(data.iterdir())[:2]
    content_a = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(content_a)
    runner, rows = resume_after(tmp_path, str(data))
    found = re.search(r'another data set \(data fingerprint ([0-9a-f]{16}), '
                      r'this one is ([0-9a-f]{16})', logged(runner))
    assert found and found.group(1) != found.group(2)
    kept = glob.glob(str(tmp_path / 'famt_weights' / 'previous_*' /
                         'epoch_1.npy'))
    assert len(kept) == 1 and 'the old file is kept in' in logged(runner)
    np.testing.assert_array_equal(np.load(kept[0]), old)


def test_resume_with_other_cue_settings_recomputes(tmp_path, photos_dir):
    """A resume with another mode (or frequency source, or cutoff) does
    not reuse weights computed with the old one."""
    train(tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            interval=5))
    record = json.loads(
        (tmp_path / 'famt_weights' / 'epoch_1.json').read_text())
    assert {k: record[k] for k in ('fusion', 'frequency_source',
                                   'frequency_filter', 'cutoff')} == dict(
        fusion='famt', frequency_source='feature',
        frequency_filter='lowpass', cutoff=0.25)
    runner, rows = resume_after(tmp_path, photos_dir, mode='attention')
    assert "computed with other settings (fusion 'famt' -> 'attention')" in \
        logged(runner)
    record = json.loads(
        (tmp_path / 'famt_weights' / 'epoch_1.json').read_text())
    assert record['fusion'] == 'attention'


def test_stale_temporary_files_are_removed_and_old_runs_kept(
        tmp_path, photos_dir):
    train(tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            interval=5))
    weights = tmp_path / 'famt_weights'
    stale = weights / 'epoch_1.npy.4242.tmp'
    stale.write_bytes(b'partial')
    old = np.load(weights / 'epoch_1.npy')
    # A fresh start in the same work_dir (no --resume).
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            interval=5)
    cfg.log_level = 'INFO'
    runner, _ = train(cfg)
    assert not stale.exists()
    kept = glob.glob(str(weights / 'previous_*' / 'epoch_1.npy'))
    assert len(kept) == 1
    np.testing.assert_array_equal(np.load(kept[0]), old)
    assert 'held weight files of an earlier run; moved them' in \
        logged(runner)


def test_resume_without_the_weight_file_recomputes(tmp_path, photos_dir):
    train(tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            interval=5))
    (tmp_path / 'famt_weights' / 'epoch_1.npy').unlink()
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=3, warmup=1,
                            interval=5)
    cfg.resume = True
    _, rows = train(cfg)
    assert rows[0]['phase'] == 'guided'
    assert osp.isfile(tmp_path / 'famt_weights' / 'epoch_1.npy')


def test_a_few_iterations_lower_the_loss(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=8, warmup=2,
                            interval=2, times=4)
    _, rows = train(cfg)
    losses = [r['loss'] for r in rows]
    assert all(np.isfinite(losses))
    per_epoch = [np.mean([r['loss'] for r in rows if r['epoch'] == e])
                 for e in range(8)]
    assert per_epoch[-1] < 0.8 * per_epoch[0]


@pytest.mark.parametrize('change,match', [
    (dict(model=dict(mask_generator=dict(mask_unit=3))),
     r'patch grid \(8, 8\) is not divisible by mask_unit=3'),
    (dict(model=dict(mask_generator=dict(mask_ratio=0.01))),
     'masks no unit out of 64'),
    (dict(custom_hooks=[dict(type='FAMTHook', warmup_epochs=1,
                             refresh_pipeline=[dict(type='NoSuchStep')])]),
     'NoSuchStep'),
])
def test_settings_that_fail_after_the_warmup_fail_before_training(
        tmp_path, photos_dir, change, match):
    """What used to fail in the first FAMT step or at the first refresh
    (epochs of warm-up later) fails before the first iteration."""
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=3, warmup=2)
    cfg.merge_from_dict(change)
    with pytest.raises((ValueError, KeyError), match=match):
        train(cfg)
    assert not glob.glob(str(tmp_path / 'epoch_*.pth'))


def test_pipeline_without_weight_loader_fails_clearly(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir)
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    cfg.train_dataloader.dataset.dataset.pipeline = [
        t for t in pipeline if t['type'] != 'LoadFAMTWeights'
    ]
    with pytest.raises(ValueError, match='has no LoadFAMTWeights'):
        Runner.from_cfg(cfg).train()


def test_hook_on_a_plain_mae_fails_clearly(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir)
    cfg.model.type = 'MAE'
    cfg.model.pop('mask_generator')
    cfg.model.pop('warmup_mask_generator')
    cfg.model.backbone.type = 'MAEViT'
    cfg.model.neck.type = 'MAEPretrainDecoder'
    with pytest.raises(TypeError, match='needs a FAMT algorithm.*got MAE'):
        Runner.from_cfg(cfg).train()


def test_patch_size_mismatch_fails_before_training(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir)
    for t in cfg.train_dataloader.dataset.dataset.pipeline:
        if t['type'] == 'LoadFAMTWeights':
            t['patch_size'] = 8
    with pytest.raises(ValueError, match=r'patch_size=8\) but the backbone '
                       'patches are 4 px'):
        Runner.from_cfg(cfg).train()


class NoIndexDataset(torch.utils.data.Dataset):
    """A plain torch data set: no get_data_info, no sample_idx."""

    def __init__(self, pipeline):
        from mmengine.dataset import Compose
        self.pipeline = Compose(pipeline)

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return self.pipeline(dict(img=np.zeros((32, 32, 3), np.uint8)))


def test_data_set_without_sample_idx_fails_before_training(tmp_path,
                                                           photos_dir):
    from mmpretrain.registry import DATASETS
    DATASETS.register_module(module=NoIndexDataset, force=True)
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir)
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline[1:]
    cfg.train_dataloader.dataset = dict(type='NoIndexDataset',
                                        pipeline=pipeline)
    with pytest.raises(TypeError, match="NoIndexDataset does not give its "
                       "samples a 'sample_idx'"):
        Runner.from_cfg(cfg).train()


@pytest.mark.parametrize('kwargs,match', [
    (dict(warmup_epochs=True), 'warmup_epochs must be an int'),
    (dict(warmup_epochs='1'), 'warmup_epochs must be an int'),
    (dict(warmup_epochs=-1), 'warmup_epochs must be >= 0 epochs, got -1'),
    (dict(warmup_epochs=1.5), r'warmup_epochs .* \[0, 1\], got 1.5'),
    (dict(interval=0), 'interval must be >= 1 epochs, got 0'),
    (dict(interval=0.0), r'interval .* \(0, 1\], got 0.0'),
    (dict(interval=float('nan')), r'interval .* got nan'),
    (dict(cutoff=float('nan')), 'cutoff must be a finite number'),
    (dict(cutoff=0), r'cutoff .* in \(0, inf\], got 0'),
    (dict(batch_size=0), 'batch_size must be None or an int >= 1, got 0'),
    (dict(num_workers=-1), 'num_workers must be None or an int >= 0'),
    (dict(max_keep_weights=0), 'max_keep_weights must be -1'),
    (dict(log_panels=-2), 'log_panels must be None or an int >= 0'),
    (dict(mode='bogus'), "mode 'bogus' is not one of"),
    (dict(frequency_filter='box'), "frequency_filter 'box' is not one of"),
    (dict(frequency_filter='nyquist_notch', frequency_source='image'),
     "no frequency cue for frequency_source='image' with "
     "frequency_filter='nyquist_notch'"),
    (dict(store=''), "store must be a non-empty name, got ''"),
    (dict(fingerprint='md5'), "fingerprint 'md5' is not one of"),
])
def test_hook_checks_its_arguments_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FAMTHook(**kwargs)


@pytest.mark.parametrize('patch_size', ['16', True, 0, 2.5])
def test_weight_loader_refuses_bad_patch_size(patch_size):
    from famt_mm.datasets.transforms import LoadFAMTWeights
    with pytest.raises(ValueError,
                       match='patch_size must be None or an int >= 1'):
        LoadFAMTWeights(patch_size=patch_size)


@pytest.mark.parametrize('warmup', [1.0, 3])
def test_schedule_without_refresh_is_refused(tmp_path, photos_dir, warmup):
    from mmengine.runner import Runner
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=3, warmup=warmup)
    with pytest.raises(ValueError, match=r"mode='famt'\) would never "
                       rf'refresh the weights: warmup_epochs={warmup} is 3 '
                       'epochs of 3'):
        Runner.from_cfg(cfg).train()


def test_unwritable_weights_folder_and_empty_images_fail_before_training(
        tmp_path, photos_dir, monkeypatch):
    """What used to fail after the warm-up (the first save) or in a worker
    mid-epoch (an empty image, without its path) fails in before_train,
    naming the folder or the file."""
    import shutil
    import tempfile as tempfile_module

    from mmengine.runner import Runner

    import famt_mm.utils.fileio
    real = tempfile_module.TemporaryFile

    def read_only(*args, dir=None, **kwargs):  # noqa: A002
        if dir is not None and dir.endswith('famt_weights'):
            raise PermissionError(13, 'Permission denied')
        return real(*args, dir=dir, **kwargs)

    # root may write anywhere, so the refusal is simulated where it bites
    monkeypatch.setattr(famt_mm.utils.fileio.tempfile, 'TemporaryFile',
                        read_only)
    cfg = tiny_famt_mae_cfg(tmp_path / 'ro', photos_dir, epochs=2)
    with pytest.raises(ValueError, match=r'cannot write in .*famt_weights: '
                       r'.*famt_weights is not writable \(Permission denied'):
        Runner.from_cfg(cfg).train()
    assert not glob.glob(str(tmp_path / 'ro' / '*.pth'))  # nothing trained
    monkeypatch.undo()

    data = tmp_path / 'data'
    shutil.copytree(photos_dir, data)
    empty = data / 'zz_empty.png'
    empty.write_bytes(b'')
    cfg = tiny_famt_mae_cfg(tmp_path / 'empty', str(data), epochs=2)
    with pytest.raises(ValueError, match=rf'{empty} is an empty file '
                       r'\(0 bytes\), not an image'):
        Runner.from_cfg(cfg).train()


def test_famt_runs_warn_about_a_checkpoint_hook_a_kill_can_destroy(
        tmp_path, photos_dir):
    from mmengine.hooks import CheckpointHook

    from famt_mm.engine.hooks.checkpoint_hook import (SafeCheckpointHook,
                                                      unsafe_checkpointing)
    assert 'max_keep_ckpts=1' in unsafe_checkpointing(
        [CheckpointHook(interval=1, max_keep_ckpts=1)])
    assert unsafe_checkpointing([CheckpointHook(interval=1)]) == ''
    assert unsafe_checkpointing(
        [SafeCheckpointHook(interval=1, max_keep_ckpts=1)]) == ''
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=1, warmup=1,
                            mode='random', times=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        max_keep_ckpts=2)
    cfg.log_level = 'INFO'
    train(cfg)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert "default_hooks.checkpoint.type='SafeCheckpointHook'" in log


def test_a_refresh_pipeline_that_does_not_resize_fails_before_training(
        tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    cfg.custom_hooks[0].refresh_pipeline = [
        dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    with pytest.raises(ValueError, match=r"images of \d+x\d+ but the model "
                       r"takes 32x32: end refresh_pipeline with "
                       r"dict\(type='Resize', scale=\(32, 32\)\)"):
        train(cfg)
    assert not list(tmp_path.glob('epoch_*.pth'))  # nothing trained


def test_the_archive_refuses_maps_of_another_shape(tmp_path, photos_dir):
    from famt_mm.engine.refresh import gather_weights
    with pytest.raises(ValueError, match=r'maps of \(24, 28\) but the '
                       r'weight grid is \(8, 8\)'):
        gather_weights(torch.zeros(3, 24, 28).half(), 3, (8, 8))
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    runner, _ = train(cfg)
    archive = next(h for h in runner.hooks
                   if isinstance(h, FAMTHook)).archive
    with pytest.raises(ValueError, match=r'shape \(16, 24, 28\), not '
                       r'\(16, 8, 8\)'):
        archive.commit(5, np.ones((16, 24, 28), np.float16))


def test_resuming_another_model_size(tmp_path, photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=1, warmup=1,
                            mode='random', times=1)
    train(cfg)
    bigger = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                               mode='random', times=1)
    bigger.model.backbone.arch = dict(TINY_ARCH, embed_dims=48)
    bigger.model.neck.embed_dim = 48
    bigger.resume = True
    with pytest.raises(ValueError, match=r'made by a model of another size: '
                       r'backbone\.\S+ \(.*32.*\) vs \(.*48.*\)'):
        train(bigger)


def test_a_crop_unlike_the_model_input_fails_before_training(tmp_path,
                                                             photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    crop = next(t for t in cfg.train_dataloader.dataset.dataset.pipeline
                if t['type'] == 'FAMTRandomResizedCrop')
    crop['scale'] = 48
    with pytest.raises(ValueError, match='images of 48x48 but the model '
                       r'takes 32x32: crop to the model input size'):
        train(cfg)


def test_content_fingerprint_is_recorded_with_the_weights(tmp_path,
                                                          photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path, photos_dir, epochs=2, warmup=1,
                            times=1)
    cfg.custom_hooks[0].update(fingerprint='content', log_panels=0)
    train(cfg)
    with open(tmp_path / 'famt_weights' / 'epoch_1.json') as f:
        assert json.load(f)['fingerprint'] == 'content'
