"""The data sets in ../shared/data (see its README.md), found and unpacked
in one place for the tools and the tests (a checkout's ../shared/data).

``FAMT_SHARED_DATA`` overrides where the archives are,
``FAMT_DATA_CACHE`` where they are unpacked (default
``~/.cache/famt-mm/data``).
"""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED_DATA = os.environ.get('FAMT_SHARED_DATA',
                             osp.join(ROOT, '..', 'shared', 'data'))
DATA_CACHE = os.environ.get(
    'FAMT_DATA_CACHE',
    osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')),
             'famt-mm', 'data'))


def unpack_shared(name: str) -> str:
    """Unpack ``SHARED_DATA/<name>.tar.gz`` once into the cache and return
    its folder; FileNotFoundError naming the archive when it is absent."""
    archive = osp.join(SHARED_DATA, f'{name}.tar.gz')
    if not osp.isfile(archive):
        raise FileNotFoundError(
            f'{archive} is absent: the shared data set {name!r} (see '
            '../shared/data/README.md) is not on this machine')
    target = osp.join(DATA_CACHE, name)
    if not osp.isfile(osp.join(target, '.complete')):
        subprocess.run(
            [sys.executable,
             osp.join(SHARED_DATA, 'unpack.py'), DATA_CACHE, name],
            check=True,
            capture_output=True)
    return target
