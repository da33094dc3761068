"""The evidence tools: benchmark, linear probe, CIFAR-10 reproduction."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT, load_tool
from .test_tools import dumped_famt_cfg, run


@pytest.fixture(scope='module')
def tiny_configs(tmp_path_factory, photos_dir):
    tmp = tmp_path_factory.mktemp('bench')
    paths = {}
    for mode in ('random', 'famt'):
        (tmp / mode).mkdir()
        paths[mode] = dumped_famt_cfg(tmp / mode, photos_dir, mode=mode,
                                      warmup=0, epochs=2)
    return paths


def test_benchmark_step_mode(tiny_configs, tmp_path):
    out = str(tmp_path / 'step.json')
    run([sys.executable, 'tools/benchmark.py', tiny_configs['random'],
         tiny_configs['famt'], '--iters', '2', '--warmup', '1',
         '--batch-size', '8', '--memory-repeats', '1', '--out', out])
    with open(out) as f:
        result = json.load(f)
    assert result['device'].startswith('cpu')
    assert result['command'].startswith('python tools/benchmark.py ')
    assert '--batch-size 8' in result['command']
    random, famt = result['results']
    assert set(random) >= {'config', 'step_time_median_s', 'images_per_s',
                           'peak_mem_mb', 'ratio_to_first'}
    assert random['ratio_to_first'] == 1.0
    assert famt['flops_ratio_to_first'] < 0.8  # 10 of 64 tokens visible
    assert random['peak_mem_mb'] > 0 and famt['peak_mem_mb'] > 0
    assert 'refresh_over_step' not in random
    assert famt['refresh_over_step'] > 0
    assert famt['refresh_flops_over_step'] > 0
    assert 0 < famt['refresh_share_of_training'] < 1
    assert 0 < famt['masking_over_step'] < 1


def test_benchmark_epoch_mode(tiny_configs, tmp_path):
    out = str(tmp_path / 'epoch.json')
    run([sys.executable, 'tools/benchmark.py', tiny_configs['famt'],
         '--mode', 'epoch', '--out', out])
    with open(out) as f:
        row = json.load(f)['results'][0]
    assert row['images'] == 32 and row['refresh_time_s'] > 0
    assert 0 < row['refresh_share_of_training'] < 1


def test_benchmark_data_mode(tmp_path, photos_dir):
    out = str(tmp_path / 'data.json')
    run([sys.executable, 'tools/benchmark.py',
         'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py',
         'configs/pretrain/mae/famt-mae_vit-base-p16_8xb512-amp-coslr-400e_'
         'in1k.py', '--mode', 'data', '--data', photos_dir, '--images', '6',
         '--passes', '1', '--step-images-per-s', '300', '--out', out])
    with open(out) as f:
        stock, famt = json.load(f)['results']
    assert stock['config'] == 'mae_vit-base-p16_8xb512-amp-coslr-400e_in1k'
    assert stock['images'] == famt['images'] == 6
    assert stock['ratio_to_first'] == 1.0 and famt['ratio_to_first'] > 0
    assert famt['needed_images_per_s'] == 500.0
    # both are rounded to 2 decimals: at ~1 ms per image the relative
    # error of the rounding alone reaches 1%
    assert famt['workers_needed'] == pytest.approx(
        0.5 * famt['ms_per_image_per_worker'], abs=0.006)


def labelled_folders(root, photos_dir):
    """Two classes (colour vs grey photos), as train/ and test/ folders."""
    from PIL import Image
    colour = ('astronaut', 'chelsea', 'coffee', 'rocket', 'retina',
              'immunohistochemistry', 'hubble_deep_field', 'clock')
    for split, flip in (('train', False), ('test', True)):
        for name in sorted(osp.splitext(p)[0] for p in
                           os.listdir(photos_dir)):
            cls = 'colour' if name in colour else 'grey'
            folder = osp.join(root, split, cls)
            os.makedirs(folder, exist_ok=True)
            img = Image.open(osp.join(photos_dir, f'{name}.png'))
            img = img.convert('RGB').resize((32, 32))
            if flip:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
            img.save(osp.join(folder, f'{name}.png'))
    return root


def test_linear_probe(tiny_configs, tmp_path, photos_dir):
    data = labelled_folders(str(tmp_path / 'data'), photos_dir)
    cfg = tiny_configs['famt']
    run([sys.executable, 'tools/train.py', cfg, '--work-dir',
         str(tmp_path / 'pre'), '--cfg-options', 'train_cfg.max_epochs=1'])
    out = str(tmp_path / 'probe.json')
    run([sys.executable, 'tools/linear_probe.py', cfg,
         str(tmp_path / 'pre' / 'epoch_1.pth'), '--train',
         osp.join(data, 'train'), '--test', osp.join(data, 'test'),
         '--epochs', '20', '--out', out])
    with open(out) as f:
        result = json.load(f)
    assert result['train_images'] == result['test_images'] == 16
    assert 0 <= result['test_top1'] <= 100
    assert result['train_top1'] >= 75  # 32 features, 16 images: separable


def test_reproduce_cifar10_runs_and_resumes(tmp_path, photos_dir):
    data = labelled_folders(str(tmp_path / 'data'), photos_dir)
    work = str(tmp_path / 'repro')
    cmd = [sys.executable, 'tools/reproduce_cifar10.py', '--data', data,
           '--epochs', '1', '--modes', 'random', 'famt', '--batch-size', '8',
           '--work-dir', work]
    run(cmd)
    with open(osp.join(work, 'results.json')) as f:
        runs = json.load(f)['runs']
    assert [r['mode'] for r in runs] == ['random', 'famt']
    assert all(0 <= r['linear_top1'] <= 100 for r in runs)
    # wall time from the MMEngine logs, so a resumed run counts every start
    assert all(r['pretrain_seconds'] >= 0 for r in runs)
    assert '| famt | 0 |' in open(osp.join(work, 'results.md')).read()
    # finished runs are not redone (a rerun would recreate this folder), and
    # the summary keeps the runs of earlier invocations
    shutil.rmtree(osp.join(work, 'random_seed0', 'famt_weights'))
    run(cmd[:cmd.index('random')] + cmd[cmd.index('famt'):])
    assert not osp.exists(osp.join(work, 'random_seed0', 'famt_weights'))
    with open(osp.join(work, 'results.json')) as f:
        assert [r['mode'] for r in json.load(f)['runs']] == ['random', 'famt']


def test_tools_name_the_missing_shared_archive(tmp_path):
    """Without --data and without ../shared/data, the tools stop with the
    archive's path instead of a traceback."""
    import subprocess
    env = dict(os.environ, FAMT_SHARED_DATA=str(tmp_path / 'none'))
    for cmd, archive in (
        (['tools/reproduce_cifar10.py'], 'cifar10-jpeg.tar.gz'),
        (['tools/benchmark.py', '--mode', 'data', 'configs/pretrain/mae/'
          'famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'],
         'imagenette-sub.tar.gz'),
    ):
        out = subprocess.run([sys.executable, *cmd], env=env,
                             capture_output=True, text=True)
        assert out.returncode == 1
        assert str(tmp_path / 'none' / archive) + ' is absent' in out.stderr
        assert 'Traceback' not in out.stderr


def test_reproduction_wall_time_sums_every_start(tmp_path):
    """An interrupted start counts to its last log line, the resume adds
    its own; lines of other loggers are ignored."""
    from famt_mm.evaluation.experiment import pretrain_seconds
    assert pretrain_seconds(str(tmp_path)) is None
    for stamp, lines in (
        ('20261123_100000', ['2026/11/23 10:00:00 - mmengine - INFO - a',
                             'Traceback: killed',
                             '2026/11/23 10:30:00 - mmengine - INFO - b']),
        ('20261123_120000', ['2026/11/23 12:00:00 - mmengine - INFO - c',
                             '2026/11/23 12:00:00 - other - INFO - d',
                             '2026/11/23 12:10:30 - mmengine - INFO - e']),
    ):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / f'{stamp}.log').write_text('\n'.join(lines))
    assert pretrain_seconds(str(tmp_path)) == 30 * 60 + 10 * 60 + 30


def test_parallel_reproduction_runs_share_the_cores(monkeypatch):
    """--parallel runs get cores/P torch threads each, unless the user
    set OMP_NUM_THREADS."""
    from famt_mm.evaluation.experiment import process_env
    for name in ('OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, 'cpu_count', lambda: 16)
    env = process_env('cpu', 3)
    assert env['OMP_NUM_THREADS'] == '5' and env['CUDA_VISIBLE_DEVICES'] == ''
    env = process_env('cuda', 1)
    assert 'OMP_NUM_THREADS' not in env and 'CUDA_VISIBLE_DEVICES' not in env
    monkeypatch.setenv('OMP_NUM_THREADS', '2')  # the user's choice stays
    assert process_env('cuda', 3)[
        'OMP_NUM_THREADS'] == '2'


def test_reproduce_gpu_preset_cpu_smoke(tmp_path):
    """The GPU reproduction path (ViT-Tiny recipe, in-memory images, modes
    run concurrently) on CIFAR-10 JPEGs, shrunk to a CPU smoke run."""
    from .conftest import shared_dataset
    data = shared_dataset('cifar10-jpeg')
    work = str(tmp_path / 'repro')
    run([sys.executable, 'tools/reproduce_cifar10.py', '--preset', 'gpu',
         '--device', 'cpu', '--data', data, '--epochs', '2',
         '--max-images', '256', '--batch-size', '64', '--modes', 'random',
         'famt', '--parallel', '2', '--workers', '0', '--work-dir', work],
        timeout=900)
    with open(osp.join(work, 'results.json')) as f:
        result = json.load(f)
    assert result['preset'] == 'gpu' and result['device'] == 'cpu'
    assert [r['mode'] for r in result['runs']] == ['random', 'famt']
    assert all(0 <= r['linear_top1'] <= 100 for r in result['runs'])
    famt = osp.join(work, 'famt_seed0')
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(famt, 'pretrain_config.py'))
    assert cfg.train_dataloader.dataset.type == 'InMemoryImageFolder'
    assert len(cfg.train_dataloader.dataset.indices) == 256
    assert cfg.train_cfg.max_epochs == 2
    log = open(osp.join(famt, 'pretrain.log')).read()
    assert 'FAMT refresh before epoch 1: 256 images' in log
    assert 'masks: support' in log
    probe = json.load(open(osp.join(famt, 'probe.json')))
    assert probe['train_images'] == probe['test_images'] == 256


def test_authors_crop_analysis(tmp_path):
    """The released crop code reads the map's corner: its weights are
    nearly flat and its visible sets overlap as little as uniform ones;
    famt-mm's crop keeps the map's contrast."""
    import numpy as np
    weights = tmp_path / 'maps.npy'
    rng = np.random.default_rng(0)
    synthetic_maps = load_tool('analyze_authors_crop').synthetic_maps
    np.save(weights, synthetic_maps(4, 14, rng))
    out = tmp_path / 'analysis.json'
    run([sys.executable, 'tools/analyze_authors_crop.py', '--weights',
         str(weights), '--crops', '16', '--out', str(out)])
    result = json.loads(out.read_text())
    authors, ours, uniform = (result[k]
                              for k in ('authors', 'famt-mm', 'uniform'))
    assert result['maps'] == 4 and result['counts'] == [88, 78, 30]
    assert authors['contrast'] < 2 < ours['contrast']
    assert abs(authors['overlap'] - uniform['overlap']) < 0.015
    assert ours['overlap'] > authors['overlap'] + 0.015


def test_bad_inputs_get_messages_that_name_the_cause(tiny_configs, tmp_path,
                                                     photos_dir):
    """Each one line naming the file or value and the fix, not a bare
    library error."""
    import numpy as np
    import torch

    from famt_mm.datasets.weight_files import save_weights, unusable_reason
    from famt_mm.utils.convert import CheckpointError, convert

    # a zero-byte image in a probe's folder (OpenCV's error has no path)
    data = labelled_folders(str(tmp_path / 'data'), photos_dir)
    empty = osp.join(data, 'test', 'grey', 'empty.png')
    open(empty, 'wb').close()
    out = subprocess.run(
        [sys.executable, 'tools/linear_probe.py', tiny_configs['famt'],
         '--random-init', '--train', osp.join(data, 'train'), '--test',
         osp.join(data, 'test')], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1
    assert f'image file(s), e.g. {empty}' in out.stderr.splitlines()[-1]
    # a weight record whose fingerprint is not a string: unusable, not a
    # TypeError (the archive sets such a file aside and recomputes)
    path = str(tmp_path / 'epoch_3.npy')
    save_weights(path, np.ones((2, 8, 8), np.float16),
                 dict(data_fingerprint=['a', 'b']))
    assert 'unreadable record (data_fingerprint' in unusable_reason(
        path, 2, (8, 8), 'abc')
    # the converter on a backbone without position embeddings
    with pytest.raises(CheckpointError, match='has no backbone.pos_embed'):
        convert(dict(state_dict={
            'backbone.patch_embed.projection.weight': torch.zeros(8, 3, 4, 4),
            'backbone.layers.0.ln1.weight': torch.ones(8),
            'backbone.mask_token': torch.zeros(1, 1, 8)}), 'mmdet')
    # a truncated or foreign --results file
    study = load_tool('study')
    truncated = tmp_path / 'results.json'
    truncated.write_text('{"settings": {"data"')
    with pytest.raises(SystemExit, match='cannot be read as a study file'):
        study.read_study_file(str(truncated))
    truncated.write_text('[1, 2]')
    with pytest.raises(SystemExit, match="is not a study file"):
        study.read_study_file(str(truncated))
