"""The command-line paths users take: mim, tools/*.py, tools/*.sh."""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np

from .conftest import ROOT, shared_dataset, tiny_famt_mae_cfg

BIN = osp.dirname(sys.executable)


def run(cmd, timeout=600):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'])
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=timeout)
    assert out.returncode == 0, (out.stdout[-3000:] + out.stderr[-3000:])
    return out


def dumped_famt_cfg(tmp_path, photos_dir, **kwargs):
    cfg = tiny_famt_mae_cfg(tmp_path / 'work', photos_dir, **kwargs)
    path = str(tmp_path / 'tiny_famt.py')
    cfg.dump(path)
    return path


def test_mim_train_mmpretrain(tmp_path, photos_dir):
    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    run([osp.join(BIN, 'mim'), 'train', 'mmpretrain', config, '--work-dir',
         str(tmp_path / 'mim')])
    assert osp.isfile(tmp_path / 'mim' / 'epoch_2.pth')
    assert osp.isfile(tmp_path / 'mim' / 'famt_weights' / 'epoch_1.npy')


def test_dist_train_two_cpu_processes(tmp_path, photos_dir):
    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    # nccl (the config's default) has no GPU here: compat falls back to gloo
    run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
         str(tmp_path / 'dist'), '--cfg-options',
         'env_cfg.dist_cfg.backend=gloo'])
    maps = np.load(tmp_path / 'dist' / 'famt_weights' / 'epoch_1.npy')
    assert maps.shape == (16, 8, 8)


def test_train_py_resume(tmp_path, photos_dir):
    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=3, warmup=1)
    work = str(tmp_path / 'train')
    run([sys.executable, 'tools/train.py', config, '--work-dir', work,
         '--cfg-options', 'train_cfg.max_epochs=2'])
    out = run([sys.executable, 'tools/train.py', config, '--work-dir', work,
               '--resume', '--cfg-options', 'log_level=INFO'])
    assert 'resumed epoch: 2' in out.stdout + out.stderr
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))


def test_mim_train_mmseg_and_test_py(tmp_path):
    from .test_downstream import tiny_seg_cfg
    root = osp.join(shared_dataset('ade20k-sample'), 'ADEChallengeData2016')
    cfg = tiny_seg_cfg(tmp_path / 'seg', None, root)
    cfg.model.pretrained = None
    config = str(tmp_path / 'tiny_seg.py')
    cfg.dump(config)
    run([osp.join(BIN, 'mim'), 'train', 'mmseg', config, '--work-dir',
         str(tmp_path / 'seg')])
    ckpt = sorted(glob.glob(str(tmp_path / 'seg' / 'iter_*.pth')))[-1]
    out = run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
               str(tmp_path / 'seg_test'), '--cfg-options', 'log_level=INFO'])
    assert 'mIoU' in out.stdout + out.stderr


def test_test_py_refuses_a_pretraining_config(tmp_path, photos_dir):
    config = dumped_famt_cfg(tmp_path, photos_dir)
    out = subprocess.run([sys.executable, 'tools/test.py', config, 'x.pth'],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0
    assert 'has no test_dataloader' in out.stderr


def test_visualize_py(tmp_path, photos_dir):
    # any checkpoint of the model will do: one epoch of random masking
    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=1, mode='random')
    run([sys.executable, 'tools/train.py', config])
    ckpt = str(tmp_path / 'work' / 'epoch_1.pth')
    out_png = str(tmp_path / 'panels.png')
    images = [osp.join(photos_dir, f'{n}.png') for n in ('astronaut', 'coins')]
    run([sys.executable, 'tools/visualize.py', config, ckpt, *images,
         '--out', out_png])
    from PIL import Image
    width, height = Image.open(out_png).size
    assert width > 5 * 100 and height > 2 * 100  # 5 panels x 2 rows


def test_pretraining_needs_neither_mmdet_mmseg_nor_mmcv_ops(tmp_path,
                                                            photos_dir):
    """What an mmcv-lite + mmpretrain environment sees: training a FAMT
    config through a refresh works with mmdet, mmseg and mmcv's compiled
    ops unimportable."""
    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=2, warmup=1)
    code = f'''
import sys
for name in ('mmdet', 'mmseg', 'mmcv._ext', 'mmcv.ops'):
    sys.modules[name] = None  # import raises ModuleNotFoundError
from mmengine.config import Config
from mmengine.runner import Runner
Runner.from_cfg(Config.fromfile({config!r})).train()
print('TRAINED')
'''
    out = run([sys.executable, '-c', code])
    assert 'TRAINED' in out.stdout


def test_mim_train_mmdet(tmp_path):
    from .test_downstream import coco_mini_cfg
    cfg = coco_mini_cfg(tmp_path / 'det', None)  # skips without COCO mini
    cfg.model.backbone.init_cfg = None  # from scratch: the path is tested
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    config = str(tmp_path / 'tiny_det.py')
    cfg.dump(config)
    run([osp.join(BIN, 'mim'), 'train', 'mmdet', config, '--work-dir',
         str(tmp_path / 'det')])
    assert osp.isfile(tmp_path / 'det' / 'iter_2.pth')


def test_demo_on_fewer_than_four_images(tmp_path, photos_dir):
    """The demo shows what it has: two images (none of its four chosen
    photos), two panels."""
    import shutil
    data = tmp_path / 'two'
    data.mkdir()
    for name in ('brick.png', 'camera.png'):
        shutil.copy(os.path.join(photos_dir, name), data / name)
    work = tmp_path / 'work'
    run([sys.executable, 'tools/demo.py', '--data', str(data), '--work-dir',
         str(work), '--cfg-options', 'train_cfg.max_epochs=2',
         'custom_hooks.0.warmup_epochs=1', 'custom_hooks.0.interval=1'])
    assert (work / 'famt_demo.png').is_file()


def test_output_paths_are_checked_before_the_work(tmp_path, photos_dir):
    """A directory, a wrong extension or an unwritable folder is refused
    when the arguments are read, not after minutes of work."""
    import pytest

    from famt_mm.utils.fileio import check_output_path
    assert check_output_path(str(tmp_path / 'new' / 'a.json'),
                             ('.json', )).endswith('a.json')
    with pytest.raises(ValueError, match='is a directory'):
        check_output_path(str(tmp_path))
    with pytest.raises(ValueError, match=r"must end with one of \['.png'\]"):
        check_output_path(str(tmp_path / 'fig'), ('.png', ))
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(ValueError, match=f'{blocker} is a file'):
        check_output_path(str(blocker / 'sub' / 'a.json'))

    def refused(cmd, message):
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 2 and message in out.stderr, out.stderr

    config = dumped_famt_cfg(tmp_path, photos_dir, epochs=1)
    image = osp.join(photos_dir, 'coins.png')
    refused([sys.executable, 'tools/visualize.py', config, 'x.pth', image,
             '--out', str(tmp_path)], 'is a directory')
    refused([sys.executable, 'tools/visualize.py', config, 'x.pth', image,
             '--out', str(tmp_path / 'fig')], "must end with one of")
    refused([sys.executable, 'tools/benchmark.py', config, '--iters', '0'],
            '--iters must be >= 1, got 0')
    refused([sys.executable, 'tools/benchmark.py', config, '--out',
             str(blocker / 'r.json')], 'is a file')
    refused([sys.executable, 'tools/convert_checkpoint.py', 'x.pth',
             str(tmp_path), '--target', 'mmdet'], 'dst: ')
    refused([sys.executable, 'tools/convert_checkpoint.py', 'x.pth', 'y.pth',
             '--target', 'vitdet', '--img-size', '512'],
            '--img-size applies to --target mmdet / mmseg')


def test_check_images_lists_what_does_not_decode(tmp_path, photos_dir):
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(photos_dir, data)
    (data / 'empty.jpg').write_bytes(b'')
    (data / 'notes.png').write_text('not an image')
    out = subprocess.run([sys.executable, 'tools/check_images.py',
                          str(data)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f'cannot decode image {data}/empty.jpg '
                               '(0 bytes')
    assert lines[1].startswith(f'cannot decode image {data}/notes.png (12 '
                               'bytes: not an image OpenCV can decode)')
    shutil.rmtree(data)
    shutil.copytree(photos_dir, data)
    out = subprocess.run([sys.executable, 'tools/check_images.py',
                          str(data)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0 and 'do not decode' in out.stderr


def test_train_py_says_when_a_batch_is_larger_than_the_data(tmp_path,
                                                            photos_dir):
    cfg = tiny_famt_mae_cfg(tmp_path / 'work', photos_dir, epochs=2,
                            warmup=1, times=1, batch_size=64)
    cfg.train_dataloader.drop_last = True
    for schedule in ([], [dict(type='CosineAnnealingLR', T_max=2,
                               by_epoch=True, convert_to_iter_based=True)]):
        # without a schedule the hook finds it, with one MMEngine's
        # scheduler fails first ("epoch_length must be a positive integer")
        cfg.param_scheduler = schedule
        cfg.dump(str(tmp_path / 'cfg.py'))
        out = subprocess.run(
            [sys.executable, 'tools/train.py', str(tmp_path / 'cfg.py')],
            cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 1
        assert out.stderr.strip().splitlines()[-1].endswith(
            'the training set has 16 images per process but '
            'train_dataloader.batch_size is 64 with drop_last=True, so an '
            'epoch has no iteration: lower the batch size (or give more '
            'images)')
