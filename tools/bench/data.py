"""Data mode: the training pipelines alone, in this one process (one
dataloader worker), interleaved pass by pass."""
import os
import os.path as osp
import statistics
import tempfile
import time

import numpy as np
from mmengine.registry import MODELS, init_default_scope

from famt_mm.evaluation.experiment import load_config
from famt_mm.utils.shared_data import unpack_shared


def train_pipeline_cfg(cfg) -> list:
    """The training data set's pipeline (dataset wrappers removed)."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset:
        dataset = dataset.dataset
    return dataset.pipeline


def default_images() -> str:
    """The Imagenette subset of ../shared/data, unpacked to the cache."""
    try:
        return unpack_shared('imagenette-sub')
    except FileNotFoundError as e:
        raise SystemExit(f'data mode: no --data and {e}')


def data_mode(args) -> list:
    """ms per image of each config's training pipeline in one process."""
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    from famt_mm.datasets.transforms import LoadFAMTWeights
    folder = args.data or default_images()
    files = sorted(
        osp.join(d, f) for d, _, names in os.walk(folder) for f in names
        if f.lower().endswith(('.jpg', '.jpeg', '.png')))[:args.images]
    if not files:
        raise SystemExit(f'data mode: no images in {folder}')
    tmp = tempfile.mkdtemp(prefix='famt_bench_data_')
    pipelines, names = [], []
    for path in args.configs:
        cfg = load_config(path, args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        pipeline = Compose(
            [TRANSFORMS.build(t) for t in train_pipeline_cfg(cfg)])
        for t in pipeline.transforms:
            if isinstance(t, LoadFAMTWeights):
                # As FAMTHook: the patch size is the model's (set on the
                # transform: the configs share one store). Real maps, so
                # the weights are pooled as in training (the warm-up's
                # uniform weights skip that work).
                t.patch_size = MODELS.build(cfg.model).patch_size
                crop = next(c for c in pipeline.transforms
                            if hasattr(c, 'scale'))
                side = crop.scale[0] // t.patch_size
                maps = os.path.join(tmp, f'{len(names)}.npy')
                np.save(maps, np.random.default_rng(0).random(
                    (len(files), side, side)).astype(np.float16))
                t.store.publish(maps)
        pipelines.append(pipeline)
        names.append(path.split('::')[-1].rsplit('/', 1)[-1][:-3])
    times = [[] for _ in pipelines]
    for rep in range(args.passes + 1):
        for k, pipeline in enumerate(pipelines):
            start = time.perf_counter()
            for i, f in enumerate(files):
                pipeline(dict(img_path=f, sample_idx=i))
            if rep:  # the first pass warms the page cache
                times[k].append((time.perf_counter() - start) / len(files))
    first = statistics.median(times[0])
    rows = []
    for k, name in enumerate(names):
        ms = statistics.median(times[k]) * 1000
        row = dict(config=name, images=len(files),
                   ms_per_image_per_worker=round(ms, 3),
                   images_per_s_per_worker=round(1000 / ms, 1),
                   ratio_to_first=round(ms / 1000 / first, 3))
        if args.step_images_per_s:
            # a FAMT / AMT step is ~0.6x as long: its loader must keep up
            rate = args.step_images_per_s / (0.6 if k else 1.0)
            row.update(needed_images_per_s=round(rate, 1),
                       workers_needed=round(rate * ms / 1000, 2))
        rows.append(row)
    return rows
