"""The two environments: pretraining (mmcv-lite) and full (mmcv with ops,
MMDet, MMSeg). Tools that reach for the full one in the pretraining one
stop with a line that says how to install it, not an import traceback."""
import importlib
import sys
from contextlib import contextmanager

FULL_ONLY = ('mmdet', 'mmseg', 'pycocotools', 'lvis', 'mmcv._ext')
INSTALL_FULL = 'make setup (or: bash tools/setup.sh --tier full)'


def missing_full_module(error: BaseException):
    """The full-environment module ``error`` (or an error it was raised
    from: MMEngine re-raises custom_imports failures) is about, or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ImportError):
            # MMEngine's 'X is not installed' carries no name
            name = error.name or str(error).split(' ')[0]
            for module in FULL_ONLY:
                if name == module or name.startswith(module + '.'):
                    return module
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def full_environment_needed(what: str):
    """Turn a missing detection / segmentation / mmcv-ops import inside the
    block into one actionable line (exit status 1)."""
    try:
        yield
    except ImportError as e:
        module = missing_full_module(e)
        if module is None:
            raise
        sys.exit(f'{what} needs {module}, which the pretraining environment '
                 f'does not have; install the full one: {INSTALL_FULL}')


def check_scope(cfg, what: str) -> None:
    """A detection / segmentation config needs its package and mmcv's ops;
    say so before the Runner turns their absence into a registry KeyError.
    """
    scope = cfg.get('default_scope')
    if scope in ('mmdet', 'mmseg'):
        with full_environment_needed(what):
            importlib.import_module(scope)
            importlib.import_module('mmcv.ops')
