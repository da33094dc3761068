"""The two environments: pretraining (mmcv-lite) and full (mmcv with ops,
MMDet, MMSeg). Tools that reach for the full one in the pretraining one
stop with a line that says how to install it, not an import traceback."""
import sys
from contextlib import contextmanager

FULL_ONLY = ('mmdet', 'mmseg', 'pycocotools', 'lvis', 'mmcv._ext')
INSTALL_FULL = 'make setup (or: bash tools/setup.sh --tier full)'


def missing_full_module(error: ImportError):
    """The full-environment module ``error`` is about, or None."""
    name = error.name or str(error).split(' ')[0]  # MMEngine's 'X is not
    for module in FULL_ONLY:                       # installed' has no name
        if name == module or name.startswith(module + '.'):
            return module
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
