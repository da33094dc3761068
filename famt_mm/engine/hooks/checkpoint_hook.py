"""Checkpoints that a kill at any moment cannot destroy.

MMEngine 0.10.7's ``CheckpointHook`` deletes the oldest checkpoint *before*
writing the new one, and writes it in place. With ``max_keep_ckpts=1`` a
kill during the save leaves only a truncated file: the run cannot resume
and a tool that skips on the file's existence takes it for finished.
``SafeCheckpointHook`` writes each checkpoint (and ``last_checkpoint``) to
a temporary file, flushes it to disk and renames it into place, and only
then removes the checkpoints beyond ``max_keep_ckpts``.
"""
import glob
import os
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

from ...utils.fileio import save_atomic


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose writes are all-or-nothing."""

    def put(self, obj: bytes, filepath) -> None:
        save_atomic(str(filepath), lambda f: f.write(obj))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with atomic saves, and outdated
    checkpoints removed only once the new one is complete. Local
    directories only: with ``backend_args`` or a remote ``out_dir`` it
    behaves as ``CheckpointHook``."""

    def __init__(self, *args, out_dir=None, backend_args=None, **kwargs):
        if backend_args is None and (out_dir is None or '://' not in out_dir):
            backend_args = dict(backend='atomic_local')
        super().__init__(*args, out_dir=out_dir, backend_args=backend_args,
                         **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process():  # temporary files of a save a kill cut short
            for tmp in {*glob.glob(osp.join(self.out_dir, '*.pth.*.tmp')),
                        *glob.glob(osp.join(runner.work_dir,
                                            'last_checkpoint.*.tmp'))}:
                os.remove(tmp)
                runner.logger.warning(f'removed {tmp}, left by a kill')

    def _save_checkpoint_with_step(self, runner, step, meta):
        # The parent removes the oldest checkpoint first, then saves, then
        # writes last_checkpoint in place; here: save, point to it, prune.
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            ids = [*self.keep_ckpt_ids, step]
            outdated = ids[:-self.max_keep_ckpts]
            self.keep_ckpt_ids = deque(ids[-self.max_keep_ckpts:],
                                       self.max_keep_ckpts)
            # before the save, so that a resume knows what to prune
            runner.message_hub.update_info('keep_ckpt_ids', list(
                self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        # relative to the work dir, so that a copied or moved run directory
        # resumes from its own checkpoint (compat, fix 5)
        name = osp.relpath(self.last_ckpt, runner.work_dir)
        text = (self.last_ckpt if name.startswith('..') else name).encode()
        save_atomic(osp.join(runner.work_dir, 'last_checkpoint'),
                    lambda f: f.write(text))
        for old in outdated:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)


def unsafe_checkpointing(hooks) -> str:
    """A warning (or '') for MMEngine's ``CheckpointHook`` with
    ``max_keep_ckpts`` among ``hooks``: a kill during its save can leave no
    checkpoint to resume from."""
    for hook in hooks:
        if (isinstance(hook, CheckpointHook)
                and not isinstance(hook, SafeCheckpointHook)
                and hook.max_keep_ckpts > 0):
            return (
                f"MMEngine's CheckpointHook with max_keep_ckpts="
                f'{hook.max_keep_ckpts} deletes the old checkpoint before the '
                'new one is written: a kill during a save leaves nothing to '
                "resume from. Set default_hooks.checkpoint.type='"
                "SafeCheckpointHook' (same arguments, atomic saves)")
    return ''
