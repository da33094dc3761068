"""The weight files a refresh writes: layout, records, checks.

``work_dir/famt_weights/epoch_{E}.npy`` holds the (num_images, h, w)
float16 maps used from (0-based) epoch E on; ``epoch_{E}.json`` beside it
records what they were computed for (the data set's fingerprint, the grid
and the mode), so that a resumed run never reuses weights of other data.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import time
from typing import Iterable, List, Optional

import numpy as np
import torch

from .fileio import save_atomic, save_json
from .masking import check_weight_values

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


def data_fingerprint(dataset) -> str:
    """A short hash of the data set's ordered samples: each image's path
    with its file size and modification time (or the image itself where
    there is no path). Weights are per sample index, so a weight file only
    fits the data it was computed for. Covered: images added, removed,
    renamed, reordered, or rewritten (size or mtime changes); not covered:
    a content change that keeps both size and mtime."""
    digest = hashlib.sha256()
    data_bytes = getattr(dataset, 'data_bytes', None)
    if isinstance(data_bytes, np.ndarray):  # BaseDataset's serialized list
        digest.update(memoryview(np.ascontiguousarray(data_bytes)))
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        item = info.get('img_path', info.get('img', idx))
        if isinstance(item, np.ndarray):
            digest.update(item.tobytes())
            continue
        digest.update(str(item).encode())
        try:
            stat = os.stat(item)
            digest.update(f'{stat.st_size}:{stat.st_mtime_ns}'.encode())
        except (OSError, TypeError, ValueError):  # not a local file
            pass
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
