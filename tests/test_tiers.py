"""The two environments: the full one has exactly one mmcv distribution,
with its ops; in the pretraining one the downstream tools say what to
install instead of raising an import traceback."""
import os
import subprocess
import sys

from .conftest import ROOT


def test_full_environment_has_one_mmcv_with_ops():
    out = subprocess.run([sys.executable, 'tools/check_env.py'], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'mmcv dist    mmcv 2.1.0\n' in out.stdout  # not mmcv-lite too
    assert 'nms, roi_align ok' in out.stdout


def test_downstream_tools_name_the_full_setup(tmp_path):
    """mmdet / mmseg / mmcv's ops made unimportable, as in the pretraining
    environment: one line naming the command, exit status 1."""
    (tmp_path / 'sitecustomize.py').write_text(
        'import sys\n'
        "for name in ('mmdet', 'mmseg', 'mmcv._ext'):\n"
        '    sys.modules[name] = None\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), ROOT]))
    for cmd in (
        ['tools/train.py', 'configs/det/mask-rcnn_vit-base-p16-famt_'
         'simplefpn_8xb2-lsj-90k_coco.py'],
        ['tools/test.py', 'configs/seg/upernet_vit-base-p16-famt_8xb2-amp-'
         '160k_ade20k-512x512.py', 'none.pth'],
    ):
        out = subprocess.run([sys.executable, *cmd], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 1, out.stderr[-2000:]
        last = out.stderr.strip().splitlines()[-1]
        assert 'which the pretraining environment does not have' in last
        assert 'make setup' in last and 'Traceback' not in out.stderr
