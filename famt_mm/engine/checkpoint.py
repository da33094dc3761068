"""Reading checkpoints back: whether a file is whole, and the encoder's
tensors loaded strictly (for the probes and the tools)."""
import os.path as osp

import torch


def checkpoint_loads(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint, not a file a kill cut short:
    what a tool checks before it skips work as finished."""
    from .. import compat  # noqa: F401  (MMEngine's checkpoint globals)
    if not osp.isfile(path):
        return False
    try:
        torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except Exception:  # truncated, not a zip archive, refused pickle, ...
        return False
    return True


def mismatched_shapes(found: dict, own: dict) -> list:
    """'name (checkpoint shape) vs (model shape)' for every tensor of
    state dict ``found`` whose shape differs from ``own``'s."""
    return sorted(
        f'{k} {tuple(found[k].shape)} vs {tuple(v.shape)}'
        for k, v in own.items() if k in found and found[k].shape != v.shape)


def check_resumable(model, checkpoint: dict) -> None:
    """A ValueError (one line) when ``checkpoint`` was made by a model of
    another size: resuming it would fail later, in the optimizer state,
    with a message that does not say why."""
    mismatched = mismatched_shapes(checkpoint.get('state_dict', {}),
                                   model.state_dict())
    if mismatched:
        raise ValueError(
            'the checkpoint to resume was made by a model of another size: '
            f'{mismatched[0]}' + (f' (+{len(mismatched) - 1} more)'
                                  if len(mismatched) > 1 else '')
            + ' (checkpoint vs config); resume with the config that made it, '
            'or start in another work_dir')


def load_encoder(model, path: str) -> None:
    """Load the ``backbone.*`` tensors of checkpoint ``path`` into
    ``model.backbone``, strictly: a ValueError (one line) names the missing,
    unexpected and mismatched tensors, so that a probe never measures a
    randomly initialised encoder. The rest of the checkpoint (decoder,
    head, optimizer) is ignored."""
    from mmengine.runner.checkpoint import _load_checkpoint
    try:
        checkpoint = _load_checkpoint(path, map_location='cpu')
    except Exception as e:  # any unreadable file: one line, its path
        raise ValueError(f'cannot read checkpoint {path}: '
                         f'{str(e).splitlines()[0]}') from None
    state = checkpoint.get('state_dict', checkpoint)
    prefix = 'backbone.'
    found = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix)}
    own = model.backbone.state_dict()
    missing = sorted(set(own) - set(found))
    unexpected = sorted(set(found) - set(own))
    mismatched = mismatched_shapes(found, own)
    problems = [f'{name} {items[:5]}' + (f' (+{len(items) - 5})'
                                         if len(items) > 5 else '')
                for name, items in (('missing', missing),
                                    ('unexpected', unexpected),
                                    ('mismatched (checkpoint vs model)',
                                     mismatched)) if items]
    if problems:
        raise ValueError(
            f'{path} does not fit the config\'s encoder '
            f'({type(model.backbone).__name__}): ' + '; '.join(problems))
    broken = [k for k, v in found.items()
              if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:  # a diverged run: every probe would score chance, silently
        raise ValueError(
            f'{path} has non-finite (NaN or inf) encoder tensors: '
            f'backbone.{broken[0]}' + (f' (+{len(broken) - 1} more)'
                                       if len(broken) > 1 else '')
            + '; the run diverged: probe an earlier checkpoint')
    model.backbone.load_state_dict(found)
