"""FAMTHook under DDP: 2 CPU processes (gloo) end with identical, complete
weights, equal to a single-process refresh with the same model; their mask
noise differs, and rank-identical seeds are warned about."""
import os
import os.path as osp
import socket
from types import SimpleNamespace

import numpy as np
import torch
import torch.multiprocessing as mp

from .conftest import tiny_famt_mae_cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def worker(rank, world_size, port, work_dir, photos_dir, guidance='direct'):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    from mmengine.runner import Runner

    import famt_mm  # noqa: F401
    import famt_mm.cpu_ddp  # noqa: F401  (as tools/train.py)
    from famt_mm.datasets.weight_files import weights_path
    from famt_mm.engine.hooks.famt_hook import FAMTHook
    from famt_mm.utils.seeding import shared_rank_seed

    # 15 photos: the two shards differ in size (8 and 7).
    cfg = tiny_famt_mae_cfg(work_dir, photos_dir, epochs=3, warmup=2,
                            interval=5)
    cfg.train_dataloader.dataset.dataset.indices = 15
    cfg.custom_hooks[0].guidance = guidance
    cfg.launcher = 'pytorch'
    cfg.env_cfg = dict(dist_cfg=dict(backend='gloo'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, FAMTHook))
    # what this rank published last (after_run unpublishes the store)
    maps = np.load(weights_path(hook.archive.directory,
                                hook.archive.live_epoch))
    np.save(osp.join(work_dir, f'rank{rank}.npy'), maps)
    with open(osp.join(work_dir, f'rank{rank}.seeds'), 'w') as f:
        f.write(f'{runner.seed} {hook.seed}')
    if guidance != 'direct':
        return
    with open(osp.join(work_dir, f'rank{rank}.phase'), 'w') as f:
        f.write(runner.model.module.mask_phase)
    # The next masks each rank draws for the same batch positions.
    model = runner.model.module
    for name in ('warmup_mask_generator', 'mask_generator'):
        mask = getattr(model, name)(torch.ones(4, 8, 8))
        np.save(osp.join(work_dir, f'rank{rank}.{name}.npy'), mask.numpy())
    # diff_rank_seed=True gave the ranks different seeds: no warning; the
    # same seed on both ranks is warned about.
    warnings = []
    fake_runner = SimpleNamespace(
        logger=SimpleNamespace(warning=warnings.append))
    assert shared_rank_seed(fake_runner.logger) is None
    torch.manual_seed(7)
    assert shared_rank_seed(fake_runner.logger) == 7
    with open(osp.join(work_dir, f'rank{rank}.warnings'), 'w') as f:
        f.write('\n'.join(warnings))


def test_ddp_two_cpu_ranks_share_complete_weights(tmp_path, photos_dir):
    mp.spawn(worker, args=(2, free_port(), str(tmp_path), photos_dir),
             nprocs=2, join=True)
    rank0 = np.load(tmp_path / 'rank0.npy')
    rank1 = np.load(tmp_path / 'rank1.npy')
    assert rank0.shape == (15, 8, 8)
    np.testing.assert_array_equal(rank0, rank1)
    assert (tmp_path / 'rank1.phase').read_text() == 'guided'
    for name in ('warmup_mask_generator', 'mask_generator'):
        masks = [np.load(tmp_path / f'rank{r}.{name}.npy') for r in (0, 1)]
        assert masks[0].shape == (4, 64)
        assert (masks[0] != masks[1]).any(axis=1).all(), name
    for r in (0, 1):
        warnings = (tmp_path / f'rank{r}.warnings').read_text()
        assert warnings.count('FAMT: all 2 ranks have the random seed 7') == 1
        assert 'diff_rank_seed=True' in warnings
    # Every image got its own weights, in data set order: recompute them
    # in one process from the checkpoint the refresh used (after epoch 2).
    from mmengine.runner import Runner

    from famt_mm.engine.hooks.famt_hook import FAMTHook
    cfg = tiny_famt_mae_cfg(tmp_path / 'single', photos_dir, epochs=3,
                            warmup=2, interval=5)
    cfg.train_dataloader.dataset.dataset.indices = 15
    cfg.load_from = str(tmp_path / 'epoch_2.pth')
    cfg.train_cfg.max_epochs = 0  # set everything up, train nothing
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, FAMTHook))
    hook.refresh(runner, 2)
    single = np.load(tmp_path / 'single' / 'famt_weights' / 'epoch_2.npy')
    np.testing.assert_allclose(single.astype(np.float32),
                               rank0.astype(np.float32), atol=2e-3)
    assert not np.allclose(rank0[0], rank0[1])


def test_ddp_shuffled_guidance_is_the_same_on_every_rank(tmp_path,
                                                         photos_dir):
    """The ranks' seeds differ (diff_rank_seed), the shuffle uses rank 0's:
    both ranks train with the same shuffled maps."""
    mp.spawn(worker, args=(2, free_port(), str(tmp_path), photos_dir,
                           'shuffled'), nprocs=2, join=True)
    np.testing.assert_array_equal(np.load(tmp_path / 'rank0.npy'),
                                  np.load(tmp_path / 'rank1.npy'))
    seeds = [(tmp_path / f'rank{r}.seeds').read_text().split()
             for r in (0, 1)]
    assert seeds[0][0] != seeds[1][0]  # the runners' own seeds
    assert seeds[0][1] == seeds[1][1] == seeds[0][0]  # the shuffle's
