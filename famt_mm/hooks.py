"""FAMTHook: warm-up, periodic weight refresh, persistence and resume."""
import os
import os.path as osp
import time
from typing import List, Optional, Sequence, Union

import torch
from mmengine.dataset import default_collate
from mmengine.dist import (all_gather_object, barrier, get_dist_info,
                           is_main_process)
from mmengine.hooks import Hook
from mmengine.runner.amp import autocast
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model

from .checks import check_epochs, check_int, check_real
from .masking import check_weight_values
from .optim import uses_autocast
from .refresh import (base_dataset, compute_weights, gather_weights, map_grid,
                      refresh_dataset, refresh_summary, shard_loader)
from .transforms import find_weight_loader
from .visualization import render_batch
from .weight_files import (WEIGHTS_SUBDIR, data_fingerprint, record_path,
                           remove_weights, save_weights, set_aside,
                           tidy_directory, unusable_reason, weights_path)
from .weights import FREQUENCY_SOURCES, FUSION_MODES

# 'random' never refreshes: the warm-up's random masking throughout, i.e.
# the MAE / SimMIM baseline through the same code path.
MODES = FUSION_MODES + ('random', )


def refresh_schedule(warmup_epochs: int, interval: int,
                     max_epochs: int) -> List[int]:
    """0-based epochs before which the weights are recomputed."""
    return list(range(warmup_epochs, max_epochs, interval))


def to_epochs(value: Union[int, float], max_epochs: int) -> int:
    """An epoch count given as epochs (int) or a fraction of training
    (float), checked by :func:`famt_mm.checks.check_epochs`."""
    if isinstance(value, float):
        return round(value * max_epochs)
    return int(value)


@HOOKS.register_module()
class FAMTHook(Hook):
    """Warm-up, then recompute every image's FAMT weights periodically.

    Before the first refresh the model masks at random (its
    ``warmup_mask_generator``). From epoch ``warmup_epochs`` on, every
    ``interval`` epochs, the hook runs the current encoder once over the
    whole training set, un-augmented (resized to the input size), in eval
    mode without gradients; it turns the last layer's [CLS] attention and
    the Fourier low-pass cue into per-patch weights
    (:func:`famt_mm.cues.famt_weights`) and hands them to the data
    pipeline's :class:`LoadFAMTWeights`.

    Under DDP each rank computes a shard and all ranks gather the complete
    weights. Rank 0 writes them atomically to
    ``work_dir/famt_weights/epoch_{E}.npy`` (E: the 0-based epoch they are
    used from); checkpoints record which file is live, and resuming reloads
    it, so a resumed run continues with the weights it had.

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
        frequency_source (str): 'feature' or 'image'. Defaults to 'feature'.
        cutoff (float): Gaussian low-pass sigma, cycles per patch.
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
            training images to the runner's visualizer (local files,
            TensorBoard, ...); 0 turns it off. Defaults to 4.
    """

    priority = 'NORMAL'

    def __init__(self,
                 mode: str = 'famt',
                 warmup_epochs: Union[int, float] = 0.1,
                 interval: Union[int, float] = 0.1,
                 frequency_source: str = 'feature',
                 cutoff: float = 0.25,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 refresh_pipeline: Optional[Sequence[dict]] = None,
                 max_keep_weights: int = -1,
                 log_panels: int = 4):
        if mode not in MODES:
            raise ValueError(f'mode {mode!r} is not one of {MODES}')
        if frequency_source not in FREQUENCY_SOURCES:
            raise ValueError(f'frequency_source {frequency_source!r} is not '
                             f'one of {FREQUENCY_SOURCES}')
        check_real('cutoff', cutoff, 0, low_open=True)
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
        self.warmup_epochs = warmup_epochs
        self.interval = interval
        self.mode = mode
        self.frequency_source = frequency_source
        self.cutoff = cutoff
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.refresh_pipeline = refresh_pipeline
        self.max_keep_weights = max_keep_weights
        self.log_panels = log_panels
        self.weights_epoch: Optional[int] = None
        self._checkpoint_state: Optional[dict] = None
        # a refresh is logged (and benchmarked) relative to an epoch
        self.last_epoch_seconds: Optional[float] = None

    # ------------------------------------------------------------- set-up
    def before_train(self, runner) -> None:
        """Check the model and pipeline, build the refresh schedule and,
        on resume, publish the weights that were live."""
        model = get_ori_model(runner.model)
        if not hasattr(model, 'set_mask_phase'):
            raise TypeError(
                f'FAMTHook needs a FAMT algorithm (FAMTMAE, FAMTSimMIM), '
                f'got {type(model).__name__}')
        if not hasattr(runner.train_loop, 'max_epochs'):
            raise TypeError('FAMTHook needs an epoch-based train loop '
                            "(train_cfg=dict(type='EpochBasedTrainLoop'))")
        max_epochs = runner.max_epochs
        self._warmup = to_epochs(self.warmup_epochs, max_epochs)
        # a fraction of a short run can round to 0 epochs: refresh each one
        self._interval = max(1, to_epochs(self.interval, max_epochs))
        if self.mode == 'random':
            self._warmup, self.schedule = max_epochs, []
        else:
            self.schedule = refresh_schedule(self._warmup, self._interval,
                                             max_epochs)
            if not self.schedule and max_epochs > 0:
                raise ValueError(
                    f'FAMTHook(mode={self.mode!r}) would never refresh the '
                    f'weights: warmup_epochs={self.warmup_epochs!r} is '
                    f'{self._warmup} epochs of {max_epochs} (a float is a '
                    "fraction of training). Shorten the warm-up, or use "
                    "mode='random' for random masking throughout")
        self.dataset = base_dataset(runner.train_dataloader.dataset)
        self.loader_transform = find_weight_loader(self.dataset)
        # The model owns the patch grid; the pipeline learns it here,
        # before any dataloader worker starts.
        patch = model.backbone.patch_embed.projection.stride[0]
        self.loader_transform.bind_patch_size(patch)
        self.input_hw = tuple(g * patch for g in model.patch_grid)
        self.grid = map_grid(model, self.input_hw)
        # what would otherwise fail only after the warm-up: the masks'
        # counts on this grid and the refresh pipeline
        for generator in (model.mask_generator, model.warmup_mask_generator):
            generator.patch_counts(model.patch_grid)
        self.refresh_dataset()
        self.num_images = len(self.dataset)
        self.fingerprint = data_fingerprint(self.dataset)
        self.directory = osp.join(runner.work_dir, WEIGHTS_SUBDIR)
        os.makedirs(self.directory, exist_ok=True)
        if is_main_process():
            for line in tidy_directory(self.directory, runner.epoch == 0):
                runner.logger.warning(f'FAMT: {line}')
        self._check_rank_seeds(runner)
        runner.logger.info(
            f'FAMT ({self.mode}): random masking for {self._warmup} epochs'
            + (f', then weights refreshed before epochs {self.schedule} '
               f'({self.frequency_source} frequency cue)'
               if self.schedule else ''))
        if runner.epoch > 0:
            self._restore(runner)

    @staticmethod
    def _check_rank_seeds(runner) -> None:
        """Warn when every rank has the same random seed: the mask noise
        would then be the same on every GPU (sample j of every rank masked
        alike), dividing the masks' diversity per step by the world size."""
        world_size = get_dist_info()[1]
        if world_size == 1:
            return
        seeds = all_gather_object(torch.initial_seed())
        if len(set(seeds)) == 1:
            runner.logger.warning(
                f'FAMT: all {world_size} ranks have the random seed '
                f'{seeds[0]}, so they draw identical masks for the same batch '
                'position; set randomness = dict(seed=..., '
                'diff_rank_seed=True) in the config')

    def _restore(self, runner) -> None:
        """Publish the weights that were live at the resumed epoch."""
        live = [e for e in self.schedule if e < runner.epoch]
        if not live:
            return
        epoch = live[-1]
        saved = (self._checkpoint_state or {}).get('weights_epoch')
        if saved is not None and saved != epoch:
            runner.logger.warning(
                f'FAMT: the checkpoint used weights of epoch {saved} but the '
                f'schedule says {epoch}; the schedule changed, using {epoch}')
        path = weights_path(self.directory, epoch)
        problem = unusable_reason(path, self.num_images, self.grid,
                                  self.fingerprint,
                                  [self._checkpoint_state or {}],
                                  self.cue_settings())
        if problem:
            kept = ''
            if osp.isfile(path) and is_main_process():
                # not overwritten: going back to the old data or settings
                # must find the old weights
                kept = (' (the old file is kept in ' + set_aside(
                    self.directory, [path, record_path(path)]) + ')')
            runner.logger.warning(
                f'FAMT: {problem}, so the resumed run cannot reuse its '
                f'weights; recomputing them with the resumed model now{kept}')
            self.refresh(runner, epoch)
            return
        self._publish(epoch)
        runner.logger.info(f'FAMT: resumed with the weights in {path}')

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

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record which weight file is live in ``checkpoint['famt']``."""
        checkpoint['famt'] = dict(
            weights_epoch=self.weights_epoch,
            num_images=self.num_images,
            grid=list(self.grid),
            data_fingerprint=self.fingerprint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the checkpoint's FAMT record; ``before_train`` applies it
        when the run is a resume (not for ``load_from``)."""
        self._checkpoint_state = checkpoint.get('famt')

    # ------------------------------------------------------------ refresh
    def cue_settings(self) -> dict:
        """What the weights depend on besides the data and the model."""
        return dict(mode=self.mode, frequency_source=self.frequency_source,
                    cutoff=self.cutoff)

    def refresh_dataset(self):
        """The training set (shallow copy) with the refresh pipeline."""
        return refresh_dataset(self.dataset, self.input_hw,
                               self.refresh_pipeline)

    def refresh(self, runner, epoch: int) -> None:
        """Recompute every image's weights with the current model, write
        them as the weights used from ``epoch`` on, publish and log them."""
        start = time.perf_counter()
        train_loader = runner.train_dataloader
        loader = shard_loader(
            self.refresh_dataset(),
            self.batch_size or train_loader.batch_size,
            train_loader.num_workers
            if self.num_workers is None else self.num_workers)
        amp = uses_autocast(runner.optim_wrapper)
        shard, stats = compute_weights(
            get_ori_model(runner.model), loader, self.mode,
            self.frequency_source, self.cutoff, amp,
            progress=is_main_process())
        weights = gather_weights(shard, self.num_images, self.grid)
        path = weights_path(self.directory, epoch)
        check_weight_values(
            torch.from_numpy(weights),
            f'the refresh before epoch {epoch} (did training diverge?)')

        record = dict(data_fingerprint=self.fingerprint,
                      num_images=self.num_images, grid=list(self.grid),
                      **self.cue_settings())
        if is_main_process():
            save_weights(path, weights, record)
        barrier()
        if not osp.isfile(path):  # a node without the shared work_dir
            save_weights(path, weights, record)
        self._publish(epoch)
        if is_main_process():
            self._prune()
        elapsed = time.perf_counter() - start
        self._log(runner, epoch, elapsed, stats)
        if self.log_panels and is_main_process():
            self._add_panels(runner, epoch)

    def _publish(self, epoch: int) -> None:
        self.loader_transform.store.publish(
            weights_path(self.directory, epoch))
        self.weights_epoch = epoch

    def _prune(self) -> None:
        if self.max_keep_weights == -1:
            return
        done = [e for e in self.schedule if e <= self.weights_epoch]
        remove_weights(self.directory, done[:-self.max_keep_weights])

    def _add_panels(self, runner, epoch: int) -> None:
        """Panels of the first images to the visualizer's backends."""
        dataset = self.refresh_dataset()
        count = min(self.log_panels, len(dataset))
        batch = default_collate([dataset[i] for i in range(count)])
        model = get_ori_model(runner.model)
        with autocast(enabled=False):
            figure = render_batch(model, batch, self.mode,
                                  self.frequency_source, self.cutoff)
        runner.visualizer.add_image('famt_panels', figure, step=epoch)

    def _log(self, runner, epoch, elapsed, stats) -> None:
        line = (f'FAMT refresh before epoch {epoch}: {self.num_images} '
                f'images in {elapsed:.1f}s')
        if self.last_epoch_seconds:
            line += (f' ({elapsed / self.last_epoch_seconds:.2f} of the last '
                     'training epoch)')
        runner.logger.info(f'{line}; {refresh_summary(stats)}')
        for key, value in stats.get('concentration', {}).items():
            runner.message_hub.update_scalar(f'famt/{key}', value)
        runner.message_hub.update_scalar('famt/refresh_time', elapsed)
