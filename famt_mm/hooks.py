"""FAMTHook: warm-up, then a periodic refresh of every image's weights."""
import time
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from .checks import check_epochs, check_int
from .cues import CueSettings
from .optim import uses_autocast
from .refresh import (base_dataset, compute_weights, gather_weights, map_grid,
                      refresh_dataset, refresh_summary, shard_loader)
from .seeding import shared_rank_seed
from .transforms import check_weight_pipeline
from .visualization import render_first
from .weight_files import FAMTWeightStore, WeightArchive
from .weights import FUSION_MODES

# 'random' is a schedule, not a fusion: no refresh, the warm-up's random
# masking throughout (the MAE / SimMIM baseline through the same code).
MODES = ('random', ) + FUSION_MODES


def to_epochs(value: Union[int, float], max_epochs: int) -> int:
    """An epoch count given as epochs (int) or a fraction of training
    (float), checked by :func:`famt_mm.checks.check_epochs`."""
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
    schedule = list(range(warmup, max_epochs, step))
    if not schedule and max_epochs > 0:
        raise ValueError(
            f'FAMTHook(mode={mode!r}) would never refresh the weights: '
            f'warmup_epochs={warmup_epochs!r} is {warmup} epochs of '
            f'{max_epochs} (a float is a fraction of training). Shorten the '
            "warm-up, or use mode='random' for random masking throughout")
    return warmup, schedule


@HOOKS.register_module()
class FAMTHook(Hook):
    """Warm-up, then recompute every image's FAMT weights periodically.

    Before the first refresh the model masks at random (its
    ``warmup_mask_generator``). From epoch ``warmup_epochs`` on, every
    ``interval`` epochs, the hook runs the current encoder once over the
    whole training set, un-augmented (resized to the input size), in eval
    mode without gradients, turns the last layer's [CLS] attention and the
    Fourier cue into per-patch weights (:func:`famt_mm.cues.famt_weights`)
    and commits them to the run's :class:`WeightArchive`, which saves them
    to ``work_dir/famt_weights/epoch_{E}.npy`` (E: the 0-based epoch they
    are used from) and publishes them to ``LoadFAMTWeights`` through the
    :class:`FAMTWeightStore` named ``store``. Checkpoints record which file
    is live; a resumed run continues with the weights it had. Under DDP
    each rank computes a shard and all ranks gather the complete weights.

    Args:
        mode (str): 'famt' (attention x frequency, default), 'attention'
            (AMT), 'frequency', 'sum' (weighted sum) or 'random' (no
            refresh: random masking throughout, the baseline). This one key
            switches a config between random, AMT and FAMT.
        warmup_epochs (int | float): epochs of random masking before the
            first refresh; a float is a fraction of ``max_epochs``.
            Defaults to 0.1.
        interval (int | float): epochs between refreshes; a float is a
            fraction of ``max_epochs``. Defaults to 0.1.
        frequency_source, frequency_filter, cutoff: the frequency cue, see
            :class:`famt_mm.cues.CueSettings` ('feature', 'lowpass', 0.25;
            ``frequency_filter='nyquist_notch'`` is the public FAMT-labelled
            code's filter).
        batch_size (int, optional): refresh batch size; defaults to the
            training batch size.
        num_workers (int, optional): refresh dataloader workers; defaults to
            the training dataloader's.
        refresh_pipeline (list[dict], optional): pipeline of the refresh
            pass. Defaults to the training pipeline's loading transforms,
            ``Resize`` to the model input size and ``PackInputs``.
        max_keep_weights (int): weight files kept on disk; -1 keeps all
            (needed to resume from any checkpoint). Defaults to -1.
        log_panels (int): after each refresh, add the paper-style panels
            (image, attention, frequency, fused weights, mask) of this many
            training images to the runner's visualizer; 0 turns it off.
            Defaults to 4.
        store (str): the :class:`FAMTWeightStore` shared with
            ``LoadFAMTWeights(store=...)``. Defaults to 'famt'.
    """

    priority = 'NORMAL'

    def __init__(self,
                 mode: str = 'famt',
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
                 store: str = 'famt'):
        if mode not in MODES:
            raise ValueError(f'mode {mode!r} is not one of {MODES}')
        # random masking has no fusion; panels of such a run show FAMT's
        self.cues = CueSettings('famt' if mode == 'random' else mode,
                                frequency_source, frequency_filter, cutoff)
        check_epochs('warmup_epochs', warmup_epochs, 0)
        check_epochs('interval', interval, 1)
        check_int('batch_size', batch_size, 1, optional=True)
        check_int('num_workers', num_workers, 0, optional=True)
        check_int('log_panels', log_panels, 0, optional=True)
        if (isinstance(max_keep_weights, bool)
                or not isinstance(max_keep_weights, int)
                or max_keep_weights == 0 or max_keep_weights < -1):
            raise ValueError('max_keep_weights must be -1 (keep all) or '
                             f'an int >= 1, got {max_keep_weights!r}')
        self.mode = mode
        self.warmup_epochs = warmup_epochs
        self.interval = interval
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.refresh_pipeline = refresh_pipeline
        self.max_keep_weights = max_keep_weights
        self.log_panels = log_panels
        self.store = FAMTWeightStore.named(store)
        self.archive: Optional[WeightArchive] = None
        self._checkpoint_record: dict = {}
        # a refresh is logged (and benchmarked) relative to an epoch
        self.last_epoch_seconds: Optional[float] = None

    # ------------------------------------------------------------- set-up
    def before_train(self, runner) -> None:
        """Check the model and pipeline, build the schedule and the
        archive and, on resume, publish the weights that were live."""
        model = get_ori_model(runner.model)
        if not hasattr(model, 'set_mask_phase'):
            raise TypeError(
                f'FAMTHook needs a FAMT algorithm (FAMTMAE, FAMTSimMIM), '
                f'got {type(model).__name__}')
        if not hasattr(runner.train_loop, 'max_epochs'):
            raise TypeError('FAMTHook needs an epoch-based train loop '
                            "(train_cfg=dict(type='EpochBasedTrainLoop'))")
        self._warmup, self.schedule = refresh_schedule(
            self.mode, self.warmup_epochs, self.interval, runner.max_epochs)
        self.dataset = base_dataset(runner.train_dataloader.dataset)
        check_weight_pipeline(self.dataset, self.store, model.patch_size)
        self.input_hw = model.input_size
        # what would otherwise fail only after the warm-up: the masks'
        # counts on this grid and the refresh pipeline
        for generator in (model.mask_generator, model.warmup_mask_generator):
            generator.patch_counts(model.patch_grid)
        self.refresh_dataset()
        self.archive = WeightArchive(
            runner.work_dir, self.dataset, map_grid(model, self.input_hw),
            self.cues.record(), self.store, model.patch_size,
            self.max_keep_weights)
        for line in self.archive.open(fresh_start=runner.epoch == 0):
            runner.logger.warning(f'FAMT: {line}')
        shared_rank_seed(runner.logger)
        runner.logger.info(
            f'FAMT ({self.mode}): random masking for {self._warmup} epochs'
            + (f', then weights refreshed before epochs {self.schedule} '
               f'({self.cues})' if self.schedule else ''))
        live = [e for e in self.schedule if e < runner.epoch]
        if live:
            self._restore(runner, live[-1])

    def _restore(self, runner, epoch: int) -> None:
        """Publish the weights that were live at the resumed epoch, or
        recompute them where they no longer fit."""
        saved = self._checkpoint_record.get('weights_epoch')
        if saved is not None and saved != epoch:
            runner.logger.warning(
                f'FAMT: the checkpoint used weights of epoch {saved} but the '
                f'schedule says {epoch}; the schedule changed, using {epoch}')
        problem = self.archive.reuse(epoch, self._checkpoint_record)
        if problem is None:
            runner.logger.info('FAMT: resumed with the weights in '
                               f'{self.store.path}')
            return
        runner.logger.warning(
            f'FAMT: {problem}, so the resumed run cannot reuse its weights; '
            'recomputing them with the resumed model now')
        self.refresh(runner, epoch)

    # -------------------------------------------------------- every epoch
    def before_train_epoch(self, runner) -> None:
        """Refresh if this epoch is scheduled; set the model's phase."""
        epoch = runner.epoch
        if epoch in self.schedule:
            self.refresh(runner, epoch)
        get_ori_model(runner.model).set_mask_phase(
            'famt' if epoch >= self._warmup else 'warmup')
        self._epoch_start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        """Remember the epoch's duration (refresh cost is logged
        relative to it)."""
        self.last_epoch_seconds = time.perf_counter() - self._epoch_start

    def after_run(self, runner) -> None:
        """Unpublish: a later run in this process starts uniform."""
        self.store.reset()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record which weight file is live in ``checkpoint['famt']``."""
        checkpoint['famt'] = self.archive.record()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the checkpoint's FAMT record; ``before_train`` applies it
        when the run is a resume (not for ``load_from``)."""
        self._checkpoint_record = checkpoint.get('famt') or {}

    # ------------------------------------------------------------ refresh
    def refresh_dataset(self):
        """The training set (shallow copy) with the refresh pipeline."""
        return refresh_dataset(self.dataset, self.input_hw,
                               self.refresh_pipeline)

    def refresh(self, runner, epoch: int) -> None:
        """Recompute every image's weights with the current model and
        commit them as the weights used from ``epoch`` on."""
        start = time.perf_counter()
        train_loader = runner.train_dataloader
        loader = shard_loader(
            self.refresh_dataset(),
            self.batch_size or train_loader.batch_size,
            train_loader.num_workers
            if self.num_workers is None else self.num_workers)
        shard, stats = compute_weights(
            get_ori_model(runner.model), loader, self.cues,
            uses_autocast(runner.optim_wrapper), progress=is_main_process())
        self.archive.commit(epoch, gather_weights(
            shard, self.archive.num_images, self.archive.grid))
        elapsed = time.perf_counter() - start
        line = (f'FAMT refresh before epoch {epoch}: '
                f'{self.archive.num_images} images in {elapsed:.1f}s')
        if self.last_epoch_seconds:
            line += (f' ({elapsed / self.last_epoch_seconds:.2f} of the last '
                     'training epoch)')
        runner.logger.info(f'{line}; {refresh_summary(stats)}')
        for key, value in stats.get('concentration', {}).items():
            runner.message_hub.update_scalar(f'famt/{key}', value)
        runner.message_hub.update_scalar('famt/refresh_time', elapsed)
        if self.log_panels and is_main_process():
            runner.visualizer.add_image('famt_panels', render_first(
                get_ori_model(runner.model), self.refresh_dataset(),
                self.log_panels, self.cues), step=epoch)
