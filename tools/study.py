"""Branched, paired study: random vs AMT vs FAMT MAE and the controls that
separate guidance from the token budget, deterministic probes.

    python tools/study.py [--preset cpu|controls|gpu] [--data DIR]
        [--seeds 0 1 2] [--arms random famt attention uniform
        uniform-nothrow famt-inverse famt-shuffled] [--equal-compute]
        [--branch-epoch 10]
        [--epochs 20] [--interval 3] [--amp] [--batch-size 256]
        [--workers 1] [--in-memory] [--max-images N] [--device cpu|cuda]
        [--threads T] [--parallel P] [--stop-after SECONDS]
        [--work-dir work_dirs/study_cifar10] [--results FILE.json]

The authors' protocol (docs/results.md section 8): per seed, one
random-masking MAE run to the branch epoch W, saved once; then every arm
(random, AMT = 'attention', FAMT = 'famt') resumes from that same
checkpoint for E more epochs, with the same data order, crops and flips
(EpochSeedHook: a function of seed, epoch and rank, so an interrupted and
resumed arm sees what an uninterrupted one sees). The arms differ only in
their masks after the branch: random r .75; AMT / FAMT r .45, t .40 with a
refresh at W and every --interval epochs. The recipe is the CPU-sized
configs/pretrain/mae/*-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py
(a 6-block ViT of ViT-Tiny width, patch 4 at 32 px) with one linear
warm-up epoch and a cosine to epoch W + E.

The control arms (docs/method.md 8a) are FAMTHook keys on the same
recipe: 'uniform' (FAMT's counts on uniform weights), 'uniform-nothrow'
(FAMT's visible count, nothing thrown: random r = 54/64), 'famt-inverse'
and 'famt-shuffled' (FAMT's refreshed maps reversed / another image's).

Every finished run is probed (tools/linear_probe.py: weighted k-NN and
L-BFGS logistic regression on [CLS] and on the mean patch token, and the
SGD probe), the branch too, and per seed the untrained encoder ('init',
the floor). Arms with refreshes record the concentration of their masks
per refresh (from the weight files' records). After every run
WORK_DIR/results.json and results.md hold every finished run, FLOPs
(torch.utils.flop_counter, a training step counted as three forward
passes), wall times, and for each
arm the paired differences to random of the same seed with a 95% t
interval (and FAMT - AMT), and the decomposition's paired differences
(DECOMPOSITION: r .75 -> uniform-nothrow -> uniform -> FAMT; inverse and
shuffled against uniform). Jobs run in the order: branch, floor, random,
FAMT, uniform for every seed, then each further arm for every seed.

Equal compute (--equal-compute): besides the E-epoch arms, AMT and FAMT
arms ('famt-equal-compute', 'attention-equal-compute') that train for the
most epochs E' whose FLOPs after the branch, refreshes included, stay
within the random arm's E epochs. They start from a copy of the branch
checkpoint whose cosine is stretched to end at W + E' (stretch_schedule):
MMEngine restores the scheduler's length from the checkpoint, so a longer
config alone would hold the added epochs at the rate the shorter cosine
ends on, near 0. They run after all E-epoch arms.

Presets (defaults of the options they name; an option given wins):

cpu (default): seeds 0 1 2, every training image, one run at a time on
    2 threads. docs/benchmarks/study_cifar10.json was made with
    --seeds 0 1 2 3 --max-images 10000 --parallel 2.
controls: the decomposition (docs/results.md 9): seeds 4 5 6 7, the arms
    random famt uniform uniform-nothrow famt-inverse famt-shuffled, 10,000
    images, two arms at a time.
gpu: the controls study (recipe, W, E, interval, batch, 10,000 images,
    fp32) on one CUDA GPU for seeds 8-11: four runs at a time, three
    dataloader workers each, the images decoded once into memory
    (InMemoryImageFolder: crops, flips and FAMT transforms still run per
    sample), and no job started after 330 s. Sized, not measured, for
    about 8 minutes of one H100/H200 with 16 cores, installation from
    carried wheels included (tools/device_study.sh; the sizing is in
    docs/results.md section 8). Every finished run's numbers are written
    as it finishes; the wall times it records resize a later start.

Resumable: a finished run (final checkpoint that loads, probe result) is
skipped, an interrupted one resumes from its last epoch. The work dir
records the study's settings and the git commit of the code that runs it,
and refuses to continue under other settings, or under another commit
unless that commit differs from the recorded one in tools/study.py alone
(so that arms can be added without touching what the finished runs
measured); every run records the commit it ran from. Run the study from
its own worktree (git worktree add ../famt-study COMMIT).
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from famt_mm.engine.checkpoint import checkpoint_loads
from famt_mm.evaluation.experiment import (RunFailed, check_run_settings,
                                           data_argument, dump_run_config,
                                           load_config, most_epochs_within,
                                           pretrain_seconds, process_env,
                                           recipe_prefix, run_lock, run_logged,
                                           spread_indices, start_from_branch,
                                           warmup_cosine)
from famt_mm.evaluation.statistics import paired_summary
from famt_mm.evaluation.study_report import accuracy_vs_flops, factor_table
from famt_mm.utils.fileio import save_atomic, save_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECIPE = osp.join(ROOT, 'configs', 'pretrain', 'mae',
                  '{}-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py')
# Each arm's FAMTHook settings after the branch (docs/method.md, 8).
ARM_HOOKS = {
    'random': dict(mode='random'),
    'famt': dict(mode='famt'),
    'attention': dict(mode='attention'),
    'uniform': dict(mode='uniform'),
    'uniform-nothrow': dict(mode='uniform_nothrow'),
    'famt-inverse': dict(mode='famt', guidance='inverse'),
    'famt-shuffled': dict(mode='famt', guidance='shuffled'),
}
ARMS = tuple(ARM_HOOKS)
GUIDED = ('famt', 'attention')  # arms that can get an equal-compute twin
EQUAL_COMPUTE = '-equal-compute'  # suffix of the equal-compute arms
ALL_ARMS = (*ARMS, *(a + EQUAL_COMPUTE for a in GUIDED))
CONTROL_ARMS = ['random', 'famt', 'uniform', 'uniform-nothrow',
                'famt-inverse', 'famt-shuffled']
PRESETS = dict(
    cpu=dict(seeds=[0, 1, 2], arms=list(ARMS[:3]), workers=1, device='cpu',
             threads=2, parallel=1, work_dir='work_dirs/study_cifar10'),
    # the decomposition (docs/results.md 9): new seeds, its own results
    controls=dict(seeds=[4, 5, 6, 7], arms=CONTROL_ARMS, max_images=10000,
                  workers=1, device='cpu', threads=2, parallel=2,
                  work_dir='work_dirs/study_controls_cifar10'),
    gpu=dict(seeds=[8, 9, 10, 11], arms=CONTROL_ARMS, max_images=10000,
             workers=3, in_memory=True, device='cuda', threads=4, parallel=4,
             stop_after=330, work_dir='work_dirs/study_controls_cifar10_gpu'))
PRIMARY = ('logreg', 'mean')  # named in docs/results.md before the runs
METRICS = (('logreg', 'mean'), ('logreg', 'cls'), ('knn', 'mean'),
           ('knn', 'cls'), ('sgd', 'cls'))
# The decomposition's paired differences (arm, base), each one factor:
DECOMPOSITION = (
    ('uniform-nothrow', 'random', 'fewer visible tokens (r .75 -> r .85)'),
    ('uniform', 'uniform-nothrow', 'throwing reconstruction targets'),
    ('famt', 'uniform', 'guidance at FAMT\'s budget (primary)'),
    ('famt-inverse', 'uniform', 'inverse guidance'),
    ('famt-shuffled', 'uniform', 'shuffled guidance (no link to content)'),
    ('famt', 'famt-shuffled', 'content of the guidance'),
    ('famt', 'famt-inverse', 'direction of the guidance'),
)


def git_commit() -> dict:
    """The commit of the code that runs, whether it has changes, and a
    hash of those changes (tools/study.py aside: see only_study_changed)."""
    def git(*args):
        return subprocess.run(['git', *args], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    commit = git('rev-parse', 'HEAD')
    if not commit:  # a copy without .git: tools/device_study.sh says it
        commit, _, dirty = os.environ.get('FAMT_STUDY_COMMIT', '').partition(
            ' ')
        return dict(commit=commit or 'unknown', dirty=dirty == 'dirty',
                    diff='')
    code = ('famt_mm', 'tools', 'configs', 'requirements.txt')
    changes = git('diff', 'HEAD', '--', *code, ':(exclude)tools/study.py')
    for path in git('ls-files', '--others', '--exclude-standard', '--',
                    *code).split():
        with open(osp.join(ROOT, path), 'rb') as f:
            changes += f'\n{path}\n' + hashlib.sha256(f.read()).hexdigest()
    return dict(commit=commit, dirty=bool(git(
        'status', '--porcelain', '--', *code)),
        diff=hashlib.sha256(changes.encode()).hexdigest()[:16]
        if changes else '')


def settings(args) -> dict:
    """What the study's numbers depend on."""
    return dict(data=osp.abspath(args.data), branch_epoch=args.branch_epoch,
                epochs=args.epochs, interval=args.interval, amp=args.amp,
                batch_size=args.batch_size, workers=args.workers,
                max_images=args.max_images, device=args.device,
                recipe=osp.relpath(RECIPE, ROOT).format('{arm}'))


def check_study(args) -> tuple:
    """Record the settings and commit on the first start; refuse a
    continuation (this work dir, or the --results file of earlier
    sessions) that differs in either. Returns the study as first
    recorded (its commit: the one it started from) and this code's."""
    path = osp.join(args.work_dir, 'study.json')
    now = dict(settings=settings(args), **git_commit())
    first = now
    for earlier in (path, args.results):  # the results file is the oldest
        if earlier and osp.isfile(earlier):
            then = read_study_file(earlier)
            check_same_study(then, now, earlier)
            first = {k: then[k] for k in ('settings', 'commit', 'dirty',
                                          'diff') if k in then}
    if not osp.isfile(path):
        if now['dirty']:
            print('[study] warning: famt_mm/, tools/ or configs/ have '
                  'uncommitted changes: the recorded commit is not all of '
                  'the code that runs', flush=True)
        save_json(path, now)
    return first, now


def read_study_file(path: str) -> dict:
    """A study.json or --results file; exits naming it when it is not
    one (truncated, not JSON, not an object with 'settings' and 'runs')."""
    try:
        with open(path) as f:
            study = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f'study: {path} cannot be read as a study file ({e}); '
                 'restore it (git checkout, or the work dir\'s results.json) '
                 'or pass another --results / --work-dir')
    missing = [k for k in ('settings', 'commit') if not isinstance(
        study, dict) or k not in study]
    if missing:
        sys.exit(f'study: {path} is not a study file (no {missing[0]!r}); '
                 'pass the results.json of a study, or another --results')
    return study


def check_same_study(then: dict, now: dict, where: str) -> None:
    changed = [f'{k}: {then["settings"].get(k)!r} -> {v!r}'
               for k, v in now['settings'].items()
               if then['settings'].get(k) != v]
    if changed:
        sys.exit(f'study: {where} holds a study with other settings '
                 f'({"; ".join(changed)}); use another --work-dir / '
                 '--results')
    then_diff = then.get('diff', '' if not then.get('dirty') else None)
    if now['diff'] != then_diff:
        sys.exit(f'study: {where} was made from commit {then["commit"]}'
                 + (' with uncommitted changes' if then.get('dirty') else '')
                 + '; this code has ' + ('no ' if not now['diff'] else
                                         'other ' if then_diff else '')
                 + 'uncommitted changes under famt_mm/, tools/ or configs/, '
                 'so its numbers would not be the same code\'s: continue '
                 'from the code the study started with')
    if now['commit'] != then['commit'] and not only_study_changed(
            then['commit'], now['commit']):
        sys.exit(f'study: {where} was made at commit {then["commit"]}; '
                 f'this code is {now["commit"]}. Continue it from a worktree '
                 'of that commit: git worktree add ../famt-study '
                 f'{then["commit"]}')


def only_study_changed(then: str, now: str) -> bool:
    """Whether the code at commit ``now`` differs from ``then`` in
    tools/study.py alone (docs and tests aside)."""
    out = subprocess.run(['git', 'diff', '--name-only', then, now, '--',
                          'famt_mm', 'tools', 'configs', 'requirements.txt'],
                         cwd=ROOT, capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.split() in (
        [], ['tools/study.py'])


def masking(arm: str) -> str:
    """The masking of an arm: 'famt-equal-compute' masks as 'famt'."""
    return arm[:-len(EQUAL_COMPUTE)] if arm.endswith(EQUAL_COMPUTE) else arm


def arm_hook(arm: str) -> dict:
    """The FAMTHook settings of an arm (None: the branch, random)."""
    return dict(ARM_HOOKS[masking(arm or 'random')])


def recipe(arm: str) -> str:
    """The committed config an arm starts from (the controls: FAMT's)."""
    return RECIPE.format(recipe_prefix(arm_hook(arm)['mode']))


def run_config(args, arm: str, seed: int, work_dir: str) -> str:
    """The arm's recipe made a branch run (arm None: random masking to
    epoch W) or an arm (W + E epochs); dumped next to its outputs."""
    cfg = load_config(recipe(arm))
    pipeline = cfg.train_dataloader.dataset.pipeline
    if args.in_memory:  # decoded once, as LoadImageFromFile would
        pipeline = [t for t in pipeline if t['type'] != 'LoadImageFromFile']
    dataset = dict(type='InMemoryImageFolder' if args.in_memory else
                   'CustomDataset', data_root=osp.join(args.data, 'train'),
                   with_label=False, pipeline=pipeline)
    if args.max_images:
        dataset['indices'] = spread_indices(
            osp.join(args.data, 'train'), args.max_images)
    cfg.train_dataloader.update(
        dataset=dataset, batch_size=args.batch_size,
        num_workers=args.workers, persistent_workers=False)
    # the same schedule for the branch and every E-epoch arm: the branch is
    # their first W epochs (an equal-compute arm's cosine is stretched)
    total = args.branch_epoch + args.epochs
    cfg.param_scheduler = warmup_cosine(
        total if arm is None else args.branch_epoch + args.arm_epochs[arm],
        warmup=1)
    cfg.train_cfg.max_epochs = args.branch_epoch if arm is None else \
        args.branch_epoch + args.arm_epochs[arm]
    cfg.custom_hooks = [
        dict(type='EpochSeedHook'),
        dict(type='FAMTHook', **arm_hook(arm),
             warmup_epochs=args.branch_epoch, interval=args.interval,
             log_panels=0)
    ]
    if args.amp:  # bfloat16 autocast (MMEngine's AMP needs a GPU)
        cfg.optim_wrapper.type = 'BF16OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    return dump_run_config(cfg, seed, work_dir, log_interval=20)


def run_epochs(args, arm) -> int:
    """Epochs from 0 to a run's end (arm None: the branch)."""
    return args.branch_epoch + (0 if arm is None else args.arm_epochs[arm])


FLOOR = 'init'  # the untrained encoder's probes, beside the branch's


def run_dir(args, arm, seed) -> str:
    return osp.join(args.work_dir, f'seed{seed}', arm or 'branch')


def run_env(args, arm) -> dict:
    """The branch gets every thread; arms running --parallel share them."""
    threads = args.threads if arm is None else max(
        1, args.threads // args.parallel)
    return dict(process_env(args.device, args.parallel),
                OMP_NUM_THREADS=str(threads),
                PYTHONPATH=ROOT)


def pretrain(args, arm, seed) -> tuple:
    """Train (or resume) one run to its end unless its final checkpoint
    loads (arm None: the branch; an arm first gets the branch, trained
    here if its checkpoint is missing). Returns (config, checkpoint)."""
    if arm is None:  # once per seed, however many arms wait for it
        with args.branch_locks[seed]:
            return train_run(args, arm, seed)
    branch = pretrain(args, None, seed)[1]
    return train_run(args, arm, seed, branch)


def train_run(args, arm, seed, branch=None) -> tuple:
    work_dir = run_dir(args, arm, seed)
    epochs = run_epochs(args, arm)
    try:  # an edited settings file must not continue another run's epochs
        check_run_settings(work_dir, dict(settings(args), arm=arm or
                                          'branch', seed=seed, epochs=epochs))
    except ValueError as e:
        sys.exit(f'study: {e}')
    ckpt = osp.join(work_dir, f'epoch_{epochs}.pth')
    config = osp.join(work_dir, 'pretrain_config.py')
    if checkpoint_loads(ckpt):
        return config, ckpt
    with run_lock(work_dir):
        config = run_config(args, arm, seed, work_dir)
        if arm is not None:
            total = args.branch_epoch + args.epochs
            start_from_branch(branch, work_dir,
                              None if epochs == total else (total, epochs))
        print(f'[study] seed {seed}: {arm or "branch"} pretraining',
              flush=True)
        run_logged([sys.executable, 'tools/train.py', config, '--resume'],
                   osp.join(work_dir, 'pretrain.log'), run_env(args, arm),
                   cwd=ROOT)
    if not checkpoint_loads(ckpt):
        sys.exit(f'study: {ckpt} missing or unreadable after training; see '
                 f'{work_dir}/pretrain.log')
    return config, ckpt


def one_run(args, arm, seed) -> dict:
    """Pretrain (or resume) and probe one run (arm None: the branch; FLOOR:
    the branch's model at its random initialisation, not trained)."""
    work_dir = run_dir(args, arm, seed)
    if arm == FLOOR:
        os.makedirs(work_dir, exist_ok=True)
        config, weights = run_config(args, None, seed, work_dir), \
            ['--random-init']
    else:
        config, ckpt = pretrain(args, arm, seed)
        weights = [ckpt]
    probe_file = osp.join(work_dir, 'probe.json')
    if not osp.isfile(probe_file):
        print(f'[study] seed {seed}: {arm or "branch"} probes', flush=True)
        with run_lock(work_dir):
            run_logged(
                [sys.executable, 'tools/linear_probe.py', config, *weights,
                 '--train', osp.join(args.data, 'train'), '--test',
                 osp.join(args.data, 'test'), '--seed', str(seed),
                 '--device', args.device, '--out', probe_file] +
                (['--max-images', str(args.max_images)]
                 if args.max_images else []),
                osp.join(work_dir, 'probe.log'), run_env(args, arm),
                cwd=ROOT)
    return row(args, arm or 'branch', seed, work_dir,
               0 if arm == FLOOR else run_epochs(args, arm))


def refresh_concentration(work_dir) -> dict:
    """{epoch: the masks' concentration} of every refresh of a run, from
    its weight files' records (FAMTHook writes them); {} without one."""
    out = {}
    for path in glob.glob(osp.join(work_dir, 'famt_weights', 'epoch_*.json')):
        with open(path) as f:
            record = json.load(f)
        if 'concentration' in record:
            epoch = int(osp.basename(path)[len('epoch_'):-len('.json')])
            out[str(epoch)] = {k: round(v, 4) for k, v in
                               record['concentration'].items()}
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def iteration_seconds(work_dir) -> float:
    """Median seconds per training iteration in the MMEngine logs (robust
    to pauses and to the refreshes, unlike the wall time)."""
    times = []
    for log in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(log) as f:
            times += [json.loads(line)['time'] for line in f
                      if '"time"' in line]
    return round(statistics.median(times), 4) if times else None


def row(args, name, seed, work_dir, epochs) -> dict:
    with open(osp.join(work_dir, 'probe.json')) as f:
        probe = json.load(f)
    top1 = dict(logreg=lambda feat: probe['logreg'][feat]['test_top1'],
                knn=lambda feat: probe['knn'][feat],
                sgd=lambda feat: probe['test_top1'])  # [CLS] only
    metrics = {f'{p}_{feat}': top1[p](feat) for p, feat in METRICS}
    extra = {}
    if name not in ('branch', FLOOR) and refreshes_weights(name):
        extra['concentration'] = refresh_concentration(work_dir)
    return dict(arm=name, seed=seed, epochs=epochs,
                branch_epoch=args.branch_epoch, commit=args.commit, **extra,
                pretrain_seconds=pretrain_seconds(work_dir),
                iteration_seconds=iteration_seconds(work_dir),
                probe_seconds=probe['seconds'],
                logreg_l2={k: probe['logreg'][k]['l2']
                           for k in ('cls', 'mean')},
                **metrics)


def refreshes_weights(arm: str) -> bool:
    """Whether an arm's masks follow refreshed weights."""
    from famt_mm.models.utils.patch_weights import FUSIONS
    return arm_hook(arm)['mode'] in FUSIONS


def refreshes(args, epochs: int) -> int:
    """Refreshes in ``epochs`` epochs after the branch: FAMTHook's
    schedule (one at W, then every --interval epochs)."""
    from famt_mm.engine.hooks.famt_hook import refresh_schedule
    return len(refresh_schedule('famt', args.branch_epoch, args.interval,
                                args.branch_epoch + epochs)[1])


def flops(args) -> dict:
    """Forward FLOPs per image of each arm's training step after the
    branch and of a refresh (tools/benchmark.py's counter), and the
    FLOPs of each arm after the branch (a step = three forward passes).
    With --equal-compute, the equal-compute arms' epochs: the most whose
    FLOPs, refreshes included, stay within the random arm's."""
    import torch
    from bench.step import Bench
    torch.set_num_threads(args.threads)
    out = {}
    num_images = args.max_images or sum(
        1 for _ in glob.iglob(osp.join(args.data, 'train', '*', '*')))
    bench_args = SimpleNamespace(cfg_options={}, device=args.device,
                                 amp=False, compare_amp=False, batch_size=4)
    for arm in args.arms:
        bench_args.cfg_options = {'custom_hooks.0.mode':
                                  arm_hook(arm)['mode']}
        bench = Bench(recipe(arm), bench_args)
        step = 3 * bench.forward_flops() / bench.batch
        refresh = (bench.refresh_flops() / bench.batch * num_images
                   if refreshes_weights(arm) else 0)
        out[arm] = dict(train_gflop_per_image=step / 1e9,
                        epoch_gflop=step * num_images / 1e9,
                        refresh_gflop=refresh / 1e9)

    def after_branch(f, epochs):
        n = refreshes(args, epochs) if f['refresh_gflop'] else 0
        return dict(f, epochs=epochs, refreshes=n, after_branch_gflop=(
            epochs * f['epoch_gflop'] + n * f['refresh_gflop']))

    out = {arm: after_branch(f, args.epochs) for arm, f in out.items()}
    budget = out['random']['after_branch_gflop']
    for arm in [a for a in args.arms if a in GUIDED]:
        epochs = most_epochs_within(
            lambda e: after_branch(out[arm], e)['after_branch_gflop'], budget)
        if args.equal_compute:
            out[arm + EQUAL_COMPUTE] = after_branch(out[arm], epochs)
        out[arm]['equal_compute_epochs'] = epochs
    for f in out.values():
        f['ratio_to_random'] = f['after_branch_gflop'] / budget
    return {arm: {k: round(v, 4) if isinstance(v, float) else v
                  for k, v in f.items()} for arm, f in out.items()}


def paired(rows, arm, metric, base='random') -> dict:
    """Paired differences arm - base over seeds (:func:`paired_summary`)."""
    by_seed = {r['seed']: r[metric] for r in rows if r['arm'] == base}
    return paired_summary([r[metric] - by_seed[r['seed']] for r in rows
                           if r['arm'] == arm and r['seed'] in by_seed])


def summary(args, study, rows, flop_table) -> dict:
    metrics = [f'{p}_{f}' for p, f in METRICS]
    arms = {}
    done = [a for a in ALL_ARMS if a in args.run_arms or
            any(r['arm'] == a for r in rows)]  # finished in earlier starts
    for arm in ('branch', FLOOR, *done):
        mine = [r for r in rows if r['arm'] == arm]
        if not mine:
            continue
        arms[arm] = {m: dict(mean=round(statistics.mean(r[m] for r in mine),
                                        2),
                             sd=round(statistics.stdev(r[m] for r in mine), 2)
                             if len(mine) > 1 else None, n=len(mine))
                     for m in metrics}
    differences = {arm: {m: paired(rows, arm, m) for m in metrics}
                   for arm in done if arm != 'random'}
    famt_amt = {arm: {m: paired(rows, arm, m, base=arm.replace(
        'famt', 'attention')) for m in metrics}
        for arm in ('famt', 'famt' + EQUAL_COMPUTE)
        if {arm, arm.replace('famt', 'attention')} <= set(done)}
    decomposition = {
        f'{arm} - {base}': dict(reading=what, **{
            m: paired(rows, arm, m, base=base) for m in metrics})
        for arm, base, what in DECOMPOSITION if {arm, base} <= set(done)}
    concentration = {}
    for arm in done:
        by_epoch = {}
        for r in rows:
            if r['arm'] == arm:
                for epoch, stats in r.get('concentration', {}).items():
                    by_epoch.setdefault(epoch, []).append(stats)
        if by_epoch:  # mean over seeds, per refresh
            concentration[arm] = {
                epoch: {k: round(statistics.mean(s[k] for s in seen), 4)
                        for k in seen[0]} for epoch, seen in by_epoch.items()}
    return dict(primary_metric='_'.join(PRIMARY), **study,
                command='python tools/study.py ' + ' '.join(sys.argv[1:]),
                flops=flop_table, runs=rows, arms=arms,
                paired_differences=differences,
                famt_minus_attention=famt_amt, decomposition=decomposition,
                concentration=concentration)


def write_results(args, result) -> None:
    save_json(osp.join(args.work_dir, 'results.json'), result)
    if args.results:
        save_json(args.results, result)
        try:  # the figure and the factor table beside it
            report(args.results)
        except ImportError as e:  # a bare GPU machine: numbers first
            print(f'[study] no figure ({e}); run --report later', flush=True)
    metrics = [f'{p}_{f}' for p, f in METRICS]
    lines = ['| arm | seed | epochs | ' + ' | '.join(metrics) +
             ' | s/iter |', '|---' * (len(metrics) + 4) + '|']
    for r in result['runs']:
        lines.append(f'| {r["arm"]} | {r["seed"]} | {r["epochs"]} | ' +
                     ' | '.join(f'{r[m]:.2f}' for m in metrics) +
                     f' | {r["iteration_seconds"]} |')
    lines += ['', '| paired difference | ' + ' | '.join(metrics) + ' |',
              '|---' * (len(metrics) + 1) + '|']
    pairs = [(f'{arm} - random', diff)
             for arm, diff in result['paired_differences'].items()]
    pairs += [(f'{arm} - {arm.replace("famt", "attention")}', diff)
              for arm, diff in result['famt_minus_attention'].items()]
    pairs += [(name, diff) for name, diff in
              result.get('decomposition', {}).items()]
    for name, diff in pairs:
        cells = []
        for m in metrics:
            d = diff[m]
            cells.append('-' if not d['n'] else
                         f'{d["mean"]:+.2f} [{d["ci95"][0]:+.2f}, '
                         f'{d["ci95"][1]:+.2f}] (n={d["n"]})'
                         if 'ci95' in d else f'{d["mean"]:+.2f} (n=1)')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    if result.get('concentration'):
        lines += ['', '| arm | refresh before epoch | support | entropy | '
                  'always visible (share) | overlap (uniform) |',
                  '|---|---|---|---|---|---|']
        for arm, by_epoch in result['concentration'].items():
            for epoch, c in by_epoch.items():
                lines.append(
                    f'| {arm} | {epoch} | {c["support"]:.3f} | '
                    f'{c["entropy"]:.3f} | {c["always_visible"]:.2f} '
                    f'({c["always_visible_share"]:.3f}) | {c["overlap"]:.3f} '
                    f'({c["overlap_uniform"]:.3f}) |')
    text = ('\n'.join(lines) + '\n').encode()
    save_atomic(osp.join(args.work_dir, 'results.md'), lambda f: f.write(text))
    print('\n'.join(lines), flush=True)


def parse_args(argv=None):
    """The options, the preset's defaults under those given, checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--preset', choices=sorted(PRESETS), default='cpu',
                        help='defaults of the options it names (docstring)')
    parser.add_argument('--data', help='folder with train/ and test/ '
                        'class folders (default: the shared CIFAR-10 copy)')
    parser.add_argument('--seeds', type=int, nargs='+')
    parser.add_argument('--arms', nargs='+', choices=ARMS)
    parser.add_argument('--branch-epoch', type=int, default=10)
    parser.add_argument('--epochs', type=int, default=20,
                        help='epochs of every arm after the branch')
    parser.add_argument('--interval', type=int, default=3,
                        help='epochs between refreshes (AMT, FAMT)')
    parser.add_argument('--equal-compute', action='store_true',
                        help='also AMT / FAMT arms given the random arm\'s '
                        'FLOPs after the branch (after all E-epoch arms)')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast (CPU) / AMP (CUDA)')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--workers', type=int)
    parser.add_argument('--in-memory', action='store_true', default=None,
                        help='decode the training images once')
    parser.add_argument('--max-images', type=int,
                        help='N training and probe images')
    parser.add_argument('--device', choices=['cpu', 'cuda'])
    parser.add_argument('--threads', type=int,
                        help='torch threads in all (the branch gets them '
                        'all, --parallel arms share them)')
    parser.add_argument('--parallel', type=int,
                        help='arms trained at a time (after their branch)')
    parser.add_argument('--stop-after', type=float, help='start no job '
                        'after this many seconds (a later start goes on)')
    parser.add_argument('--work-dir')
    parser.add_argument('--results', help='a results.json of the same study '
                        '(settings and commit) that earlier sessions wrote: '
                        'its runs count as finished, and it is updated after '
                        'every run (e.g. docs/benchmarks/study_cifar10.json)')
    parser.add_argument('--report', action='store_true',
                        help='only write the figure and the factor table of '
                        'the --results file (next to it), running nothing')
    args = parser.parse_args(argv)
    if args.report:
        if not args.results:
            parser.error('--report needs --results FILE.json')
        return args
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ('branch_epoch', 'epochs', 'interval', 'batch_size',
                 'workers', 'max_images', 'threads', 'parallel',
                 'stop_after'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, '
                         f'got {value}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds {" ".join(map(str, args.seeds))} repeats a '
                     'seed: a seed paired with itself gives a difference of '
                     'exactly 0; give each seed once')
    if 'random' not in args.arms:
        parser.error('--arms must include random: the others are '
                     'compared with it')
    args.data = data_argument(parser, args.data)
    args.work_dir = osp.abspath(args.work_dir)
    if args.results:
        args.results = osp.abspath(args.results)
    return args


def report(results: str) -> None:
    """The figure (accuracy vs FLOPs) and the factor table of a results
    file, written next to it (.png, .md) and printed."""
    result = read_study_file(results)
    metric = result.get('primary_metric', '_'.join(PRIMARY))
    stem = osp.splitext(results)[0]
    arms = accuracy_vs_flops(result, metric, stem + '.png')
    lines = factor_table(result, metric)
    text = ('\n'.join(lines) + '\n').encode()
    save_atomic(stem + '.md', lambda f: f.write(text))
    print(f'[study] {stem}.png: {", ".join(arms)}', flush=True)
    print('\n'.join(lines), flush=True)


def main():
    args = parse_args()
    if args.report:
        return report(args.results)
    study, now = check_study(args)
    args.commit = now['commit']  # recorded in every run
    flop_table = flops(args)
    args.run_arms = [a for a in ALL_ARMS if a in flop_table]
    args.arm_epochs = {a: flop_table[a]['epochs'] for a in args.run_arms}
    # per seed the branch, its floor and the first arms; then each further
    # arm for every seed (docs/results.md: the order if time runs short)
    first = ('random', 'famt', 'uniform')
    order = [job for s in args.seeds for job in
             [(None, s), (FLOOR, s)] + [(a, s) for a in first
                                        if a in args.arms]]
    order += [(a, s) for a in args.run_arms if a not in first
              for s in args.seeds]
    rows = []
    if args.results and osp.isfile(args.results):
        rows = read_study_file(args.results).get('runs', [])
        for r in rows:  # runs from before runs recorded their commit
            r.setdefault('commit', study['commit'])
    done = {(r['arm'], r['seed']) for r in rows}  # in earlier sessions
    jobs = [(a, s) for a, s in order if (a or 'branch', s) not in done]
    args.branch_locks = {s: threading.Lock() for s in args.seeds}
    lock, start = threading.Lock(), time.time()

    def run_job(arm_seed):
        if args.stop_after and time.time() - start > args.stop_after:
            print(f'[study] --stop-after {args.stop_after:g}s: seed '
                  f'{arm_seed[1]} {arm_seed[0] or "branch"} left for a '
                  'later start', flush=True)
            return
        finished = one_run(args, *arm_seed)
        with lock:
            rows.append(finished)
            rows.sort(key=lambda r: (r['seed'], (
                'branch', FLOOR, *ALL_ARMS).index(r['arm'])))
            result = summary(args, study, rows, flop_table)
            result['wall_seconds_this_start'] = round(time.time() - start)
            write_results(args, result)

    # a failed job stops the study (list() re-raises its exception)
    try:
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(run_job, jobs))
    except RunFailed as e:
        sys.exit(f'study: {e}')


if __name__ == '__main__':
    main()
