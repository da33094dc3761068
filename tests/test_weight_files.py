"""Weight files and the refresh data set, without a runner."""
import os

import numpy as np
import pytest
from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset
from torch.utils.data import Dataset

from famt_mm.datasets.weight_files import (load_weights, read_record,
                                           remove_weights, save_weights,
                                           tidy_directory, unusable_reason,
                                           weights_path)
from famt_mm.engine.refresh import base_dataset


def write(directory, epoch, maps, fingerprint='f' * 16):
    path = weights_path(str(directory), epoch)
    save_weights(path, maps.astype(np.float16),
                 dict(data_fingerprint=fingerprint))
    return path


def test_save_and_load_round_trip(tmp_path):
    maps = np.random.default_rng(0).uniform(0.01, 1, (3, 4, 4))
    path = write(tmp_path, 2, maps)
    assert path.endswith('epoch_2.npy')
    assert read_record(path) == dict(data_fingerprint='f' * 16)
    np.testing.assert_array_equal(load_weights(path, 3, (4, 4)),
                                  maps.astype(np.float16))
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.json', 'epoch_2.npy']


def test_unusable_reason_names_each_problem(tmp_path):
    good = write(tmp_path, 1, np.ones((3, 4, 4)))
    assert unusable_reason(good, 3, (4, 4), 'f' * 16) is None
    assert 'is missing' in unusable_reason(weights_path(str(tmp_path), 7), 3,
                                           (4, 4), 'f' * 16)
    assert 'shape (3, 4, 4)' in unusable_reason(good, 5, (4, 4), 'f' * 16)
    assert 'another data set' in unusable_reason(good, 3, (4, 4), 'e' * 16)
    # the checkpoint's record counts as much as the file's
    assert 'another data set' in unusable_reason(
        good, 3, (4, 4), 'f' * 16, [dict(data_fingerprint='e' * 16)])
    bad = np.ones((3, 4, 4))
    bad[2, 1, 1] = np.nan
    nan = write(tmp_path, 2, bad)
    assert 'cannot be used' in unusable_reason(nan, 3, (4, 4), 'f' * 16)
    with open(write(tmp_path, 3, np.ones((3, 4, 4))), 'r+b') as f:
        f.truncate(40)
    assert 'cannot be used' in unusable_reason(weights_path(str(tmp_path), 3),
                                               3, (4, 4), 'f' * 16)


def test_tidy_directory_and_remove_weights(tmp_path):
    write(tmp_path, 1, np.ones((2, 4, 4)))
    write(tmp_path, 3, np.ones((2, 4, 4)))
    (tmp_path / 'epoch_5.npy.77.tmp').write_bytes(b'half')
    done = tidy_directory(str(tmp_path), fresh_start=False)
    assert len(done) == 1 and 'epoch_5.npy.77.tmp' in done[0]
    assert sorted(os.listdir(tmp_path)) == [
        'epoch_1.json', 'epoch_1.npy', 'epoch_3.json', 'epoch_3.npy'
    ]
    remove_weights(str(tmp_path), [1, 9])  # a missing epoch is no error
    assert sorted(os.listdir(tmp_path)) == ['epoch_3.json', 'epoch_3.npy']
    done = tidy_directory(str(tmp_path), fresh_start=True)
    assert 'moved them to' in done[0]
    [kept] = [p for p in os.listdir(tmp_path) if p.startswith('previous_')]
    assert sorted(os.listdir(tmp_path /
                             kept)) == ['epoch_3.json', 'epoch_3.npy']


class Indexed(BaseDataset):

    def load_data_list(self):
        return [dict(img_path='a.jpg'), dict(img_path='b.jpg')]


class NoIndex(Dataset):
    pipeline = None

    def __len__(self):
        return 1

    def get_data_info(self, idx):
        return dict(img_path=f'{idx}.jpg')


def test_base_dataset_unwraps_and_refuses():
    data = Indexed()
    assert base_dataset(RepeatDataset(data, 3)) is data
    with pytest.raises(ValueError, match='does not support ConcatDataset'):
        base_dataset(ConcatDataset([data, Indexed()]))
    with pytest.raises(TypeError,
                       match="NoIndex does not give its samples "
                       "a 'sample_idx'"):
        base_dataset(NoIndex())


def test_settings_odd_records_and_odd_files(tmp_path):
    path = weights_path(str(tmp_path), 1)
    save_weights(path, np.ones((3, 4, 4), np.float16),
                 dict(data_fingerprint='f' * 16, mode='famt'))
    settings = dict(mode='famt', cutoff=0.25)
    assert "cutoff 'not recorded' -> 0.25" in unusable_reason(
        path, 3, (4, 4), 'f' * 16, settings=settings)
    assert "mode 'famt' -> 'attention'" in unusable_reason(
        path, 3, (4, 4), 'f' * 16, settings=dict(mode='attention'))
    (tmp_path / 'epoch_1.json').write_text('[1, 2]')  # not a record
    assert read_record(path) == {}
    np.savez(str(tmp_path / 'x.npz'), a=np.ones(3))
    os.replace(tmp_path / 'x.npz', path)  # an .npz under the .npy name
    assert 'cannot be used' in unusable_reason(path, 3, (4, 4), 'f' * 16)


def test_fingerprint_follows_file_contents(tmp_path):
    from mmpretrain.datasets import CustomDataset

    from famt_mm.datasets.weight_files import data_fingerprint
    for name, size in (('a', 10), ('b', 20)):
        (tmp_path / f'{name}.jpg').write_bytes(b'x' * size)

    def fingerprint():
        return data_fingerprint(CustomDataset(
            data_root=str(tmp_path), with_label=False, lazy_init=False))

    first = fingerprint()
    assert fingerprint() == first
    (tmp_path / 'a.jpg').write_bytes(b'y' * 11)  # rewritten in place
    assert fingerprint() != first


def test_content_fingerprint_sees_a_same_size_edit_with_its_time_kept(
        tmp_path, photos_dir):
    import os
    import shutil

    from mmpretrain.datasets import CustomDataset

    from famt_mm.datasets.weight_files import data_fingerprint
    folder = tmp_path / 'imgs' / 'a'
    folder.mkdir(parents=True)
    for name in sorted(os.listdir(photos_dir))[:3]:
        shutil.copy(os.path.join(photos_dir, name), folder / name)

    def fingerprints():
        dataset = CustomDataset(data_root=str(tmp_path / 'imgs'),
                                with_label=False)
        return (data_fingerprint(dataset),
                data_fingerprint(dataset, content=True))

    before = fingerprints()
    victim = sorted(folder.iterdir())[0]
    stat = victim.stat()
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF  # same size
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = fingerprints()
    assert after[0] == before[0]  # stat mode: documented blind spot
    assert after[1] != before[1]  # content mode sees it
