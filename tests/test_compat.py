"""Each upstream breakage, shown in a clean interpreter, and its fix."""
import pickle
import subprocess
import sys
import textwrap

import pytest

from .conftest import ROOT

SAVE_AND_RESUME = '''
import tempfile, torch, torch.nn as nn
from mmengine.dataset import DefaultSampler
from mmengine.model import BaseModel
from mmengine.runner import Runner

class Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)
    def forward(self, x, mode='loss'):
        return dict(loss=self.fc(x).pow(2).mean())

class Data(torch.utils.data.Dataset):
    def __len__(self):
        return 8
    def __getitem__(self, i):
        return dict(x=torch.ones(2) * i)

work_dir = tempfile.mkdtemp()
def run(resume, epochs):
    runner = Runner(
        model=Model(), work_dir=work_dir, resume=resume,
        train_dataloader=dict(
            dataset=Data(), batch_size=4, num_workers=0,
            sampler=dict(type=DefaultSampler, shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook')),
        randomness=dict(seed=0), log_level='WARNING')
    runner.train()
    return runner
run(False, 1)
assert run(True, 2).epoch == 2
print('RESUMED')
'''


def python(code: str):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=ROOT)


def test_mmengine_resume_under_torch_weights_only_default():
    broken = python(SAVE_AND_RESUME)
    assert broken.returncode != 0
    assert 'HistoryBuffer' in broken.stderr  # the safe unpickler refuses it
    fixed = python('import famt_mm.compat\n' + SAVE_AND_RESUME)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert 'RESUMED' in fixed.stdout


def test_checkpoint_getattr_stays_restricted():
    from mmengine.logging import HistoryBuffer

    from famt_mm.compat import _history_buffer_getattr
    assert _history_buffer_getattr(HistoryBuffer, 'min') is HistoryBuffer.min
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        _history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        _history_buffer_getattr(object, 'min')


# What an environment without pkg_resources looks like to importlib:
# find_spec returns None and the import raises ModuleNotFoundError.
BLOCK_PKG_RESOURCES = "import sys; sys.modules['pkg_resources'] = None\n"
LOAD_PACKAGE_BASE_CONFIG = '''
from mmengine.config import Config
cfg = Config.fromfile('configs/pretrain/mae/'
                      'famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py')
print(cfg.model.type, cfg.train_cfg.max_epochs)
'''


def test_package_base_configs_without_pkg_resources():
    """setuptools >= 82 has no pkg_resources: mmengine cannot resolve
    ``mmpretrain::`` bases; with famt_mm imported first it can."""
    broken = python(BLOCK_PKG_RESOURCES + LOAD_PACKAGE_BASE_CONFIG)
    assert broken.returncode != 0
    assert 'pkg_resources' in broken.stderr
    fixed = python(BLOCK_PKG_RESOURCES + 'import famt_mm\n' +
                   LOAD_PACKAGE_BASE_CONFIG)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert fixed.stdout.split()[-2:] == ['FAMTMAE', '400']


def test_installed_path_fallback_agrees_with_mmengine():
    from mmengine.utils import get_installed_path

    from famt_mm.compat import _distribution_path, _is_installed
    for package in ('mmpretrain', 'mmengine', 'mmcv'):
        assert _distribution_path(package) == get_installed_path(package)
    assert _is_installed('mmpretrain')
    assert not _is_installed('surely-not-a-package-famt')


# the expression LVISEval.accumulate fails on
LVIS_ACCUMULATE = '''
import lvis.eval
np = lvis.eval.np
print(np.cumsum([[1, 0]], axis=1).astype(dtype=np.float))
'''


def test_lvis_np_float():
    broken = python(LVIS_ACCUMULATE)
    assert broken.returncode != 0 and "no attribute 'float'" in broken.stderr
    fixed = python('import famt_mm.compat as c; c.lvis_numpy2()\n' +
                   LVIS_ACCUMULATE)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    # only lvis.eval sees the alias; numpy itself is untouched
    check = python('import famt_mm.compat as c, numpy as np; '
                   'c.lvis_numpy2(); print(hasattr(np, "float"))')
    assert check.stdout.strip() == 'False'


class Payload:
    """Unpickling this runs code: it creates the file it names."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib
        return (pathlib.Path.touch, (pathlib.Path(self.marker), ))


@pytest.fixture
def payload_checkpoint(tmp_path, monkeypatch):
    """A checkpoint whose unpickling would create ``ran``, loaded under the
    pre-2.6 default (``weights_only=False`` unless a caller passes it)."""
    import torch
    marker = tmp_path / 'ran'
    path = tmp_path / 'payload.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(1)),
                    meta=Payload(str(marker))), path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    # the payload works where a loader does not insist on weights_only
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    return path, marker


def test_mmengine_loaders_never_unpickle_code(payload_checkpoint):
    import torch
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    import famt_mm  # noqa: F401
    path, marker = payload_checkpoint
    model = torch.nn.Linear(1, 1)
    for load in (lambda: load_checkpoint(model, str(path)),
                 lambda: CheckpointLoader.load_checkpoint(str(path))):
        with pytest.raises(pickle.UnpicklingError):
            load()
        assert not marker.exists()


def test_train_resume_refuses_a_payload(payload_checkpoint, tmp_path,
                                        photos_dir):
    from .test_tools import dumped_famt_cfg
    path, marker = payload_checkpoint
    config = dumped_famt_cfg(tmp_path, photos_dir)
    out = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--resume', str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'Weights only load failed' in out.stderr
    assert not marker.exists()


def test_converter_refuses_a_payload(payload_checkpoint, tmp_path):
    path, marker = payload_checkpoint
    out = subprocess.run(
        [sys.executable, 'tools/convert_checkpoint.py', str(path),
         str(tmp_path / 'out.pth'), '--target', 'mmseg'], cwd=ROOT,
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith('error: cannot load')
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def test_import_patches_no_launcher():
    """``import famt_mm`` registers components and makes loading safe; it
    leaves MMEngine's launcher and DDP wrapper alone until famt_mm.cpu_ddp
    is imported (tools/train.py, tools/test.py)."""
    code = textwrap.dedent('''
        import mmengine.dist.utils as dist_utils
        from mmengine.model import MMDistributedDataParallel as DDP
        launcher, wrapper = dist_utils._init_dist_pytorch, DDP.__init__
        import famt_mm
        assert dist_utils._init_dist_pytorch is launcher
        assert DDP.__init__ is wrapper
        import famt_mm.cpu_ddp
        assert dist_utils._init_dist_pytorch is not launcher
        assert DDP.__init__ is not wrapper
        print('OK')
    ''')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.stdout.strip().endswith('OK'), out.stderr[-2000:]


def test_copied_and_moved_runs_resume_their_own(tmp_path, photos_dir):
    """last_checkpoint names the work dir's file: a copied run resumes from
    its copy (not the original), a moved one resumes at all; an absolute
    name outside the work dir (MMEngine's hook) gives way to the work
    dir's file, with a warning."""
    import shutil

    from mmengine.runner import Runner

    import famt_mm.compat as compat
    from .conftest import tiny_famt_mae_cfg
    first = tmp_path / 'first'
    Runner.from_cfg(tiny_famt_mae_cfg(first, photos_dir, epochs=1, times=1,
                                      mode='random')).train()
    assert (first / 'last_checkpoint').read_text() == 'epoch_1.pth'
    moved = tmp_path / 'moved'
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    cfg = tiny_famt_mae_cfg(moved, photos_dir, epochs=2, times=1,
                            mode='random')
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    assert (moved / 'epoch_2.pth').is_file()
    (moved / 'last_checkpoint').write_text(str(first / 'epoch_2.pth'))
    with pytest.warns(UserWarning, match='resuming from .*moved/epoch_2'):
        assert compat._find_latest_checkpoint(str(moved)) == str(
            moved / 'epoch_2.pth')
    (moved / 'last_checkpoint').write_text(str(first / 'epoch_9.pth'))
    with pytest.warns(UserWarning, match='outside this work dir: resuming'):
        assert compat._find_latest_checkpoint(str(moved)) == str(
            first / 'epoch_9.pth')


@pytest.mark.parametrize('to_rgb', [True, False])
def test_panels_read_the_preprocessors_channel_order(to_rgb):
    """The mask panels undo BGR loading by reading MMPretrain's private
    ``_channel_conversion`` of the model's data preprocessor (with a
    default of False): a rename upstream would silently swap the panels'
    colours, so it is checked here on a preprocessor as configs build it."""
    from mmpretrain.registry import MODELS

    import famt_mm  # noqa: F401
    preprocessor = MODELS.build(dict(
        type='SelfSupDataPreprocessor', mean=[0.0] * 3, std=[1.0] * 3,
        to_rgb=to_rgb))
    assert getattr(preprocessor, '_channel_conversion') is to_rgb
