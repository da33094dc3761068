"""Weight maps follow crops and flips; the store reaches every worker."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from famt_mm.datasets.transforms import (FAMTRandomFlip, FAMTRandomResizedCrop,
                                         LoadFAMTWeights, crop_view, flip_view,
                                         pool_view)
from famt_mm.datasets.weight_files import FAMTWeightStore


def pixel_reference(weight_map, view, grid, res=240):
    """Independent reference: paint the map at ``res`` x ``res`` pixels,
    cut the view's pixels, average them per output patch."""
    cells = np.kron(weight_map, np.ones((res // weight_map.shape[0],
                                         res // weight_map.shape[1])))
    x0, y0, x1, y1 = (round(v * res) for v in view)
    region = cells[min(y0, y1):max(y0, y1), min(x0, x1):max(x0, x1)]
    if x0 > x1:
        region = region[:, ::-1]
    if y0 > y1:
        region = region[::-1]
    h, w = grid
    return region.reshape(h, region.shape[0] // h, w,
                          region.shape[1] // w).mean(axis=(1, 3))


@pytest.mark.parametrize('view', [
    (0.0, 0.0, 1.0, 1.0),
    (0.25, 0.5, 0.75, 1.0),
    (0.75, 0.0, 0.25, 0.5),  # horizontally flipped crop
    (0.1, 0.9, 0.6, 0.4),  # vertically flipped crop
])
def test_pool_view_matches_pixel_reference(view):
    rng = np.random.default_rng(0)
    weight_map = rng.random((6, 4))
    np.testing.assert_allclose(
        pool_view(weight_map, view, (4, 5)),
        pixel_reference(weight_map, view, (4, 5)), atol=1e-6)


def bright_corner(grid=14):
    weight_map = np.zeros((grid, grid), dtype=np.float32)
    weight_map[:2, :2] = 1.0  # top-left 2x2 patches
    return weight_map


def test_bright_corner_after_flip():
    out = pool_view(bright_corner(), flip_view((0, 0, 1, 1), 'horizontal'),
                    (14, 14))
    assert (out[:2, -2:] == 1).all() and out.sum() == 4  # now top-right
    out = pool_view(bright_corner(), flip_view((0, 0, 1, 1), 'vertical'),
                    (14, 14))
    assert (out[-2:, :2] == 1).all() and out.sum() == 4  # bottom-left


def test_bright_corner_after_crop():
    # Crop the top-left quarter of a 224 image, resized back to 14x14:
    # the 2x2 bright patches now cover 4x4 output patches.
    view = crop_view((0, 0, 1, 1), (0, 0, 112, 112), (224, 224))
    out = pool_view(bright_corner(), view, (14, 14))
    assert (out[:4, :4] == 1).all() and out.sum() == 16
    # A crop away from the corner sees nothing of it.
    view = crop_view((0, 0, 1, 1), (112, 112, 224, 224), (224, 224))
    assert pool_view(bright_corner(), view, (14, 14)).sum() == 0
    # Crop, then flip: the enlarged corner lands top-right.
    view = flip_view(crop_view((0, 0, 1, 1), (0, 0, 112, 112), (224, 224)),
                     'horizontal')
    out = pool_view(bright_corner(), view, (14, 14))
    assert (out[:4, -4:] == 1).all() and out.sum() == 16


def published_loader(tmp_path, maps, patch_size):
    # a store of its own: nothing another test published
    loader = LoadFAMTWeights(store=str(tmp_path), patch_size=patch_size)
    path = tmp_path / 'weights.npy'
    np.save(path, maps.astype(np.float16))
    loader.store.publish(str(path))
    return loader


@pytest.mark.parametrize('seed', range(4))
def test_real_transforms_move_weights_with_the_image(tmp_path, seed):
    """Encode the weight map in the pixels themselves: after the real crop,
    resize and flip, the per-patch mean of the image must equal the
    weights LoadFAMTWeights produces."""
    rng = np.random.default_rng(seed)
    weight_map = rng.random((8, 8))
    image = np.kron(weight_map * 255, np.ones((40, 40)))  # 320x320 pixels
    image = np.repeat(image[..., None], 3, axis=2).astype(np.uint8)
    loader = published_loader(tmp_path, weight_map[None], 16)
    crop = FAMTRandomResizedCrop(scale=128, crop_ratio_range=(0.2, 1.0),
                                 interpolation='area', backend='cv2')
    flip = FAMTRandomFlip(prob=0.5, direction=['horizontal', 'vertical'])
    torch.manual_seed(seed)
    np.random.seed(seed)
    results = loader(flip(crop(dict(img=image, sample_idx=0))))
    pixels = results['img'][..., 0].astype(np.float64) / 255
    expected = pixels.reshape(8, 16, 8, 16).mean(axis=(1, 3))
    got = results['famt_weights'].numpy()
    assert got.shape == (8, 8)
    # Resampling blurs cell borders a little; the layout must match.
    assert np.abs(got - expected).mean() < 0.02
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.98


def test_uniform_before_first_publish(tmp_path):
    out = LoadFAMTWeights(store=str(tmp_path), patch_size=4)(
        dict(img=np.zeros((32, 24, 3)), sample_idx=3))
    assert torch.equal(out['famt_weights'], torch.ones(8, 6))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r'\(30, 32\).*patch_size=4'):
        LoadFAMTWeights(patch_size=4)(dict(img=np.zeros((30, 32, 3))))
    loader = published_loader(tmp_path, np.ones((2, 4, 4)), 4)
    with pytest.raises(IndexError, match='sample_idx 5 .* holds 2 maps'):
        loader(dict(img=np.zeros((16, 16, 3)), sample_idx=5))
    with pytest.raises(KeyError, match='sample_idx'):
        loader(dict(img=np.zeros((16, 16, 3))))
    with pytest.raises(ValueError,
                       match='patch_size must be None or an int >= 1'):
        LoadFAMTWeights(patch_size=0)


class TinySet(Dataset):

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        out = self.loader(dict(img=np.zeros((8, 8, 3)), sample_idx=idx))
        return out['famt_weights']


@pytest.mark.parametrize('context', ['fork', 'spawn'])
def test_persistent_workers_see_new_weights(tmp_path, context):
    loader = LoadFAMTWeights(store=str(tmp_path), patch_size=4)
    data = DataLoader(TinySet(loader), batch_size=4, num_workers=2,
                      persistent_workers=True, multiprocessing_context=context)
    assert torch.equal(next(iter(data)), torch.ones(4, 2, 2))  # warm-up
    for version in (1, 2):
        maps = np.arange(4 * 4, dtype=np.float32).reshape(4, 2, 2) * version
        path = tmp_path / f'epoch_{version}.npy'
        np.save(path, maps)
        loader.store.publish(str(path))
        assert torch.equal(next(iter(data)), torch.from_numpy(maps))


def test_store_path_roundtrip(tmp_path):
    store = FAMTWeightStore.get_instance(str(tmp_path))
    assert store.path is None and store.maps() is None
    assert LoadFAMTWeights(store=str(tmp_path)).store is store  # one name
    np.save(tmp_path / 'w.npy', np.ones((1, 2, 2)))
    store.publish(str(tmp_path / 'w.npy'))
    assert store.path == str(tmp_path / 'w.npy')
    assert store.maps().shape == (1, 2, 2)
    store.reset(patch_size=4)  # a new run: nothing published
    assert store.path is None and store.patch_size == 4


@pytest.mark.parametrize('pipeline,match', [
    ([dict(type='RandomResizedCrop', scale=32),
      dict(type='FAMTRandomFlip', prob=0.5), dict(type='LoadFAMTWeights')],
     r'RandomResizedCrop \(pipeline step 0\) does not record'),
    ([dict(type='FAMTRandomResizedCrop', scale=32),
      dict(type='RandomFlip', prob=0.5), dict(type='LoadFAMTWeights')],
     r'RandomFlip \(pipeline step 1\) does not record'),
    ([dict(type='FAMTRandomResizedCrop', scale=32),
      dict(type='LoadFAMTWeights'), dict(type='FAMTRandomFlip', prob=0.5)],
     r'FAMTRandomFlip \(pipeline step 2\) comes after LoadFAMTWeights'),
])
def test_pipelines_the_weights_cannot_follow_are_refused(pipeline, match):
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    import famt_mm  # noqa: F401
    from famt_mm.datasets.transforms import check_weight_pipeline
    store = FAMTWeightStore.get_instance('famt')

    class Data:
        def __init__(self, steps):
            self.pipeline = Compose([TRANSFORMS.build(t) for t in steps])

    with pytest.raises(ValueError, match=match):
        check_weight_pipeline(Data(pipeline), store, 4)
    steps = [dict(type='FAMTRandomResizedCrop', scale=32),
             dict(type='FAMTRandomFlip', prob=0.5)]
    check_weight_pipeline(Data(steps + [dict(type='LoadFAMTWeights')]),
                          store, 4)
    with pytest.raises(ValueError, match='has no LoadFAMTWeights'):
        check_weight_pipeline(Data(steps), store, 4)
    with pytest.raises(ValueError, match="reads the store 'other' but "
                       "FAMTHook publishes to 'famt'"):
        check_weight_pipeline(
            Data(steps + [dict(type='LoadFAMTWeights', store='other')]),
            store, 4)
    with pytest.raises(ValueError, match=r'LoadFAMTWeights\(patch_size=8\) '
                       'but the backbone patches are 4 px'):
        check_weight_pipeline(
            Data(steps + [dict(type='LoadFAMTWeights', patch_size=8)]),
            store, 4)


@pytest.mark.parametrize('transform,kwargs,match', [
    (FAMTRandomResizedCrop, dict(scale=0), 'scale must be an int > 0'),
    (FAMTRandomResizedCrop, dict(scale=(32, -1)), r'got \(32, -1\)'),
    (FAMTRandomFlip, dict(prob=1.5), r'prob must be in \[0, 1\]'),
    (FAMTRandomFlip, dict(prob=0.5, direction='up'), "got 'up'"),
])
def test_crop_and_flip_arguments_get_messages(transform, kwargs, match):
    """MMPretrain / MMCV assert these without a message."""
    with pytest.raises(ValueError, match=match):
        transform(**kwargs)
    assert transform(**{**kwargs, 'scale': 32} if 'scale' in kwargs
                     else dict(prob=0.5)) is not None
