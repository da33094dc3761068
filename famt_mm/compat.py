"""Narrow fixes for OpenMMLab releases that predate torch 2.6 and NumPy 2.

Each fix is one function, idempotent, and only changes the behaviour that
is broken; ``tests/test_compat.py`` shows the breakage and the fix.
Importing ``famt_mm`` applies 1, 2 and 5, which loading configs and
checkpoints needs; the LVIS fix is applied by the detection side
(``famt_mm.det``), which is where LVIS is used; the CPU-DDP fix by the
project's ``tools/train.py`` and ``tools/test.py``, or by importing
``famt_mm.cpu_ddp`` (e.g. in ``custom_imports`` for ``mim train``).

1. Checkpoints never execute code. torch < 2.6 (and torch.hub's URL loader
   on every version) unpickles anything unless ``weights_only=True`` is
   passed, and MMEngine 0.10.7 never passes it (resume, ``load_from``,
   ``init_cfg``, ``load_checkpoint``): MMEngine's checkpoint module gets a
   ``torch`` whose ``load`` always passes it, and a ``load_url`` that does
   too. MMEngine's checkpoints hold objects the safe unpickler refuses
   (the message hub's ``HistoryBuffer`` and its statistic methods, NumPy
   arrays and scalars): exactly those are added to torch's allowlist
   (``torch.serialization.add_safe_globals``, torch >= 2.4, the floor).
2. setuptools >= 82 has no ``pkg_resources``, which MMEngine uses to find
   installed packages (``mmpretrain::`` base configs). Where it is missing,
   the two lookups fall back to ``importlib.metadata``.
3. ``lvis`` 0.5.3 uses ``np.float`` (removed in NumPy 1.24) in
   ``LVISEval.accumulate``; ``lvis.eval`` gets a NumPy view that still has
   it, and nothing else changes.
4. MMEngine's ``pytorch`` launcher calls ``torch.cuda.set_device``
   unconditionally and its DDP wrapper always
   passes ``device_ids=[LOCAL_RANK]``; both fail on a machine without GPUs.
   There, the process group is initialised without ``set_device`` (``nccl``,
   which needs GPUs, falls back to ``gloo`` with a warning) and CPU modules
   are wrapped without ``device_ids``. Machines with GPUs are untouched.
5. MMEngine's ``last_checkpoint`` holds an absolute path, so a run
   directory copied with ``cp -a`` resumes from the *original* directory's
   checkpoint and a moved one fails. ``SafeCheckpointHook`` writes the name
   relative to the work dir, and the runner's resume reads it so; an
   absolute name outside the work dir gives way, with a warning, to the
   work dir's file of the same name.

What importing ``famt_mm`` changes for the whole process: fixes 1, 2 and
5 above (every MMEngine checkpoint load is weights-only), the ``FAMT*``,
``LoadFAMTWeights``, ``SafeCheckpointHook``, ``EpochSeedHook``,
``BF16OptimWrapper`` and ``InMemoryImageFolder`` registrations in
MMPretrain's registries, MMEngine's ``atomic_local`` file backend, and
the FAMT configs in MMPretrain's ModelHub. Nothing else.

The private MMEngine (0.10, pinned in ``pyproject.toml``) and MMPretrain
APIs this package relies on, each with the test that guards it:

- ``mmengine.runner.checkpoint.torch`` and ``.load_url`` (fix 1):
  ``test_compat.py::test_mmengine_loaders_never_unpickle_code``;
- ``HistoryBuffer._statistics_methods`` (fix 1):
  ``test_compat.py::test_checkpoint_getattr_stays_restricted``;
- ``mmengine.utils.get_installed_path`` / ``is_installed`` (fix 2):
  ``test_compat.py::test_installed_path_fallback_agrees_with_mmengine``;
- ``mmengine.dist.utils._init_dist_pytorch`` and
  ``MMDistributedDataParallel.__init__`` (fix 4):
  ``test_compat.py::test_import_patches_no_launcher``, ``test_ddp.py``;
- ``CheckpointHook._save_checkpoint_with_step`` (``SafeCheckpointHook``):
  ``test_study.py::test_kill_during_checkpoint_save``;
- ``mmengine.runner.runner.find_latest_checkpoint`` (fix 5):
  ``test_compat.py::test_copied_and_moved_runs_resume_their_own``;
- ``mmengine.runner.checkpoint._load_checkpoint``
  (``famt_mm.engine.checkpoint.load_encoder``):
  ``test_evidence.py::test_linear_probe``;
- ``Runner._resume`` (read: a resume, not ``load_from``, is checked for
  another model size): ``test_hook.py::test_resuming_another_model_size``;
- MMPretrain's ``data_preprocessor._channel_conversion`` (the panels'
  BGR -> RGB):
  ``test_compat.py::test_panels_read_the_preprocessors_channel_order``.
"""
import importlib
import importlib.metadata
import importlib.util
import os.path as osp
import pickle
import types
import warnings

import numpy as np
import torch


def _history_buffer_getattr(obj, name):
    """The one ``getattr`` MMEngine checkpoints need: a HistoryBuffer
    statistic method (pickled inside the message hub). Anything else is
    refused, so allowing it does not open attribute access in general."""
    from mmengine.logging import HistoryBuffer

    # The four that HistoryBuffer.__init__ registers, and any added with
    # HistoryBuffer.register_statistics.
    allowed = {'min', 'max', 'mean', 'current',
               *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint')


def mmengine_checkpoint_globals() -> list:
    """Classes and functions that MMEngine checkpoints pickle."""
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(
        np, '_core') else np.core.multiarray
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float16, np.float32, np.float64,
                                    np.int32, np.int64, np.bool_, np.uint8)
    ]
    return [
        HistoryBuffer, multiarray._reconstruct, multiarray.scalar, np.ndarray,
        np.dtype, *dtype_classes, (_history_buffer_getattr, 'builtins.getattr')
    ]


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read MMEngine checkpoints."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def safe_load(f, map_location=None, **kwargs):
    """``torch.load`` with ``weights_only=True`` whatever the caller or the
    torch version's default."""
    kwargs['weights_only'] = True
    return torch.load(f, map_location=map_location, **kwargs)


class _WeightsOnlyTorch(types.ModuleType):
    """``torch`` as MMEngine's checkpoint module sees it: the same, but
    ``load`` is :func:`safe_load`."""

    load = staticmethod(safe_load)

    def __getattr__(self, name):
        return getattr(torch, name)


def mmengine_weights_only() -> None:
    """Route every checkpoint load of MMEngine through the safe unpickler
    (local files, URLs, and the schemes built on them)."""
    import mmengine.runner.checkpoint as checkpoint
    if isinstance(checkpoint.torch, _WeightsOnlyTorch):
        return
    checkpoint.torch = _WeightsOnlyTorch('torch')
    load_url = checkpoint.load_url

    def weights_only_load_url(*args, **kwargs):
        kwargs['weights_only'] = True
        return load_url(*args, **kwargs)

    checkpoint.load_url = weights_only_load_url


def _distribution_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without pkg_resources."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise
        return osp.dirname(spec.origin)
    top_level = (dist.read_text('top_level.txt') or package).split()[0]
    return osp.join(str(dist.locate_file('')), top_level)


def _is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without pkg_resources."""
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def mmengine_without_pkg_resources() -> bool:
    """Route MMEngine's package lookups through importlib.metadata when
    pkg_resources is gone. Returns whether the fallback was installed."""
    if importlib.util.find_spec('pkg_resources') is not None:
        return False
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (config_module, utils_module, package_utils):
        module.get_installed_path = _distribution_path
        module.is_installed = _is_installed
    return True


def _find_latest_checkpoint(path: str):
    """MMEngine's ``find_latest_checkpoint``, resolved against the work dir
    ``path``: a relative name (SafeCheckpointHook's) is the work dir's file;
    an absolute one outside it (MMEngine's CheckpointHook in a copied or
    moved run directory) gives way, with a warning, to the file of the same
    name in the work dir when there is one."""
    save_file = osp.join(path, 'last_checkpoint')
    if not osp.isfile(save_file):
        return _mmengine_find_latest_checkpoint(path)
    with open(save_file) as f:
        last = f.read().strip()
    if not osp.isabs(last):
        return osp.join(path, last)
    own = osp.join(path, osp.basename(last))
    if osp.realpath(osp.dirname(last)) != osp.realpath(path):
        if osp.isfile(own):
            warnings.warn(f'{save_file} names {last}, outside this work '
                          f'dir (a copied or moved run?): resuming from '
                          f'{own} instead')
            return own
        warnings.warn(f'{save_file} names {last}, outside this work dir: '
                      'resuming from it')
    return last


_mmengine_find_latest_checkpoint = None


def relative_last_checkpoint() -> None:
    """Let Runner's resume read ``last_checkpoint`` relative to its work dir
    (5.)."""
    global _mmengine_find_latest_checkpoint
    import mmengine.runner._flexible_runner as flexible
    import mmengine.runner.runner as runner
    if runner.find_latest_checkpoint is _find_latest_checkpoint:
        return
    _mmengine_find_latest_checkpoint = runner.find_latest_checkpoint
    runner.find_latest_checkpoint = _find_latest_checkpoint
    flexible.find_latest_checkpoint = _find_latest_checkpoint


def lvis_numpy2() -> None:
    """Give ``lvis.eval`` the ``np.float`` alias it still uses."""
    if hasattr(np, 'float'):
        return
    lvis_eval = importlib.import_module('lvis.eval')
    if isinstance(lvis_eval.np, types.ModuleType):
        numpy_view = types.ModuleType('numpy')
        numpy_view.__dict__.update(np.__dict__)
        numpy_view.float = float
        lvis_eval.np = numpy_view


def _on_cpu_only() -> bool:
    from mmengine.device import get_device
    return get_device() == 'cpu'


def cpu_distributed() -> None:
    """Let MMEngine's launchers and DDP wrapper run on CPU-only machines."""
    import mmengine.dist.utils as dist_utils
    from mmengine.model import MMDistributedDataParallel
    if getattr(dist_utils, '_famt_cpu_patch', False):
        return
    dist_utils._famt_cpu_patch = True

    init_pytorch = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if not _on_cpu_only() or init_backend != 'torch':
            return init_pytorch(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            warnings.warn('no GPU: using the gloo backend instead of nccl')
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch

    ddp_init = MMDistributedDataParallel.__init__

    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        params = list(module.parameters())
        if params and params[0].device.type == 'cpu':
            kwargs.pop('device_ids', None)  # torch refuses them for CPU
        ddp_init(self, module, detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = __init__


allow_mmengine_checkpoints()
mmengine_weights_only()
mmengine_without_pkg_resources()
relative_last_checkpoint()
