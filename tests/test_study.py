"""What the study stands on: checkpoints a kill cannot destroy, a data
stream that resume cannot change, arms that see the same batches after a
shared branch, deterministic probes, and the study tool end to end."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import torch

from famt_mm.engine.checkpoint import checkpoint_loads
from famt_mm.evaluation.experiment import (start_from_branch, stretch_schedule,
                                           warmup_cosine)
from .conftest import ROOT, load_tool, shared_dataset, tiny_famt_mae_cfg
from .test_tools import run

# ----------------------------------------------------------- checkpoints
KILL_AT_SECOND_SAVE = textwrap.dedent('''
    import os, signal, sys
    from mmengine.config import Config
    from mmengine.fileio import LocalBackend
    from mmengine.runner import Runner
    import mmengine.runner.checkpoint as ckpt_module
    import famt_mm
    from famt_mm.engine.hooks.checkpoint_hook import AtomicLocalBackend
    where, safe = sys.argv[2], sys.argv[3] == 'SafeCheckpointHook'
    saves = []

    def kill_at_second(original, half_file=None):
        def wrapped(*args, **kwargs):
            saves.append(1)
            if len(saves) == 2:
                if half_file:  # half the bytes on disk, then killed
                    with open(half_file(*args), 'wb') as f:
                        f.write(args[1][:len(args[1]) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return wrapped

    if where == 'serialise':  # killed while torch.save builds the bytes
        ckpt_module.torch.save = kill_at_second(ckpt_module.torch.save)
    elif safe:  # killed while writing the temporary file
        AtomicLocalBackend.put = kill_at_second(
            AtomicLocalBackend.put, lambda self, obj, path:
            f'{path}.{os.getpid()}.tmp')
    else:  # killed while writing the checkpoint in place
        LocalBackend.put = kill_at_second(
            LocalBackend.put, lambda self, obj, path: path)
    Runner.from_cfg(Config.fromfile(sys.argv[1])).train()
''')


@pytest.mark.parametrize('where', ['serialise', 'write'])
@pytest.mark.parametrize('hook', ['CheckpointHook', 'SafeCheckpointHook'])
def test_kill_during_checkpoint_save(tmp_path, photos_dir, hook, where):
    """SIGKILL in the second save, while the checkpoint is serialised or
    written: with SafeCheckpointHook the first checkpoint survives and the
    run resumes to the end; MMEngine's hook (max_keep_ckpts=1) loses it."""
    work = tmp_path / 'work'
    cfg = tiny_famt_mae_cfg(work, photos_dir, epochs=3, warmup=1)
    cfg.default_hooks.checkpoint = dict(type=hook, interval=1,
                                        max_keep_ckpts=1)
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    script = tmp_path / 'kill.py'
    script.write_text(KILL_AT_SECOND_SAVE)
    out = subprocess.run([sys.executable, str(script), config, where, hook],
                         cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == -9, out.stderr[-2000:]
    loads = checkpoint_loads
    if hook == 'CheckpointHook':  # the upstream behaviour this fixes
        assert not loads(str(work / 'epoch_1.pth'))
        return
    assert loads(str(work / 'epoch_1.pth'))
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'
    run([sys.executable, 'tools/train.py', config, '--resume'])
    assert loads(str(work / 'epoch_3.pth'))
    assert not list(work.glob('*.tmp'))  # the killed write's, tidied
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == ['epoch_3.pth']


# ------------------------------------------------------ the data stream
def batch_log_hook():
    """A hook class that records every training batch's sample indices and
    image bytes per epoch (registered once)."""
    from mmengine.hooks import Hook
    from mmpretrain.registry import HOOKS

    class RecordBatches(Hook):
        seen = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            images = torch.stack(list(data_batch['inputs']))
            idx = [s.sample_idx for s in data_batch['data_samples']]
            digest = hashlib.sha1(images.numpy().tobytes()).hexdigest()
            self.seen.append((runner.epoch, tuple(idx), digest))

    if 'RecordBatches' not in HOOKS.module_dict:
        HOOKS.register_module(module=RecordBatches)
    return HOOKS.get('RecordBatches')


class StopBefore:
    """Raise at the start of an epoch (after the previous checkpoint)."""

    def __init__(self, epoch):
        from mmengine.hooks import Hook

        class Stop(Hook):
            priority = 'HIGHEST'

            def before_train_epoch(hook, runner):
                if runner.epoch == epoch:
                    raise KeyboardInterrupt

        self.hook = Stop()


def seeded_cfg(work, data_root, mode='famt', epochs=2, warmup=1):
    cfg = tiny_famt_mae_cfg(work, data_root, epochs=epochs, warmup=warmup,
                            num_workers=1, mode=mode)
    cfg.train_dataloader.persistent_workers = False
    cfg.default_hooks.checkpoint = dict(type='SafeCheckpointHook',
                                        interval=1)
    cfg.custom_hooks = [dict(type='EpochSeedHook'), *cfg.custom_hooks,
                        dict(type='RecordBatches')]
    return cfg


def train(cfg, resume=False, extra_hooks=()):
    from mmengine.runner import Runner
    cfg = cfg.copy()
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    for hook in extra_hooks:
        runner.register_hook(hook)
    recorder = batch_log_hook()
    recorder.seen.clear()
    try:
        runner.train()
    except KeyboardInterrupt:
        pass
    return list(recorder.seen)


def test_interrupted_run_sees_the_uninterrupted_batches(tmp_path,
                                                        photos_dir):
    """Kill after epoch 1, resume: epoch 2 gets the same samples, crops and
    flips as in a run that went through; and epochs differ."""
    batch_log_hook()
    through = train(seeded_cfg(tmp_path / 'a', photos_dir, epochs=3))
    first = train(seeded_cfg(tmp_path / 'b', photos_dir, epochs=3),
                  extra_hooks=[StopBefore(1).hook])
    resumed = train(seeded_cfg(tmp_path / 'b', photos_dir, epochs=3),
                    resume=True)
    assert first == [b for b in through if b[0] == 0]
    assert resumed == [b for b in through if b[0] >= 1]
    by_epoch = [{b[1:] for b in through if b[0] == e} for e in range(3)]
    assert by_epoch[0] != by_epoch[1] != by_epoch[2]


def test_epoch_seed_hook_refuses_persistent_workers(tmp_path, photos_dir):
    batch_log_hook()
    cfg = seeded_cfg(tmp_path, photos_dir)
    cfg.train_dataloader.persistent_workers = True
    with pytest.raises(ValueError, match='persistent_workers=False'):
        train(cfg)


def test_arms_from_one_branch_see_identical_batches(tmp_path, photos_dir):
    """Random masking to the branch epoch once; random and FAMT arms resume
    from that checkpoint and see the same images, crops and flips."""
    batch_log_hook()
    branch = tmp_path / 'branch'
    cfg = seeded_cfg(branch, photos_dir, mode='random', epochs=1)
    train(cfg)
    seen = {}
    for arm in ('random', 'famt'):
        work = tmp_path / arm
        work.mkdir()
        start_from_branch(str(branch / 'epoch_1.pth'), str(work))
        assert os.path.samefile(work / 'epoch_1.pth', branch / 'epoch_1.pth')
        seen[arm] = train(seeded_cfg(work, photos_dir, mode=arm, epochs=3),
                          resume=True)
    assert seen['random'] == seen['famt']
    assert {b[0] for b in seen['famt']} == {1, 2}
    # the arms differ in their masks: FAMT refreshed at the branch
    assert (tmp_path / 'famt' / 'famt_weights' / 'epoch_1.npy').is_file()
    assert not (tmp_path / 'random' / 'famt_weights' / 'epoch_1.npy').exists()


def lr_log_hook():
    """A hook class that records the learning rate of every iteration."""
    from mmengine.hooks import Hook
    from mmpretrain.registry import HOOKS

    class RecordLR(Hook):
        seen = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            lr = runner.optim_wrapper.optimizer.param_groups[0]['lr']
            self.seen.append((runner.epoch, lr))

    if 'RecordLR' not in HOOKS.module_dict:
        HOOKS.register_module(module=RecordLR)
    return HOOKS.get('RecordLR')


def test_equal_compute_arm_continues_the_cosine(tmp_path, photos_dir):
    """An arm given more epochs than the branch's schedule starts from a
    copy of the branch whose cosine is stretched: same batches as the
    E-epoch arm, the learning rate continues from the branch's (no jump),
    stays above the E-epoch arm's and reaches the minimum at its own end
    (the branch's own schedule would stop at 0 an epoch early)."""
    batch_log_hook()
    record = lr_log_hook()

    def cfg(work, mode, epochs, total):
        c = seeded_cfg(work, photos_dir, mode=mode, epochs=epochs)
        c.param_scheduler = warmup_cosine(total, warmup=1)
        c.custom_hooks.append(dict(type='RecordLR'))
        return c

    branch = tmp_path / 'branch'
    train(cfg(branch, 'random', 1, 3))
    branch_ckpt = str(branch / 'epoch_1.pth')
    runs = {}
    for name, total in (('equal_epochs', 3), ('equal_compute', 4)):
        work = tmp_path / name
        work.mkdir()
        start_from_branch(branch_ckpt, str(work),
                          None if total == 3 else (3, total))
        record.seen.clear()
        batches = train(cfg(work, 'famt', total, total), resume=True)
        runs[name] = batches, list(record.seen)
    (same, lr_same), (longer, lr_longer) = runs['equal_epochs'], runs[
        'equal_compute']
    assert not os.path.samefile(tmp_path / 'equal_compute' / 'epoch_1.pth',
                                branch_ckpt)  # a copy, the branch untouched
    assert longer[:len(same)] == same  # the same batches to epoch 3
    assert {b[0] for b in longer} == {1, 2, 3}
    shared = [(a[1], b[1]) for a, b in zip(lr_same, lr_longer)]
    assert all(b >= a for a, b in shared)
    assert shared[0][1] == pytest.approx(shared[0][0], rel=0.05)
    longer_lrs = [lr for _, lr in lr_longer]
    assert all(a > b for a, b in zip(longer_lrs, longer_lrs[1:]))
    assert longer_lrs[-1] < 0.1 * longer_lrs[0]  # the cosine's tail
    # the added epoch still learns: not the schedule's frozen last rate
    assert next(lr for e, lr in lr_longer if e == 3) > 2 * lr_same[-1][1]
    with pytest.raises(ValueError, match='does not end at epoch 5'):
        stretch_schedule(branch_ckpt, str(tmp_path / 'x.pth'), 5, 6)


# ----------------------------------------------------------- the probes
def blobs(n, classes=4, dim=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=gen) * 2
    y = torch.arange(n) % classes
    return centres[y] + torch.randn(n, dim, generator=gen), y


def test_probes_are_deterministic_bit_for_bit():
    from famt_mm.evaluation.probes import knn_accuracy, logistic_probe
    train_x, train_y = blobs(400)
    test_x, test_y = blobs(200, seed=1)
    a = (knn_accuracy(train_x, train_y, test_x, test_y),
         logistic_probe(train_x, train_y, test_x, test_y))
    b = (knn_accuracy(train_x.clone(), train_y, test_x.clone(), test_y),
         logistic_probe(train_x.clone(), train_y, test_x.clone(), test_y))
    assert json.dumps(a) == json.dumps(b)


def test_fast_probe_gives_the_reference_numbers_bit_for_bit():
    """The L-BFGS fit through the cached transpose follows the plain
    autograd fit exactly (same weights, bit for bit), and fits run side by
    side in threads give what one after the other gives."""
    from concurrent.futures import ThreadPoolExecutor

    from famt_mm.evaluation.probes import (fit_logistic, logistic_probe,
                                           logistic_probes, torch_threads)
    x, y = blobs(600, classes=5, dim=24)
    for l2 in (1e-7, 1e-3, 1.0):
        fast = fit_logistic(x, y, l2, 5)
        plain = fit_logistic(x, y, l2, 5, cached_transpose=False)
        assert all(torch.equal(a, b) for a, b in zip(fast, plain))
    test_x, test_y = blobs(200, classes=5, dim=24, seed=1)
    feats = {k: x * (i + 1) for i, k in enumerate(('cls', 'mean'))}
    tests = {k: test_x * (i + 1) for i, k in enumerate(('cls', 'mean'))}
    with torch_threads(1):
        one_by_one = [logistic_probe(feats[k], y, tests[k], test_y,
                                     cached_transpose=False) for k in feats]
        with ThreadPoolExecutor(2) as pool:
            side_by_side = list(pool.map(lambda k: logistic_probe(
                feats[k], y, tests[k], test_y), feats))
            every_fit_in_the_pool = list(logistic_probes(
                feats, y, tests, test_y, map_fn=pool.map).values())
    assert json.dumps(one_by_one) == json.dumps(side_by_side) == json.dumps(
        every_fit_in_the_pool)


def test_features_do_not_depend_on_the_batch_size():
    """The probes' encoder pass batches by 128 (for speed, probes.features):
    the study's ViT-mini gives the same features, bit for bit, in batches
    of 128, 256 (the earlier size) or 7."""
    from famt_mm.evaluation.experiment import build_model, load_config
    from famt_mm.evaluation.probes import features
    torch.manual_seed(0)
    model = build_model(load_config(os.path.join(
        ROOT, 'configs/pretrain/mae/'
        'random-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py')))
    model.eval()
    images = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    by_128 = features(model, images)
    for batch in (256, 7):
        other = features(model, images, batch_size=batch)
        assert all(torch.equal(by_128[k], other[k]) for k in by_128)


def test_decoded_images_are_kept_and_read_back_unchanged(tmp_path,
                                                         photos_dir):
    from mmpretrain.datasets import CustomDataset

    from famt_mm.evaluation.probes import decoded_images
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(32, 32), backend='pillow',
                     interpolation='bicubic'),
                dict(type='PackInputs')]
    import shutil
    root = tmp_path / 'data'
    for i, photo in enumerate(sorted(os.listdir(photos_dir))):
        (root / f'class{i % 2}').mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(photos_dir, photo), root / f'class{i % 2}')
    dataset = CustomDataset(data_root=str(root), pipeline=pipeline)
    cache = tmp_path / 'cache'
    fresh = decoded_images(dataset, num_workers=0)
    kept = decoded_images(dataset, str(cache), num_workers=0)
    assert len(list(cache.glob('probe_images_*.npz'))) == 1
    again = decoded_images(dataset, str(cache), num_workers=0)
    for a, b, c in zip(fresh, kept, again):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert fresh[0].shape == (16, 3, 32, 32) and fresh[0].dtype == \
        torch.uint8


def test_knn_matches_a_plain_loop():
    from famt_mm.evaluation.probes import knn_accuracy
    train_x, train_y = blobs(60, dim=5)
    test_x, test_y = blobs(30, dim=5, seed=3)
    correct = 0
    for x, y in zip(test_x, test_y):
        sims = [float(torch.nn.functional.cosine_similarity(x, t, dim=0))
                for t in train_x]
        top = sorted(range(len(sims)), key=lambda i: -sims[i])[:20]
        votes = [0.0] * 4
        for i in top:
            votes[int(train_y[i])] += float(torch.tensor(sims[i] / 0.07)
                                            .exp())
        correct += max(range(4), key=votes.__getitem__) == int(y)
    assert knn_accuracy(train_x, train_y, test_x, test_y) == pytest.approx(
        100 * correct / 30)


def test_knn_with_fewer_samples_than_k():
    """Every training sample votes (16 images, k = 20)."""
    from famt_mm.evaluation.probes import knn_accuracy
    train_x, train_y = blobs(16, dim=5)
    assert knn_accuracy(train_x, train_y, train_x, train_y) == \
        knn_accuracy(train_x, train_y, train_x, train_y, k=16)


def test_logistic_fit_matches_scipy():
    """L-BFGS in torch reaches scipy's optimum of the same objective."""
    import numpy as np
    from scipy.optimize import minimize

    from famt_mm.evaluation.probes import fit_logistic
    x, y = blobs(200, classes=3, dim=6)
    x = x.double()
    l2 = 0.01

    def objective(theta):
        w = torch.tensor(theta[:18].reshape(6, 3), requires_grad=True)
        b = torch.tensor(theta[18:], requires_grad=True)
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) \
            + 0.5 * l2 * w.pow(2).sum()
        loss.backward()
        grad = np.concatenate([w.grad.numpy().ravel(), b.grad.numpy()])
        return float(loss.detach()), grad

    ref = minimize(objective, np.zeros(21), jac=True, method='L-BFGS-B',
                   options=dict(gtol=1e-10, maxiter=5000))
    w, b = fit_logistic(x, y, l2, 3)
    assert objective(np.concatenate([w.numpy().ravel(), b.numpy()]))[0] \
        == pytest.approx(ref.fun, abs=1e-8)


def test_l2_strength_is_chosen_on_training_data_only():
    """The test split cannot change the chosen L2 strength."""
    from famt_mm.evaluation.probes import logistic_probe
    train_x, train_y = blobs(300)
    test_x, test_y = blobs(100, seed=1)
    a = logistic_probe(train_x, train_y, test_x, test_y)
    b = logistic_probe(train_x, train_y, test_x, test_y.flip(0))
    assert a['l2'] == b['l2'] and a['heldout_by_l2'] == b['heldout_by_l2']


# ------------------------------------------------------ the study tool
def test_study_end_to_end(tmp_path):
    """Two seeds of the branched study on 64 CIFAR-10 images: the branch is
    trained once per seed and the arms resume from it; the summary has the
    paired differences with their intervals; a rerun is a no-op, and other
    settings in the same work dir are refused."""
    data = shared_dataset('cifar10-jpeg')
    work = tmp_path / 'study'
    cmd = [sys.executable, 'tools/study.py', '--data', data, '--seeds', '0',
           '1', '--arms', 'random', 'famt', 'uniform', '--branch-epoch', '1',
           '--epochs', '1', '--interval', '1', '--batch-size', '32',
           '--max-images', '64', '--parallel', '2', '--work-dir',
           str(work), '--results',
           str(tmp_path / 'committed.json')]
    run(cmd, timeout=1200)
    seeds = cmd.index('--seeds')  # the equal-compute arm of seed 0 only
    run(cmd[:seeds + 2] + cmd[seeds + 3:] + ['--equal-compute'],
        timeout=1200)
    result = json.loads((work / 'results.json').read_text())
    assert result['primary_metric'] == 'logreg_mean'
    assert len(result['commit']) == 40
    assert [(r['arm'], r['seed']) for r in result['runs']] == [
        ('branch', 0), ('init', 0), ('random', 0), ('famt', 0),
        ('uniform', 0), ('famt-equal-compute', 0), ('branch', 1),
        ('init', 1), ('random', 1), ('famt', 1), ('uniform', 1)]
    # the floor: the untrained encoder, probed; the guidance effect at
    # FAMT's budget paired by seed; FAMT's refresh concentration recorded
    assert result['arms']['init']['logreg_mean']['n'] == 2
    by_run = {(r['arm'], r['seed']): r['logreg_mean']
              for r in result['runs']}
    guidance = result['decomposition']['famt - uniform']['logreg_mean']
    assert guidance['diffs'] == [round(
        by_run['famt', s] - by_run['uniform', s], 2) for s in (0, 1)]
    famt_run = next(r for r in result['runs'] if r['arm'] == 'famt')
    assert set(famt_run['concentration']) == {'1'}
    assert 0 < famt_run['concentration']['1']['entropy'] <= 1
    assert 'famt' in result['concentration']
    assert {r['commit'] for r in result['runs']} == {result['commit']}
    # the equal-compute arm: the most epochs within random's FLOPs (here
    # one, as a refresh of 64 images costs more than the throwing saves)
    flops = result['flops']
    assert flops['famt-equal-compute']['epochs'] == 1
    assert flops['famt-equal-compute']['after_branch_gflop'] > flops[
        'random']['after_branch_gflop']
    assert result['paired_differences']['famt-equal-compute'][
        'logreg_mean']['n'] == 1
    diff = result['paired_differences']['famt']['logreg_mean']
    by = {(r['arm'], r['seed']): r['logreg_mean'] for r in result['runs']}
    expect = [by['famt', s] - by['random', s] for s in (0, 1)]
    assert diff['diffs'] == [round(d, 2) for d in expect]
    assert diff['ci95'][0] <= diff['mean'] <= diff['ci95'][1]
    famt, random = flops['famt'], flops['random']
    assert famt['train_gflop_per_image'] < 0.7 * random[
        'train_gflop_per_image']  # 10 of 64 patches in the encoder
    assert famt['refreshes'] == 1 and random['refreshes'] == 0
    assert famt['after_branch_gflop'] == pytest.approx(
        famt['epoch_gflop'] + famt['refresh_gflop'], rel=1e-3)
    for seed in (0, 1):
        branch_runs = list((work / f'seed{seed}' / 'branch').glob('2*/'))
        assert len(branch_runs) == 1  # trained once, shared by both arms
        for arm in ('random', 'famt'):
            log = next((work / f'seed{seed}' / arm).glob('*/*.log'))
            assert 'resumed epoch: 1' in log.read_text()
    run(cmd)  # everything finished: nothing is retrained or re-probed
    assert len(list((work / 'seed0' / 'famt').glob('2*/'))) == 1
    # a later session: a new work dir, the committed results of the first
    later = tmp_path / 'later'
    run(cmd[:cmd.index('--work-dir') + 1] + [str(later)] +
        cmd[cmd.index('--results'):])
    assert not (later / 'seed0').exists()
    out = subprocess.run(cmd[:cmd.index('--epochs') + 1] + ['2'] +
                         cmd[cmd.index('--epochs') + 2:], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert 'epochs: 1 -> 2' in out.stderr


def test_study_gpu_preset(tmp_path):
    """The GPU preset: its defaults under the options given, and the
    training images decoded once into memory (no LoadImageFromFile)."""
    from mmengine.config import Config
    study = load_tool('study')
    data = shared_dataset('cifar10-jpeg')
    args = study.parse_args(['--preset', 'gpu', '--data', data,
                             '--workers', '1', '--work-dir', str(tmp_path)])
    assert args.workers == 1  # given: wins over the preset's 3
    assert (args.device, args.parallel, args.seeds, args.max_images,
            args.in_memory, args.stop_after) == ('cuda', 4, [8, 9, 10, 11],
                                                 10000, True, 330)
    assert args.arms == ['random', 'famt', 'uniform', 'uniform-nothrow',
                         'famt-inverse', 'famt-shuffled']
    assert study.parse_args(['--data', data]).in_memory is None  # cpu
    args.arm_epochs = {'random': args.epochs}
    config = study.run_config(args, 'random', 4, str(tmp_path / 'run'))
    dataset = Config.fromfile(config).train_dataloader.dataset
    assert dataset.type == 'InMemoryImageFolder'
    assert 'LoadImageFromFile' not in [t['type'] for t in dataset.pipeline]
    assert len(dataset.indices) == 10000


def test_study_refuses_a_repeated_seed(capsys):
    study = load_tool('study')
    data = shared_dataset('cifar10-jpeg')
    with pytest.raises(SystemExit):
        study.parse_args(['--data', data, '--seeds', '0', '0'])
    assert '--seeds 0 0 repeats a seed' in capsys.readouterr().err


def test_study_arm_configs_set_the_controls(tmp_path):
    """Each control arm's run config has its FAMTHook key, on FAMT's
    recipe."""
    from mmengine.config import Config
    study = load_tool('study')
    args = study.parse_args(['--preset', 'controls', '--data',
                             shared_dataset('cifar10-jpeg'), '--work-dir',
                             str(tmp_path)])
    args.arm_epochs = {a: args.epochs for a in args.arms}
    hooks = {}
    for arm in args.arms:
        cfg = Config.fromfile(study.run_config(args, arm, 4,
                                               str(tmp_path / arm)))
        hook = cfg.custom_hooks[1]
        hooks[arm] = (hook.mode, hook.get('guidance', 'direct'))
    assert hooks == {
        'random': ('random', 'direct'), 'famt': ('famt', 'direct'),
        'uniform': ('uniform', 'direct'),
        'uniform-nothrow': ('uniform_nothrow', 'direct'),
        'famt-inverse': ('famt', 'inverse'),
        'famt-shuffled': ('famt', 'shuffled')}


def test_parallel_runs_parse_their_configs_one_at_a_time(tmp_path,
                                                         monkeypatch):
    """--parallel runs make their configs in threads, and Config.fromfile is
    not thread-safe (two threads resolving an mmpretrain:: base at once can
    fail in pkg_resources): the study and the reproduction parse one at a
    time. A parse held open for 0.2 s shows any overlap."""
    from mmengine.config import Config
    study = load_tool('study')
    reproduce = load_tool('reproduce_cifar10')
    data = shared_dataset('cifar10-jpeg')
    fromfile, open_now, most_open = Config.fromfile, [0], [0]

    def slow_fromfile(*args, **kwargs):
        open_now[0] += 1
        most_open[0] = max(most_open[0], open_now[0])
        time.sleep(0.2)
        try:
            return fromfile(*args, **kwargs)
        finally:
            open_now[0] -= 1

    monkeypatch.setattr(Config, 'fromfile', staticmethod(slow_fromfile))
    args = study.parse_args(['--data', data, '--work-dir', str(tmp_path)])
    args.arm_epochs = {'random': args.epochs, 'famt': args.epochs}
    reproduction = SimpleNamespace(preset='cpu', data=data, max_images=None,
                                   batch_size=8, workers=None, epochs=2)
    jobs = [lambda: study.run_config(args, None, 0, str(tmp_path / 'b')),
            lambda: study.run_config(args, 'famt', 0, str(tmp_path / 'f')),
            lambda: reproduce.pretrain_config(reproduction, 'random', 0,
                                              str(tmp_path / 'r'))]
    with ThreadPoolExecutor(len(jobs)) as pool:
        configs = list(pool.map(lambda job: job(), jobs))
    assert most_open[0] == 1
    assert all(os.path.isfile(c) for c in configs)


def test_a_study_does_not_continue_under_other_uncommitted_changes():
    study = load_tool('study')
    clean = dict(settings={}, commit='c0', dirty=False, diff='')
    study.check_same_study(clean, dict(clean), 'study.json')
    older = dict(settings={}, commit='c0', dirty=False)  # before 'diff'
    study.check_same_study(older, dict(clean), 'study.json')
    edited = dict(clean, dirty=True, diff='1f2e3d4c5b6a7980')
    with pytest.raises(SystemExit, match='this code has uncommitted'):
        study.check_same_study(clean, edited, 'study.json')
    with pytest.raises(SystemExit, match='with uncommitted changes; this '
                       'code has no uncommitted'):
        study.check_same_study(edited, clean, 'results.json')
    with pytest.raises(SystemExit, match='has other uncommitted'):
        study.check_same_study(edited, dict(edited, diff='0' * 16), 'x')
    study.check_same_study(edited, dict(edited), 'study.json')
