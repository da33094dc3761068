"""List the files of an image folder that do not decode.

Usage: python tools/check_images.py DATA_DIR

Run it before a long run: a dataloader worker that meets such a file stops
training with an error from deep inside OpenCV or mmcv. Prints one line per
bad file (path, size, why) and exits 1 if there is any.
"""
import argparse
import inspect
import os
import os.path as osp
import sys

from mmpretrain.datasets import CustomDataset

from famt_mm.datasets.image_folder import decode_image

# CustomDataset's default extensions (read from it, not copied)
EXTENSIONS = tuple(
    inspect.signature(CustomDataset).parameters['extensions'].default)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folder')
    args = parser.parse_args(argv)
    if not osp.isdir(args.folder):
        parser.error(f'{args.folder} is not a folder')
    checked, bad = 0, 0
    for root, _, files in sorted(os.walk(args.folder)):
        for name in sorted(files):
            if not name.lower().endswith(EXTENSIONS):
                continue
            checked += 1
            try:
                decode_image(osp.join(root, name))
            except ValueError as e:
                bad += 1
                print(e)
    print(f'{checked} images checked, {bad} do not decode', file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
