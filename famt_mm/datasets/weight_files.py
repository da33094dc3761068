"""The per-image weight maps of a run: files, records, the store that
serves them to the data pipeline, and :class:`WeightArchive`, their owner.

``work_dir/famt_weights/epoch_{E}.npy`` holds the (num_images, h, w)
float16 maps used from (0-based) epoch E on; ``epoch_{E}.json`` beside it
records what they were computed for (the data set's fingerprint, the grid
and the cue settings), so that a resumed run never reuses weights of other
data or settings.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import re
import time
from typing import Iterable, List, Optional

import numpy as np
import torch
from mmengine.dist import barrier, is_main_process
from mmengine.utils import ManagerMixin

from ..utils.checks import check_weight_values
from ..utils.fileio import check_writable_folder, save_atomic, save_json

WEIGHTS_SUBDIR = 'famt_weights'


def weights_path(directory: str, epoch: int) -> str:
    """File of the weights computed before (0-based) ``epoch``."""
    return osp.join(directory, f'epoch_{epoch}.npy')


def record_path(path: str) -> str:
    """The JSON record beside a weight file: what it was computed for."""
    return osp.splitext(path)[0] + '.json'


def read_record(path: str) -> dict:
    """The record of the weight file ``path``, or {} if there is none."""
    try:
        with open(record_path(path)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def data_fingerprint(dataset, content: bool = False) -> str:
    """A short hash of the data set's ordered samples: each image's path
    with its file size and modification time (or the image itself where
    there is no path). Weights are per sample index, so a weight file only
    fits the data it was computed for. Covered: images added, removed,
    renamed, reordered, or rewritten (size or mtime changes); not covered:
    a content change that keeps both size and mtime. ``content=True`` hashes
    every file's bytes instead of its size and time, which covers that too
    (reading the whole data set once per start)."""
    digest = hashlib.sha256()
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        item = info.get('img_path', info.get('img', idx))
        if isinstance(item, np.ndarray):
            digest.update(item.tobytes())
            continue
        digest.update(str(item).encode())
        try:
            stat = os.stat(item)
        except (OSError, TypeError, ValueError):  # not a local file
            continue
        if stat.st_size == 0:  # caught here, not in a worker mid-epoch
            raise ValueError(
                f'{item} is an empty file (0 bytes), not an image: remove '
                'it (tools/check_images.py DATA_DIR lists every file that '
                'does not decode)')
        if content:
            with open(item, 'rb') as f:
                digest.update(hashlib.sha256(f.read()).digest())
            continue
        digest.update(f'{stat.st_size}:{stat.st_mtime_ns}'.encode())
    return digest.hexdigest()[:16]


def load_weights(path: str, num_images: int, grid) -> np.ndarray:
    """Load a weight file and check it matches the data set and grid."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'FAMT weight file {path} does not exist')
    maps = np.load(path, mmap_mode='r')
    expected = (num_images, *grid)
    if maps.shape != expected:
        raise ValueError(
            f'FAMT weight file {path} has shape {maps.shape} but the '
            f'training set needs {expected} (images, weight grid): it was '
            'computed for another data set or model input size')
    for start in range(0, num_images, 65536):  # bounded memory
        check_weight_values(
            torch.from_numpy(np.array(maps[start:start + 65536])),
            f'FAMT weight file {path}', first_index=start)
    return maps


def save_weights(path: str, weights: np.ndarray, record: dict) -> None:
    """Write the maps and their record atomically (record first, so a
    weight file never exists without it)."""
    save_json(record_path(path), record)
    save_atomic(path, lambda f: np.save(f, weights))


def unusable_reason(path: str, num_images: int, grid, fingerprint: str,
                    records: Iterable[dict] = (),
                    settings: Optional[dict] = None) -> Optional[str]:
    """Why the weight file ``path`` cannot be reused for this data set, or
    None: missing, unreadable, wrong shape or values, computed for other
    data (its record's, or one of ``records``', data fingerprint differs
    from ``fingerprint``), or with other ``settings`` (the cue settings
    the weights depend on, as its record holds them)."""
    if not osp.isfile(path):
        return f'{path} is missing'
    record = read_record(path)
    odd = [r['data_fingerprint'] for r in (*records, record)
           if not isinstance(r.get('data_fingerprint', ''), str)]
    if odd:  # a hand-edited or foreign record
        return (f'{path} has an unreadable record (data_fingerprint '
                f'{odd[0]!r}, not a string)')
    recorded = {r.get('data_fingerprint') for r in (*records, record)}
    other = sorted(recorded - {fingerprint, None})
    if other:
        return (f'{path} was computed for another data set (data '
                f'fingerprint {other[0]}, this one is {fingerprint}: images '
                'changed, were added, removed, renamed or reordered)')
    changed = [f'{k} {record.get(k, "not recorded")!r} -> {v!r}'
               for k, v in (settings or {}).items() if record.get(k) != v]
    if changed:
        return (f'{path} was computed with other settings '
                f'({", ".join(changed)})')
    try:
        load_weights(path, num_images, grid)
    except Exception as e:  # noqa: B902  any unreadable or odd file
        return f'{path} cannot be used ({str(e).splitlines()[0]})'
    return None


def tidy_directory(directory: str, fresh_start: bool) -> List[str]:
    """Remove temporary files a crash left between write and rename; on a
    fresh start, move an earlier run's weight files to
    ``previous_<time>/`` instead of overwriting them. Returns what was
    done, one line each."""
    done = []
    for tmp in glob.glob(osp.join(directory, '*.tmp')):
        os.remove(tmp)
        done.append(f'removed {tmp}, left by a crash')
    old = glob.glob(osp.join(directory, 'epoch_*.*'))
    if fresh_start and old:
        keep = set_aside(directory, old)
        done.append(f'this run starts from epoch 0 but {directory} held '
                    f'weight files of an earlier run; moved them to {keep}')
    return done


def set_aside(directory: str, paths: Iterable[str]) -> str:
    """Move ``paths`` into ``directory/previous_<time>/`` (kept, not
    overwritten); returns that folder."""
    keep = osp.join(directory, time.strftime('previous_%Y%m%d_%H%M%S'))
    os.makedirs(keep, exist_ok=True)
    for path in paths:
        if osp.isfile(path):
            os.replace(path, osp.join(keep, osp.basename(path)))
    return keep


def remove_weights(directory: str, epochs: Iterable[int]) -> None:
    """Delete the weight files (and records) of ``epochs``."""
    for epoch in epochs:
        path = weights_path(directory, epoch)
        for stale in (path, record_path(path)):
            if osp.isfile(stale):
                os.remove(stale)


class FAMTWeightStore(ManagerMixin):
    """Where ``LoadFAMTWeights`` finds the weight maps, in every process.

    The meeting point of the hook and the data pipeline: both take the
    store of one name, ``FAMTWeightStore.get_instance('famt')`` (MMEngine's
    global-instance idiom, as ``MessageHub``). The run's
    :class:`WeightArchive` publishes into it; the transform only reads.

    The maps are an ``.npy`` file of shape (num_images, h, w), memory-mapped
    read-only by each process, so all workers and ranks on a node share one
    copy in the page cache. The path, a version number and the model's
    patch size sit in small shared-memory tensors: :meth:`publish` in the
    main process makes every worker, persistent ones included, reopen the
    new file on its next sample.
    """

    _PATH_BYTES = 4096

    def __init__(self, name: str = 'famt'):
        super().__init__(name)
        self._version = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._patch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._path = torch.zeros(
            self._PATH_BYTES, dtype=torch.uint8).share_memory_()
        self._cache = (0, None)  # this process's (version, memmap)

    @classmethod
    def named(cls, name) -> 'FAMTWeightStore':
        """The store called ``name`` (created on first use), or a
        ValueError for a name that is not a non-empty string."""
        if not isinstance(name, str) or not name:
            raise ValueError(f'store must be a non-empty name, got {name!r}')
        return cls.get_instance(name)

    def reset(self, patch_size: int = 0) -> None:
        """Nothing published (uniform weights); the model's patch size.
        Call before the dataloader workers start."""
        self._path.zero_()
        self._patch.fill_(patch_size)
        self._version.zero_()

    def publish(self, path: str) -> None:
        """Point every process at the maps in ``path`` (call between epochs,
        while the workers are idle)."""
        raw = os.path.abspath(path).encode()
        if len(raw) >= self._PATH_BYTES:
            raise ValueError(f'weight file path is too long: {path}')
        self._path.zero_()
        self._path[:len(raw)] = torch.frombuffer(
            bytearray(raw), dtype=torch.uint8)
        self._version += 1

    @property
    def patch_size(self) -> Optional[int]:
        """The model's patch size, set by the archive; None before."""
        return int(self._patch) or None

    @property
    def path(self) -> Optional[str]:
        """The published file, or None before the first publish."""
        if int(self._version) == 0:
            return None
        raw = bytes(self._path.numpy())
        return raw[:raw.index(0)].decode()

    def maps(self) -> Optional[np.ndarray]:
        """The published maps (memory-mapped), or None."""
        version = int(self._version)
        if version == 0:
            return None
        if self._cache[0] != version:
            self._cache = (version, np.load(self.path, mmap_mode='r'))
        return self._cache[1]

    def __getstate__(self):
        # Workers get the shared tensors, never another process's memmap.
        state = self.__dict__.copy()
        state['_cache'] = (0, None)
        return state


class WeightArchive:
    """The one owner of a run's weight maps: ``work_dir/famt_weights``, its
    tidy-up, atomic saves (with the DDP barrier), publishing to the
    dataloader workers through the :class:`FAMTWeightStore`, pruning, the
    resume reuse check and the checkpoint record. ``FAMTHook`` computes the
    maps and calls :meth:`commit`.

    Args:
        work_dir (str): the run's work directory.
        dataset: the training set (its fingerprint and size).
        grid (tuple): the weight maps' (h, w).
        settings (dict): the cue settings the maps depend on; with
            ``fingerprint='content'`` the data fingerprint hashes the files'
            bytes (:func:`data_fingerprint`).
        store (FAMTWeightStore): where the pipeline reads the maps.
        patch_size (int): the model's patch size, for the pipeline.
        max_keep (int): weight files kept; -1 keeps all.
    """

    def __init__(self, work_dir: str, dataset, grid, settings: dict,
                 store: FAMTWeightStore, patch_size: int, max_keep=-1):
        self.directory = osp.join(work_dir, WEIGHTS_SUBDIR)
        self.num_images = len(dataset)
        self.fingerprint = data_fingerprint(
            dataset, content=settings.get('fingerprint') == 'content')
        self.grid = tuple(grid)
        self.settings = settings
        self.store = store
        self.max_keep = max_keep
        self.live_epoch: Optional[int] = None
        store.reset(patch_size)

    def open(self, fresh_start: bool) -> List[str]:
        """Create and check the directory; on the main process remove a
        crash's temporary files and, on a fresh start, set an earlier
        run's files aside. Returns what was done, one line each."""
        os.makedirs(self.directory, exist_ok=True)
        check_writable_folder(self.directory)  # now, not after the warm-up
        if not is_main_process():
            return []
        return tidy_directory(self.directory, fresh_start)

    def record(self) -> dict:
        """What a checkpoint keeps: the live epoch and the data it fits."""
        return dict(weights_epoch=self.live_epoch,
                    num_images=self.num_images, grid=list(self.grid),
                    data_fingerprint=self.fingerprint)

    def reuse(self, epoch: int, checkpoint_record: dict) -> List[str]:
        """On resume: publish the saved weights of ``epoch`` (the live ones
        by the schedule) if they fit this data, grid and settings; else set
        the file aside (going back to the old data or settings must find
        it). Returns what the log should warn of; :attr:`live_epoch` says
        whether they were published or must be recomputed."""
        notes = []
        saved = checkpoint_record.get('weights_epoch')
        if saved is not None and saved != epoch:
            notes.append(f'the checkpoint used weights of epoch {saved} but '
                         f'the schedule says {epoch}; the schedule changed, '
                         f'using {epoch}')
        path = weights_path(self.directory, epoch)
        problem = unusable_reason(path, self.num_images, self.grid,
                                  self.fingerprint, [checkpoint_record],
                                  self.settings)
        if problem is None:
            self.publish(epoch)
            return notes
        if osp.isfile(path) and is_main_process():
            kept = set_aside(self.directory, [path, record_path(path)])
            problem += f' (the old file is kept in {kept})'
        return notes + [f'{problem}, so the resumed run cannot reuse its '
                        'weights; recomputing them with the resumed model now']

    def commit(self, epoch: int, weights: np.ndarray,
               concentration: Optional[dict] = None) -> str:
        """Check, save (rank 0, atomically), publish and prune the maps
        used from ``epoch`` on; returns the file. ``concentration`` (the
        masks' statistics) goes into the file's record."""
        if weights.shape != (self.num_images, *self.grid):
            raise ValueError(
                f'the refresh before epoch {epoch} made maps of shape '
                f'{weights.shape}, not ({self.num_images}, '
                f'{", ".join(map(str, self.grid))}) (images, weight grid)')
        check_weight_values(
            torch.from_numpy(weights),
            f'the refresh before epoch {epoch} (did training diverge?)')
        path = weights_path(self.directory, epoch)
        record = dict(data_fingerprint=self.fingerprint,
                      num_images=self.num_images, grid=list(self.grid),
                      **self.settings)
        if concentration:
            record['concentration'] = concentration
        if is_main_process():
            save_weights(path, weights, record)
        barrier()
        if not osp.isfile(path):  # a node without the shared work_dir
            save_weights(path, weights, record)
        self.publish(epoch)
        if is_main_process() and self.max_keep != -1:
            old = [e for e in saved_epochs(self.directory) if e < epoch]
            remove_weights(self.directory, old[:-(self.max_keep - 1) or None])
        return path

    def publish(self, epoch: int) -> None:
        """Make the weights of ``epoch`` the ones every worker reads."""
        self.store.publish(weights_path(self.directory, epoch))
        self.live_epoch = epoch


def check_max_keep(max_keep) -> None:
    """``max_keep``: -1 (keep every weight file) or an int >= 1."""
    if isinstance(max_keep, bool) or not isinstance(max_keep, int) \
            or max_keep == 0 or max_keep < -1:
        raise ValueError('max_keep_weights must be -1 (keep all) or an int '
                         f'>= 1, got {max_keep!r}')


def saved_epochs(directory: str) -> List[int]:
    """The epochs of the weight files in ``directory``, ascending."""
    names = (osp.basename(p) for p in glob.glob(osp.join(directory, '*')))
    return sorted(int(m.group(1)) for m in
                  (re.fullmatch(r'epoch_(\d+)\.npy', n) for n in names) if m)
