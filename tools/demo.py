"""FAMT-MAE demo: a few minutes of pretraining on 2 CPU cores, no download.

    python tools/demo.py [--work-dir work_dirs/famt_demo] [--data DIR]
                         [--cfg-options KEY=VALUE ...]

Writes the photos that scikit-image ships (or uses the images in DIR),
pretrains the project's demo config with the FAMTHook (random warm-up,
then weight refreshes), and writes a checkpoint and ``famt_demo.png``:
for a few photos, the attention, frequency and fused weights and the
sampled masked / thrown / visible patches.
"""
import argparse
import os.path as osp
import sys
import time

from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.runner import Runner

import famt_mm  # noqa: F401  registers the components
from famt_mm.engine.hooks.famt_hook import FAMTHook
from famt_mm.utils.photos import write_photos

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'pretrain', 'mae',
                  'famt-mae_vit-mini-p8_1xb32-coslr-30e_photos-64px.py')
SHOWN = ('astronaut', 'chelsea', 'coffee', 'rocket')


def famt_hook(runner) -> FAMTHook:
    return next(h for h in runner.hooks if isinstance(h, FAMTHook))


def save_panels(runner, indices, titles, out_file: str) -> None:
    """Render the panels for ``indices`` of the training set."""
    import PIL.Image
    hook = famt_hook(runner)
    dataset = hook.refresh_view()
    batch = default_collate([dataset[i] for i in indices])
    figure = famt_mm.visualization.mask_panels.render_batch(
        runner.model, batch, hook.cues, titles=titles)
    PIL.Image.fromarray(figure).save(out_file)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/famt_demo')
    parser.add_argument(
        '--data', help='a folder of images to use instead of the photos')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. '
                        'train_cfg.max_epochs=12')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = args.work_dir
    data_root = args.data or osp.join(args.work_dir, 'photos')
    if args.data is None:
        write_photos(data_root)
    elif not osp.isdir(args.data):
        sys.exit(f'--data {args.data} is not a folder')
    cfg.train_dataloader.dataset.dataset.data_root = data_root
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)

    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    minutes = (time.perf_counter() - start) / 60

    dataset = famt_hook(runner).dataset
    names = [osp.splitext(osp.basename(d['img_path']))[0]
             for d in (dataset.get_data_info(i) for i in range(len(dataset)))]
    # up to 4 panels: the chosen photos, else the first images there are
    shown = ([names.index(n) for n in SHOWN if n in names]
             or list(range(min(4, len(names)))))
    out_file = osp.join(args.work_dir, 'famt_demo.png')
    save_panels(runner, shown[:4], [names[i] for i in shown[:4]], out_file)
    hook = famt_hook(runner)
    print(f'\nFAMT demo done in {minutes:.1f} min on {len(dataset)} images: '
          f'weights refreshed before epochs {hook.schedule}.')
    checkpoint = osp.join(args.work_dir, f'epoch_{runner.epoch}.pth')
    print(f'checkpoint: {checkpoint}')
    print(f'figure:     {out_file}')


if __name__ == '__main__':
    main()
