"""What the experiment tools share (``tools/reproduce_cifar10.py``,
``tools/study.py``): data checks, run configs and schedules, child runs
with their logs, wall times, and arms that start from a branch checkpoint.
"""
import fcntl
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
from collections import deque
from contextlib import contextmanager
from datetime import datetime
from typing import Optional

from ..utils.fileio import save_atomic, save_json
from .probes import spread_positions

# --parallel runs make their configs in threads, and Config.fromfile is not
# thread-safe: two threads resolving an mmpretrain:: base at once can fail in
# pkg_resources (TypeError: Expected str, Requirement, or Distribution)
CONFIG_LOCK = threading.Lock()
LOG_TIME = re.compile(r'(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) - mmengine')
# the committed recipe of each FAMTHook mode (the others run on FAMT's)
RECIPE_PREFIX = {'random': 'random', 'attention': 'amt', 'famt': 'famt'}


def recipe_prefix(mode: str) -> str:
    """The file-name prefix of ``mode``'s committed recipe."""
    return RECIPE_PREFIX.get(mode, 'famt')


def default_data() -> str:
    """The CIFAR-10 JPEG copy of ../shared/data, unpacked once; a
    ValueError saying to pass --data where it is absent."""
    from ..utils.shared_data import unpack_shared
    try:
        return unpack_shared('cifar10-jpeg')
    except FileNotFoundError as e:
        raise ValueError(f'no --data given and {e}: pass --data DIR with '
                         'train/ and test/ class folders') from None


def load_config(path: str, options: Optional[dict] = None):
    """``Config.fromfile(path)`` (or an installed package's config,
    ``mmpretrain::...``), one thread at a time, with ``options`` merged:
    the tools' one config loader."""
    from mmengine.config import Config
    with CONFIG_LOCK:
        if '::' in path:
            from mmengine.hub import get_config
            cfg = get_config(path)
        else:
            cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def build_model(cfg):
    """The config's model as MMEngine's Runner builds it: in the config's
    default scope (MMPretrain's if it names none), with the config's
    top-level ``data_preprocessor`` when the model has none of its own."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(cfg.model)


def folder_classes(root: str) -> list:
    """The class folders of ``root`` that hold at least one image (a
    RuntimeError when none does)."""
    from mmpretrain.datasets import CustomDataset
    dataset = CustomDataset(data_root=root)
    return sorted({dataset.CLASSES[i] for i in dataset.get_gt_labels()})


def check_data(data: str) -> None:
    """``data``/train and ``data``/test: class folders, the same classes
    in both, at least two. A ValueError says which and how to fix it, at
    argument parsing (before any training)."""
    found = {}
    for split in ('train', 'test'):
        root = osp.join(data, split)
        try:
            found[split] = folder_classes(root)
        except (FileNotFoundError, RuntimeError) as e:
            raise ValueError(f'--data {data}: {split}/ holds no class '
                             f'folders of images ({str(e).splitlines()[0]})'
                             ) from None
    if len(found['train']) < 2:
        raise ValueError(
            f'--data {data}: train/ has {len(found["train"])} class '
            f'{found["train"]}; a probe needs at least 2 (with one, every '
            'accuracy is 100% and every difference 0)')
    if found['train'] != found['test']:
        only = sorted(set(found['train']) ^ set(found['test']))
        raise ValueError(f'--data {data}: train/ and test/ have different '
                         f'classes (in one only: {only[:5]})')


def data_argument(parser, data: Optional[str]) -> str:
    """A tool's --data made absolute (default: the shared CIFAR-10 copy)
    and checked (:func:`check_data`): exits 1 when the shared archive is
    absent, as a usage error (2) for data that would make numbers wrong."""
    try:
        data = osp.abspath(data or default_data())
    except ValueError as e:  # the shared archive is absent
        sys.exit(str(e))
    try:
        check_data(data)  # before anything trains, not after
    except ValueError as e:
        parser.error(str(e))
    return data


def spread_indices(root: str, count: int) -> list:
    """``count`` indices spread evenly over the data set of class folder
    ``root``, counted from its own file list (MMPretrain's image
    extensions, sorted by class), so every class is covered."""
    from mmpretrain.datasets import CustomDataset
    return spread_positions(
        len(CustomDataset(data_root=root, with_label=False)), count)


def warmup_cosine(total: int, warmup: int) -> list:
    """``warmup`` linear epochs from 1e-4 of the rate, then a cosine to
    epoch ``total`` (per iteration): the recipes' schedule at any length."""
    schedule = [dict(type='LinearLR', start_factor=1e-4, by_epoch=True,
                     begin=0, end=warmup, convert_to_iter_based=True)
                ] if warmup else []
    return schedule + [dict(type='CosineAnnealingLR', T_max=total - warmup,
                            by_epoch=True, begin=warmup, end=total,
                            convert_to_iter_based=True)]


def most_epochs_within(cost, budget: float) -> int:
    """The most epochs ``e >= 1`` whose ``cost(e)`` (e.g. FLOPs after the
    branch, refreshes included; non-decreasing in ``e``) stays within
    ``budget``: the length of an equal-compute arm."""
    epochs = 1
    while cost(epochs + 1) <= budget:
        epochs += 1
    return epochs


def dump_run_config(cfg, seed: int, work_dir: str, log_interval: int) -> str:
    """Finish a run's config (atomic checkpoint every epoch, only the
    latest kept, so an interrupted run resumes where it stopped; seed;
    work dir) and dump it next to its outputs. Returns the dumped path."""
    cfg.default_hooks.checkpoint = dict(type='SafeCheckpointHook', interval=1,
                                        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=log_interval)
    cfg.randomness = dict(seed=seed, diff_rank_seed=True)
    cfg.work_dir = work_dir
    path = osp.join(work_dir, 'pretrain_config.py')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


class RunFailed(RuntimeError):
    """A child training or probe failed; the message names its log."""


def run_logged(cmd: list, log: str, env: Optional[dict] = None,
               cwd: Optional[str] = None, tail: int = 15) -> None:
    """Run ``cmd`` with its output appended to ``log``. The child dies with
    this process (Linux); a failure raises :class:`RunFailed` with the
    log's path and its last ``tail`` lines, where the reason is."""
    with open(log, 'a') as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                              cwd=cwd, env=env,
                              preexec_fn=die_with_parent).returncode
    if code:
        with open(log, errors='replace') as f:
            last = ''.join(deque(f, tail))
        raise RunFailed(f'{" ".join(map(str, cmd[:3]))} ... exited with '
                        f'{code}; the last lines of {log}:\n{last}')


def die_with_parent() -> None:
    """In a child before exec: SIGKILL it when its parent dies, so that a
    killed tool leaves no trainer writing its run directory."""
    import ctypes
    import signal
    try:
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
    except OSError:  # not Linux: nothing to ask for
        return
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextmanager
def run_lock(work_dir: str):
    """Hold ``work_dir``/.lock while a process trains or probes there (a
    :class:`RunFailed` if another holds it); the lock goes with the
    process, however it ends."""
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.lock')
    with open(path, 'a') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFailed(f'{work_dir} is in use by another process (it '
                            f'holds {path}): wait for it or stop it') from None
        yield


def check_run_settings(work_dir: str, settings: dict) -> None:
    """Record ``settings`` in a new run directory; a ValueError for one
    that holds a run made with others (its checkpoints would continue, and
    its numbers be reported, as these)."""
    path = osp.join(work_dir, 'settings.json')
    if not osp.isfile(path):
        os.makedirs(work_dir, exist_ok=True)
        save_json(path, settings)
        return
    with open(path) as f:
        then = json.load(f)
    changed = [f'{k} {then.get(k)!r} -> {v!r}' for k, v in settings.items()
               if then.get(k) != v]
    if changed:
        raise ValueError(f'{work_dir} holds a run with other settings '
                         f'({", ".join(changed)}); use another --work-dir')


def process_env(device: str, parallel: int = 1) -> dict:
    """The environment of a run's processes: no GPU in a ``device='cpu'``
    run, and with ``parallel`` runs side by side the cores split between
    them (unless OMP_NUM_THREADS is set)."""
    env = dict(os.environ)
    if device == 'cpu':  # keeps a present GPU out of the run
        env['CUDA_VISIBLE_DEVICES'] = ''
    if parallel > 1 and 'OMP_NUM_THREADS' not in env:
        # runs side by side share the cores; each with all of them as
        # torch threads slows both (on 2 cores a probe took 52 s, not 15)
        env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) //
                                         parallel))
    return env


def pretrain_seconds(work_dir: str) -> Optional[int]:
    """The pretraining's wall time summed over its starts (MMEngine writes
    one timestamped log per start), first to last log line of each: an
    interrupted start counts up to its last line, a resume adds its own."""
    total, found = 0.0, False
    for log in glob.glob(osp.join(work_dir, '*', '*.log')):
        with open(log, errors='replace') as f:
            stamps = [m.group(1) for m in map(LOG_TIME.match, f) if m]
        if stamps:
            first, last = (datetime.strptime(t, '%Y/%m/%d %H:%M:%S')
                           for t in (stamps[0], stamps[-1]))
            total += (last - first).total_seconds()
            found = True
    return round(total) if found else None


def stretch_schedule(src: str, dst: str, total: int, stretched: int) -> None:
    """Write checkpoint ``src`` to ``dst`` with its cosine ending at epoch
    ``stretched`` instead of ``total``. MMEngine's cosine is chainable: from
    the branch's learning rate it follows the longer cosine's ratios down to
    its minimum at the new end."""
    import torch

    from .. import compat  # noqa: F401  (MMEngine's checkpoint globals)
    ckpt = torch.load(src, map_location='cpu', weights_only=True)
    cosine = [s for s in ckpt['param_schedulers'] if 'T_max' in s]
    if len(cosine) != 1:
        raise ValueError(f'{src}: expected one cosine scheduler state, found '
                         f'{len(cosine)}')
    cosine = cosine[0]
    iters = cosine['T_max'] // (total - 1)  # iterations per epoch
    if cosine['T_max'] != iters * (total - 1) or cosine['end'] != \
            iters * total:
        raise ValueError(f'{src}: its cosine (T_max {cosine["T_max"]}, end '
                         f'{cosine["end"]}) does not end at epoch {total}')
    cosine.update(T_max=iters * (stretched - 1), end=iters * stretched)
    save_atomic(dst, lambda f: torch.save(ckpt, f))


def start_from_branch(branch_ckpt: str, work_dir: str,
                      stretch: tuple = None) -> None:
    """Give an arm the branch checkpoint as its last one (a hard link:
    shared, not recomputed or copied), unless it has started already.
    ``stretch`` = (total, stretched): a copy with its cosine stretched
    (:func:`stretch_schedule`) instead of the link."""
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        return
    target = osp.join(work_dir, osp.basename(branch_ckpt))
    if stretch:
        stretch_schedule(branch_ckpt, target, *stretch)
    elif not osp.isfile(target):
        try:
            os.link(branch_ckpt, target)
        except OSError:  # another file system: a copy
            import shutil
            shutil.copyfile(branch_ckpt, target)
    text = osp.basename(target).encode()  # relative: see compat (5.)
    save_atomic(last, lambda f: f.write(text))
