"""FAMTHook: warm-up, then a periodic refresh of every image's weights."""
import time
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from ...datasets.transforms import check_weight_pipeline
from ...datasets.weight_files import (FAMTWeightStore, WeightArchive,
                                      check_max_keep)
from ...models.utils.cues import CueSettings
from ...models.utils.guidance import GUIDANCES
from ...models.utils.patch_weights import FUSIONS
from ...utils.checks import check_epoch_length, check_epochs, check_int
from ...utils.seeding import shared_rank_seed
from ...visualization.mask_panels import render_first
from ..checkpoint import check_resumable
from ..optimizers import uses_autocast
from ..refresh import (base_dataset, check_refresh_input, check_training_input,
                       compute_weights, gather_weights, map_grid,
                       refresh_dataset, refresh_summary, shard_loader,
                       weights_concentration)
from .checkpoint_hook import unsafe_checkpointing

# Modes without a refresh, and the mask phase each uses after the warm-up:
# 'random' keeps the warm-up's random masking throughout (the MAE / SimMIM
# baseline); 'uniform' and 'uniform_nothrow' are the token-budget controls
# (the guided generator's counts on uniform weights; the same visible count
# with nothing thrown).
UNGUIDED_PHASES = dict(random='warmup', uniform='uniform',
                       uniform_nothrow='uniform_nothrow')


def hook_modes() -> tuple:
    """Every ``mode`` FAMTHook takes: the unguided controls, then each
    registered fusion (:data:`famt_mm.models.utils.patch_weights.FUSIONS`,
    so a fusion registered later is a mode too)."""
    return tuple(UNGUIDED_PHASES) + tuple(FUSIONS)


def trained_phase(mode: str) -> str:
    """The model's mask phase after the warm-up under ``mode``."""
    return UNGUIDED_PHASES.get(mode, 'guided')


def to_epochs(value: Union[int, float], max_epochs: int) -> int:
    """An epoch count given as epochs (int) or a fraction of training
    (float), checked by :func:`famt_mm.utils.checks.check_epochs`."""
    if isinstance(value, float):
        return round(value * max_epochs)
    return int(value)


def interval_epochs(interval: Union[int, float], max_epochs: int) -> int:
    """Epochs between two refreshes (at least 1: a fraction of a short run
    can round to 0 epochs, then every epoch refreshes)."""
    return max(1, to_epochs(interval, max_epochs))


def refresh_schedule(mode: str, warmup_epochs: Union[int, float],
                     interval: Union[int, float],
                     max_epochs: int) -> Tuple[int, List[int]]:
    """The warm-up length in epochs and the 0-based epochs before which the
    weights are recomputed (none for 'random'); an error if a FAMT mode
    would never refresh."""
    warmup = to_epochs(warmup_epochs, max_epochs)
    step = interval_epochs(interval, max_epochs)
    if mode == 'random':
        return max_epochs, []
    if mode in UNGUIDED_PHASES:
        return warmup, []
    schedule = list(range(warmup, max_epochs, step))
    if not schedule and max_epochs > 0:
        raise ValueError(
            f'FAMTHook(mode={mode!r}) would never refresh the weights: '
            f'warmup_epochs={warmup_epochs!r} is {warmup} epochs of '
            f'{max_epochs} (a float is a fraction of training). Shorten the '
            "warm-up, or use mode='random' for random masking throughout")
    return warmup, schedule


def famt_model(runner):
    """The runner's FAMT algorithm; a TypeError for a model or train loop
    that FAMTHook cannot drive, a ValueError for masks that do not fit the
    model's grid (now, not after the warm-up)."""
    model = get_ori_model(runner.model)
    if not hasattr(model, 'set_mask_phase'):
        raise TypeError('FAMTHook needs a FAMT algorithm (FAMTMAE, '
                        f'FAMTSimMIM), got {type(model).__name__}')
    if not hasattr(runner.train_loop, 'max_epochs'):
        raise TypeError('FAMTHook needs an epoch-based train loop '
                        "(train_cfg=dict(type='EpochBasedTrainLoop'))")
    check_epoch_length(runner.train_dataloader)  # else epochs do nothing
    for generator in (model.mask_generator, model.warmup_mask_generator):
        generator.patch_counts(model.patch_grid)
    return model


def log_refresh(runner, epoch: int, images: int, seconds: float,
                stats: dict, epoch_seconds: Optional[float],
                guidance: str = 'direct') -> None:
    """The refresh's log line (its cost relative to the last training
    epoch) and its scalars."""
    line = f'FAMT refresh before epoch {epoch}: {images} images in ' \
        f'{seconds:.1f}s'
    if guidance != 'direct':
        line += f' (guidance {guidance}: the masks\' statistics are of the ' \
            'maps as used)'
    if epoch_seconds:
        line += f' ({seconds / epoch_seconds:.2f} of the last training epoch)'
    runner.logger.info(f'{line}; {refresh_summary(stats)}')
    # to the visualizer's backends (scalars.json, TensorBoard) at the epoch:
    # the message hub's logger only exports 'train/' keys
    scalars = {f'famt/{k}': v for k, v in stats['concentration'].items()}
    runner.visualizer.add_scalars(dict(scalars, **{
        'famt/refresh_time': seconds}), step=epoch)


@HOOKS.register_module()
class FAMTHook(Hook):
    """Warm-up, then recompute every image's FAMT weights periodically.

    Before the first refresh the model masks at random. From epoch
    ``warmup_epochs`` on, every ``interval`` epochs, the current encoder
    runs once over the un-augmented training set (eval mode, no gradients,
    sharded over the DDP ranks); the last layer's [CLS] attention and the
    Fourier cue become per-patch weights
    (:func:`famt_mm.models.utils.cues.famt_weights`)
    that the run's :class:`~famt_mm.datasets.weight_files.WeightArchive` saves,
    publishes to ``LoadFAMTWeights`` through the store named ``store``, and
    records in checkpoints (a resumed run continues with its weights).

    Args:
        mode (str): 'famt' (attention x frequency, default), 'attention'
            (AMT), 'frequency', 'sum' or 'random' (no refresh: the random
            masking baseline). This one key switches random / AMT / FAMT.
            Controls without a refresh, after the warm-up: 'uniform' (the
            model's ``mask_generator`` and counts on uniform weights:
            random masking at FAMT's token budget) and 'uniform_nothrow'
            (the same visible count, every other patch masked: MAE's
            random masking at r = 1 - n_vis / N).
        guidance (str): what the refreshed maps become
            (:data:`famt_mm.models.utils.guidance.GUIDANCES`):
            'direct' (default),
            'inverse' (ranking reversed, spread kept) or 'shuffled'
            (another image's map, a new permutation every refresh).
        warmup_epochs (int | float): epochs of random masking before the
            first refresh (a float: a fraction of ``max_epochs``). 0.1.
        interval (int | float): epochs between refreshes, likewise. 0.1.
        frequency_source, frequency_filter, cutoff: the frequency cue
            ('feature', 'lowpass', the filter's default), see
            :class:`famt_mm.models.utils.cues.CueSettings`.
        batch_size, num_workers (int, optional): of the refresh's loader;
            default to the training loader's.
        refresh_pipeline (list[dict], optional): defaults to the training
            pipeline's loading transforms, ``Resize`` to the model input
            and ``PackInputs``.
        max_keep_weights (int): weight files kept; -1 (default) keeps all,
            which resuming from any checkpoint needs.
        log_panels (int): paper-style panels of this many images sent to
            the visualizer after each refresh; 0 turns them off. 4.
        store (str): the ``FAMTWeightStore`` shared with
            ``LoadFAMTWeights(store=...)``. 'famt'.
        fingerprint (str): how a weight file is matched to the data set on
            resume: 'stat' (paths, sizes, modification times; default) or
            'content' (the files' bytes: also a same-size edit with its
            time restored, at the cost of reading the data once per start).
    """

    priority = 'NORMAL'

    def __init__(self,
                 mode: str = 'famt',
                 guidance: str = 'direct',
                 warmup_epochs: Union[int, float] = 0.1,
                 interval: Union[int, float] = 0.1,
                 frequency_source: str = 'feature',
                 frequency_filter: str = 'lowpass',
                 cutoff: Optional[float] = None,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 refresh_pipeline: Optional[Sequence[dict]] = None,
                 max_keep_weights: int = -1,
                 log_panels: int = 4,
                 store: str = 'famt',
                 fingerprint: str = 'stat'):
        modes = hook_modes()
        if mode not in modes:
            raise ValueError(f'mode {mode!r} is not one of {modes}')
        if guidance not in GUIDANCES:
            raise ValueError(f'guidance {guidance!r} is not one of '
                             f'{tuple(GUIDANCES)}')
        if guidance != 'direct' and mode in UNGUIDED_PHASES:
            raise ValueError(f"guidance={guidance!r} changes refreshed "
                             f"weights, but mode={mode!r} has no refresh; "
                             f'use it with one of {tuple(FUSIONS)}')
        # modes without a fusion: panels of such a run show FAMT's
        self.cues = CueSettings(
            'famt' if mode in UNGUIDED_PHASES else mode, frequency_source,
            frequency_filter, cutoff)
        check_epochs('warmup_epochs', warmup_epochs, 0)
        check_epochs('interval', interval, 1)
        check_int('batch_size', batch_size, 1, optional=True)
        check_int('num_workers', num_workers, 0, optional=True)
        check_int('log_panels', log_panels, 0, optional=True)
        check_max_keep(max_keep_weights)
        if fingerprint not in ('stat', 'content'):
            raise ValueError(f'fingerprint {fingerprint!r} is not one of '
                             "('stat', 'content')")
        self.fingerprint = fingerprint
        self.mode, self.guidance = mode, guidance
        self.warmup_epochs, self.interval = warmup_epochs, interval
        self.batch_size, self.num_workers = batch_size, num_workers
        self.refresh_pipeline = refresh_pipeline
        self.max_keep_weights, self.log_panels = max_keep_weights, log_panels
        self.store = FAMTWeightStore.named(store)
        self.archive: Optional[WeightArchive] = None  # built before_train
        self._checkpoint_record: dict = {}
        self.last_epoch_seconds: Optional[float] = None  # a refresh's scale

    def before_train(self, runner) -> None:
        """Check the model and pipeline, build the schedule and the
        archive and, on resume, publish the weights that were live."""
        model = famt_model(runner)
        self._warmup, self.schedule = refresh_schedule(
            self.mode, self.warmup_epochs, self.interval, runner.max_epochs)
        self.dataset = base_dataset(runner.train_dataloader.dataset)
        check_weight_pipeline(self.dataset, self.store, model.patch_size)
        self.input_hw = model.input_size
        check_refresh_input(self.refresh_view(), self.input_hw)
        self.seed = 0
        if self.guidance == 'shuffled':
            if len(self.dataset) < 2:
                raise ValueError(
                    "FAMTHook(guidance='shuffled') needs at least 2 training "
                    f'images, got {len(self.dataset)}')
            # the same shuffle on every rank: rank 0's seed
            seed = [runner.seed]
            broadcast_object_list(seed)
            self.seed = seed[0]
        self.archive = WeightArchive(
            runner.work_dir, self.dataset, map_grid(model, self.input_hw),
            dict(self.cues.record(), guidance=self.guidance,
                 **({'fingerprint': 'content'}
                    if self.fingerprint == 'content' else {})), self.store,
            model.patch_size, self.max_keep_weights)
        for line in self.archive.open(fresh_start=runner.epoch == 0):
            runner.logger.warning(f'FAMT: {line}')
        check_training_input(self.dataset, self.input_hw)
        shared_rank_seed(runner.logger)
        unsafe = unsafe_checkpointing(runner.hooks)
        if unsafe:
            runner.logger.warning(f'FAMT: {unsafe}')
        runner.logger.info(
            f'FAMT ({self.mode}): random masking for {self._warmup} epochs'
            + (f', then weights refreshed before epochs {self.schedule} '
               f'({self.cues})' if self.schedule else ''))
        live = [e for e in self.schedule if e < runner.epoch]
        if live:  # resumed: the weights of the last refresh, or new ones
            for line in self.archive.reuse(live[-1], self._checkpoint_record):
                runner.logger.warning(f'FAMT: {line}')
            if self.archive.live_epoch == live[-1]:
                runner.logger.info('FAMT: resumed with the weights in '
                                   f'{self.store.path}')
            else:
                self.refresh(runner, live[-1])

    def before_train_epoch(self, runner) -> None:
        """Refresh if this epoch is scheduled; set the model's phase."""
        if runner.epoch in self.schedule:
            self.refresh(runner, runner.epoch)
        get_ori_model(runner.model).set_mask_phase(
            'warmup' if runner.epoch < self._warmup else
            trained_phase(self.mode))
        self._epoch_start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        self.last_epoch_seconds = time.perf_counter() - self._epoch_start

    def after_run(self, runner) -> None:
        """Unpublish: a later run in this process starts uniform."""
        self.store.reset()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['famt'] = self.archive.record()  # which weights are live

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # applied by before_train when the run resumes (not for load_from)
        self._checkpoint_record = checkpoint.get('famt') or {}
        if getattr(runner, '_resume', False):  # before the model loads it
            check_resumable(get_ori_model(runner.model), checkpoint)

    def refresh_view(self):
        """The training set (shallow copy) with the refresh pipeline."""
        return refresh_dataset(self.dataset, self.input_hw,
                               self.refresh_pipeline)

    def refresh(self, runner, epoch: int) -> None:
        """Recompute every image's weights with the current model and
        commit them as the weights used from ``epoch`` on."""
        start = time.perf_counter()
        model, loader = get_ori_model(runner.model), runner.train_dataloader
        dataset = self.refresh_view()  # also the panels' images
        shard, stats = compute_weights(
            model, shard_loader(
                dataset, self.batch_size or loader.batch_size,
                loader.num_workers
                if self.num_workers is None else self.num_workers),
            self.cues, uses_autocast(runner.optim_wrapper),
            progress=is_main_process())
        weights = GUIDANCES[self.guidance](gather_weights(
            shard, self.archive.num_images, self.archive.grid), self.seed,
            epoch)
        stats['concentration'] = weights_concentration(model, weights)
        self.archive.commit(epoch, weights, stats['concentration'])
        log_refresh(runner, epoch, self.archive.num_images,
                    time.perf_counter() - start, stats,
                    self.last_epoch_seconds, self.guidance)
        if self.log_panels and is_main_process():
            runner.visualizer.add_image('famt_panels', render_first(
                model, dataset, self.log_panels, self.cues), step=epoch)
