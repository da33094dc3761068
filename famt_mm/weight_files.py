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
            return json.load(f)
    except (OSError, ValueError):
        return {}


def data_fingerprint(dataset) -> str:
    """A short hash of the data set's ordered samples (image paths, or the
    images where there are no paths): weights are per sample index, so a
    weight file only fits the data it was computed for."""
    digest = hashlib.sha256()
    data_bytes = getattr(dataset, 'data_bytes', None)
    if isinstance(data_bytes, np.ndarray):  # BaseDataset's serialized list
        digest.update(memoryview(np.ascontiguousarray(data_bytes)))
    else:
        for idx in range(len(dataset)):
            info = dataset.get_data_info(idx)
            item = info.get('img_path', info.get('img', idx))
            digest.update(item.tobytes() if isinstance(item, np.ndarray) else
                          str(item).encode())
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
                    records: Iterable[dict] = ()) -> Optional[str]:
    """Why the weight file ``path`` cannot be reused for this data set, or
    None: missing, unreadable, wrong shape or values, or computed for other
    data (its record's, or one of ``records``', data fingerprint differs
    from ``fingerprint``)."""
    if not osp.isfile(path):
        return f'{path} is missing'
    recorded = {
        r.get('data_fingerprint')
        for r in (*records, read_record(path))
    }
    recorded.discard(None)
    if recorded - {fingerprint}:
        return (f'{path} was computed for another data set (data '
                f'fingerprint {sorted(recorded)[0]}, this one is '
                f'{fingerprint}: images changed, were added, removed or '
                'reordered)')
    try:
        load_weights(path, num_images, grid)
    except (OSError, ValueError) as e:
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
        keep = osp.join(directory, time.strftime('previous_%Y%m%d_%H%M%S'))
        os.makedirs(keep, exist_ok=True)
        for path in old:
            os.replace(path, osp.join(keep, osp.basename(path)))
        done.append(f'this run starts from epoch 0 but {directory} held '
                    f'weight files of an earlier run; moved them to {keep}')
    return done


def remove_weights(directory: str, epochs: Iterable[int]) -> None:
    """Delete the weight files (and records) of ``epochs``."""
    for epoch in epochs:
        path = weights_path(directory, epoch)
        for stale in (path, record_path(path)):
            if osp.isfile(stale):
                os.remove(stale)
