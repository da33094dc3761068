"""Every config in configs/ parses and builds its model; FAMT pretraining
configs are internally consistent."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from famt_mm.evaluation.experiment import build_model
from .conftest import CONFIGS

ALL = sorted(
    p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in p)
PRETRAIN = [p for p in ALL if osp.basename(p).startswith(
    ('famt-', 'amt-', 'random-'))]


def test_there_are_configs_for_every_family():
    names = {osp.relpath(p, CONFIGS) for p in ALL}
    for family in ('pretrain/mae/', 'pretrain/simmim/', 'pretrain/benchmarks/',
                   'det/', 'seg/'):
        assert any(n.startswith(family) for n in names), family
    for prefix in ('famt-', 'amt-', 'random-'):
        for algo in ('mae', 'simmim'):
            assert any(osp.basename(p).startswith(f'{prefix}{algo}_vit-base')
                       for p in ALL)


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_builds_its_model(path):
    import famt_mm  # noqa: F401
    model = build_model(Config.fromfile(path))
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('path', PRETRAIN, ids=osp.basename)
def test_famt_pretraining_config_is_consistent(path):
    import famt_mm  # noqa: F401
    cfg = Config.fromfile(path)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'FAMTHook']
    assert len(hooks) == 1
    mode = hooks[0].get('mode', 'famt')
    name = osp.basename(path)
    expected = {'famt-': 'famt', 'amt-': 'attention', 'random-': 'random'}
    assert mode == next(v for k, v in expected.items() if name.startswith(k))
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    loaders = [t for t in dataset.pipeline if t['type'] == 'LoadFAMTWeights']
    assert len(loaders) == 1
    # the hook gives the pipeline the model's patch size
    assert 'patch_size' not in loaders[0]
    grid = model.patch_grid
    for gen in (model.mask_generator, model.warmup_mask_generator):
        units = (grid[0] // gen.mask_unit) * (grid[1] // gen.mask_unit)
        n_mask, _, n_vis = gen.counts(units)
        assert n_mask >= 1 and n_vis >= 1
    # Mask noise must differ across ranks, and runs must be reproducible.
    assert cfg.randomness.get('seed') is not None
    assert cfg.randomness.get('diff_rank_seed') is True
    # SimMIM: the paper's cadence (20% warm-up and interval); its random
    # baseline at SimMIM's own r = 0.6, the AMT/FAMT warm-up at 0.44.
    if cfg.model.type == 'FAMTSimMIM' and 'vit' in name:
        if mode != 'random':
            assert hooks[0]['warmup_epochs'] == hooks[0]['interval'] == 0.2
        ratio = model.warmup_mask_generator.mask_ratio
        assert ratio == (0.6 if mode == 'random' else 0.44)


def test_model_index_lists_every_config_and_is_valid():
    from mmpretrain.apis import ModelHub
    from modelindex import load

    import famt_mm  # noqa: F401  (registers the metafiles with ModelHub)
    index = load(osp.join(osp.dirname(CONFIGS), 'model-index.yml'))
    index.build_models_with_collections()
    errors = [e for e in index.collect_check_errors() if e['errors']]
    assert not errors, errors
    listed = [m.config for m in index.models]
    assert len(listed) == len(set(listed)), 'a config is listed twice'
    for config in listed:
        assert osp.isfile(osp.join(osp.dirname(CONFIGS), config)), config
    families = ('pretrain/mae/', 'pretrain/simmim/', 'det/', 'seg/')
    expected = {'configs/' + osp.relpath(p, CONFIGS) for p in ALL
                if osp.relpath(p, CONFIGS).startswith(families)}
    assert expected == set(listed), expected ^ set(listed)
    for model in index.models:
        if model.config.startswith('configs/pretrain/'):
            assert ModelHub.get(model.name).config.filename.endswith(
                osp.basename(model.config))


# Published per-channel statistics (0-255, RGB). STL-10 and Tiny-ImageNet
# are ImageNet subsets / ImageNet-like: ImageNet's, as MMPretrain uses.
IMAGENET = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
DATASET_STATS = {
    'cifar10': ([125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]),
    'cifar100': ([129.304, 124.070, 112.434], [68.170, 65.392, 70.418]),
    'stl10': IMAGENET,
    'tiny-imagenet': IMAGENET,
}


@pytest.mark.parametrize('dataset', sorted(DATASET_STATS))
def test_pretraining_and_probing_normalise_alike(dataset):
    """Every 224-px small-data pretraining config and the benchmark configs
    that probe and fine-tune it read the same images, normalised with the
    data set's own statistics (RandAugment fills with its mean)."""
    paths = glob.glob(
        osp.join(CONFIGS, 'pretrain', '*', f'*_{dataset}-224px.py'))
    assert len(paths) == 4, paths  # MAE, SimMIM, linear, fine-tuning
    mean, std = DATASET_STATS[dataset]
    roots = set()
    for path in paths:
        cfg = Config.fromfile(path)
        pre = cfg.data_preprocessor
        assert [list(pre.mean), list(pre.std)] == [mean, std], path
        data = cfg.train_dataloader.dataset
        # CIFAR's arrays are RGB; decoded files are BGR
        assert pre.to_rgb == (data.type == 'CustomDataset'), path
        roots.add((data.type, data.data_root))
        for step in data.pipeline:
            if step.type == 'RandAugment':
                fill = [round(m) for m in mean]
                assert list(step.hparams.pad_val) == (
                    fill[::-1] if pre.to_rgb else fill), path
    assert len(roots) == 1, roots


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_saves_checkpoints_atomically(path):
    """A kill during a save cannot destroy the run: every config saves with
    SafeCheckpointHook (found through its own scope) and imports famt_mm,
    which registers it."""
    from mmengine.registry import HOOKS

    from famt_mm.engine.hooks.checkpoint_hook import SafeCheckpointHook
    cfg = Config.fromfile(path)
    assert 'famt_mm' in cfg.custom_imports['imports'] or any(
        i.startswith('famt_mm.') for i in cfg.custom_imports['imports'])
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    hook = cfg.default_hooks.checkpoint
    with HOOKS.switch_scope_and_registry(None) as registry:  # as Runner
        assert registry.get(hook['type']) is SafeCheckpointHook, hook['type']
