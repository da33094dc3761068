"""Check that the famt-mm stack is installed and works; print a summary.

    python tools/check_env.py [--tier full|pretrain] [--quiet]

Exit status 0 when every required piece of the tier imports at the pinned
version (full: also mmdet, mmseg, the mmcv distribution with its compiled
ops NMS and RoIAlign running, and no mmcv-lite beside it); 1 otherwise,
naming what failed.
"""
import argparse
import importlib
import importlib.metadata
import sys

# (module, required version prefix or None)
PRETRAIN = [
    ('torch', '2.14.1'),
    ('torchvision', '0.29.1'),
    ('mmcv', '2.1.0'),
    ('mmengine', '0.10.7'),
    ('mmpretrain', '1.2.0'),
    ('mim', None),
    ('famt_mm', None),
]
FULL = PRETRAIN + [
    ('mmdet', '3.3.0'),
    ('mmseg', '1.2.2'),
    ('pycocotools', None),
    ('lvis', None),
]
# modules without __version__: their distribution's
DISTRIBUTIONS = {'mim': 'openmim'}


def mmcv_distributions() -> list:
    """The installed distributions that provide the mmcv package."""
    found = []
    for name in ('mmcv', 'mmcv-lite', 'mmcv-full'):
        try:
            found.append(f'{name} {importlib.metadata.version(name)}')
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def check_ops():
    import torch
    from mmcv.ops import nms, roi_align
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    roi_align(torch.rand(1, 1, 8, 8), torch.tensor([[0., 0., 0., 4., 4.]]),
              (2, 2), 1.0, 0, 'avg', True)
    return 'nms, roi_align ok'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tier', choices=['full', 'pretrain'],
                        default='full')
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args()
    failures, rows = [], []
    for name, want in FULL if args.tier == 'full' else PRETRAIN:
        try:
            module = importlib.import_module(name)
            version = getattr(module, '__version__', None) or (
                importlib.metadata.version(DISTRIBUTIONS.get(name, name)))
            if want and not version.startswith(want):
                failures.append(f'{name} {version} (need {want})')
            rows.append((name, version))
        except Exception as e:  # report every failure, not the first
            failures.append(f'{name}: {type(e).__name__}: {e}')
    dists = mmcv_distributions()
    rows.append(('mmcv dist', ', '.join(dists) or 'none'))
    if len(dists) > 1:
        failures.append(f'two distributions provide mmcv ({dists}): '
                        'uninstall both and rerun tools/setup.sh')
    if args.tier == 'full':
        try:
            rows.append(('mmcv.ops', check_ops()))
        except Exception as e:
            failures.append(f'mmcv.ops: {type(e).__name__}: {e}')
    if not args.quiet:
        for name, version in rows:
            print(f'  {name:<12} {version}')
        for failure in failures:
            print(f'  FAILED: {failure}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
