"""Probes of a pretrained encoder on an image-folder data set.

    python tools/linear_probe.py CONFIG (CHECKPOINT | --random-init)
        --train DIR --test DIR [--epochs 100] [--batch-size 256] [--lr 0.1]
        [--seed 0] [--device cpu|cuda] [--max-images N] [--out RESULT.json]

Features are computed once, without augmentation, from the frozen encoder
(loaded strictly: a checkpoint that does not fit the config's encoder is
refused): the [CLS] token and the mean of the patch tokens after the final
norm. On them:

- sgd: MAE's probing head on [CLS] (standardisation with the training
  statistics, a linear classifier, SGD with momentum 0.9, cosine schedule;
  depends on --seed), kept for continuity with earlier results;
- knn: weighted k-NN, k 20, T 0.07 (DINO), for [CLS] and mean;
- logreg: L-BFGS logistic regression, L2 strength chosen on a fixed 10%
  of the training set, for [CLS] and mean (famt_mm/evaluation/probes.py).

knn and logreg are deterministic: the same features give the same numbers.
--random-init probes the config's encoder as initialised with --seed,
untrained: the floor that pretraining is measured against. A checkpoint
with a NaN or infinite encoder tensor is refused, naming the tensor.
DIR holds one folder per class (mmpretrain CustomDataset layout); the two
folders must hold the same class names. MMPretrain's GPU protocol
(configs/pretrain/benchmarks/) adds RandomResizedCrop and LARS.
"""
import argparse
import json
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from mmengine.runner import set_random_seed

import famt_mm  # noqa: F401
from famt_mm.engine.checkpoint import load_encoder
from famt_mm.evaluation.experiment import build_model, load_config
from famt_mm.evaluation.probes import (FEATURES, check_classes, decoded_images,
                                       features, folder_dataset, knn_accuracy,
                                       logistic_probes, spread_subset,
                                       torch_threads, train_linear)
from famt_mm.utils.fileio import output_file, save_json


def probe(args) -> dict:
    """Every probe of ``args.checkpoint`` on the two folders."""
    cfg = load_config(args.config)
    if args.random_init:  # as a training run starts: seed, build, init
        set_random_seed(args.seed)
        model = build_model(cfg)
        model.init_weights()
    else:
        model = build_model(cfg)
        load_encoder(model, args.checkpoint)
    model.to(args.device).eval()
    input_hw = model.input_size
    splits = [folder_dataset(folder, input_hw)
              for folder in (args.train, args.test)]
    check_classes(*splits)
    (train_in, train_y), (test_in, test_y) = (decoded_images(
        spread_subset(ds, args.max_images), args.image_cache)
        for ds in splits)
    train_x, test_x = (features(model, x.to(args.device))
                       for x in (train_in, test_in))
    # the probes run where the model ran (their tensors follow the inputs)
    train_x, test_x = ({k: v.to(args.device) for k, v in x.items()}
                       for x in (train_x, test_x))
    train_y, test_y = train_y.to(args.device), test_y.to(args.device)
    result = train_linear(train_x['cls'], train_y, test_x['cls'], test_y,
                          args.epochs, args.batch_size, args.lr, args.seed)
    # one thread per fit (numbers independent of the cores), the features'
    # fits side by side on the cores this process has
    with torch_threads(1), ThreadPoolExecutor(args.jobs) as pool:
        logreg = logistic_probes(train_x, train_y, test_x, test_y,
                                 map_fn=pool.map)
    result.update(
        knn={k: round(knn_accuracy(train_x[k], train_y, test_x[k], test_y),
                      2) for k in FEATURES},
        logreg=logreg,
        checkpoint=args.checkpoint or f'random init, seed {args.seed}',
        feature_dim=train_x['cls'].shape[1],
        train_images=len(train_y), test_images=len(test_y))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--random-init', action='store_true',
                        help='probe the encoder as initialised with --seed '
                        '(no checkpoint)')
    parser.add_argument('--train', required=True, help='training folder')
    parser.add_argument('--test', required=True, help='test folder')
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--lr', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                        help='where the features are computed and the '
                        'probes run')
    parser.add_argument('--max-images', type=int,
                        help='N images of each folder, evenly spread')
    parser.add_argument('--jobs', type=int,
                        default=torch.get_num_threads(),
                        help='logistic-regression fits at a time, one thread '
                        'each (default: the torch threads)')
    parser.add_argument('--image-cache', default=osp.join(
        osp.expanduser('~'), '.cache', 'famt-mm', 'probe-images'),
        help='where the decoded images are kept between probes of the same '
        'folders (keyed by their paths, sizes and times); "" keeps none')
    parser.add_argument('--out', type=output_file('.json'),
                        help='write the result as JSON')
    args = parser.parse_args()
    for name in ('epochs', 'batch_size', 'max_images', 'jobs'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, '
                         f'got {value}')
    if bool(args.checkpoint) == args.random_init:
        parser.error('give a CHECKPOINT or --random-init (one of them)')
    if args.lr <= 0:
        parser.error(f'--lr must be > 0, got {args.lr}')

    start = time.perf_counter()
    try:
        result = probe(args)
    except ValueError as e:
        sys.exit(f'linear_probe: {e}')
    result.update(seconds=round(time.perf_counter() - start, 1))
    print(json.dumps(result))
    if args.out:  # atomic: reproduce_cifar10.py reads it from threads
        save_json(args.out, result)


if __name__ == '__main__':
    main()
