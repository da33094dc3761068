"""Argument checks for the hook, the mask generator and the transforms.

Each raises a ValueError that names the argument, the bad value and what
is allowed, at construction, so nothing is checked on the training step.
"""
import math
from numbers import Real
from typing import Optional

import torch


def check_real(name: str, value, low=None, high=None, low_open=False,
               high_open=False) -> float:
    """``value`` as a float if it is a finite real number (not a bool) in
    the given range; else a ValueError naming it and the allowed range."""
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = '-inf' if low is None else low
        hi = 'inf' if high is None else high
        raise ValueError(
            f'{name} must be a finite number in {"(" if low_open else "["}'
            f'{lo}, {hi}{")" if high_open else "]"}, got {value!r}')
    return float(value)


def check_int(name: str, value, minimum: int,
              optional: bool = False) -> Optional[int]:
    """``value`` if it is an int (not a bool) >= ``minimum``, or None when
    ``optional``; else a ValueError naming it and what is allowed."""
    if optional and value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, int)
            or value < minimum):
        raise ValueError(f'{name} must be {"None or " if optional else ""}'
                         f'an int >= {minimum}, got {value!r}')
    return value


def check_epochs(name: str, value, minimum: int) -> None:
    """``value`` must be an int >= ``minimum`` (epochs) or a finite float
    in [0, 1] (a fraction of training; > 0 when ``minimum`` is 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{name} must be an int (epochs) or a float (a '
                         f'fraction of training), got {value!r}')
    if isinstance(value, float):
        if not (math.isfinite(value) and 0 <= value <= 1
                and (value > 0 or minimum == 0)):
            raise ValueError(
                f'{name} as a fraction of training must be in '
                f'{"[0" if minimum == 0 else "(0"}, 1], got {value}')
    elif value < minimum:
        raise ValueError(f'{name} must be >= {minimum} epochs, got {value}')


def check_weight_values(weights: torch.Tensor, source: str = 'weights',
                        first_index: int = 0):
    """Raise a ValueError naming ``source`` and the sample (numbered from
    ``first_index``) if a weight is NaN, infinite or negative, or a sample
    has no positive weight.

    Reads the tensor back (a host sync): call it where weights are made or
    loaded, never in the training step.
    """
    flat = weights.reshape(weights.shape[0], -1).float()
    for problem, bad in (('NaN', torch.isnan(flat)),
                         ('infinite', torch.isinf(flat)),
                         ('negative', flat < 0)):
        rows = (bad.any(dim=1).nonzero().flatten() + first_index).tolist()
        if rows:
            raise ValueError(
                f'{source} has {problem} weights in sample(s) {rows[:10]}'
                f'{" ..." if len(rows) > 10 else ""}; weights must be '
                'finite and >= 0')
    empty = ((flat.amax(dim=1) <= 0).nonzero().flatten() +
             first_index).tolist()
    if empty:
        raise ValueError(
            f'{source} has all-zero weights in sample(s) {empty[:10]}; give '
            'them uniform weights for random masking')


def check_epoch_length(loader) -> None:
    """A ValueError when the training loader gives no batch per epoch (a
    data set smaller than one batch with ``drop_last``)."""
    if len(loader) == 0:
        raise ValueError(
            f'the training set has {len(loader.dataset)} images per process '
            f'but train_dataloader.batch_size is {loader.batch_size} with '
            'drop_last=True, so an epoch has no iteration: lower the batch '
            'size (or give more images)')
