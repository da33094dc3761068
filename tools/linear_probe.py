"""Linear probe of a pretrained encoder on an image-folder data set.

    python tools/linear_probe.py CONFIG CHECKPOINT --train DIR --test DIR
        [--epochs 100] [--batch-size 256] [--lr 0.1] [--seed 0]
        [--device cpu|cuda] [--max-images N] [--out RESULT.json]

MAE's probing head on frozen features: the [CLS] token after the encoder's
final norm, BatchNorm without affine parameters (standardisation with the
training set's statistics) and a linear classifier (SGD, momentum 0.9,
cosine schedule, no weight decay). Features are computed once, without
augmentation, so the probe runs on a CPU in minutes; MMPretrain's GPU
protocol (configs/pretrain/benchmarks/) adds RandomResizedCrop and LARS.
DIR holds one folder per class (mmpretrain CustomDataset layout).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import MODELS
from torch.utils.data import DataLoader

import famt_mm  # noqa: F401
from famt_mm.cues import run_capturing
from famt_mm.fileio import save_json


@torch.no_grad()
def cls_features(model, loader):
    """(N, C) [CLS] tokens after the final norm (on the CPU), and (N,)
    labels."""
    backbone = model.backbone
    final = backbone.ln1 if backbone.final_norm else backbone.layers[-1]
    feats, labels = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        tokens = run_capturing(backbone, data['inputs'],
                               outputs=dict(x=final))['x']
        feats.append(tokens[:, 0].float().cpu())
        labels.append(torch.tensor(
            [int(ds.gt_label) for ds in batch['data_samples']]))
    return torch.cat(feats), torch.cat(labels)


def train_linear(train_x, train_y, test_x, test_y, epochs, batch_size, lr,
                 seed):
    """Standardise, then a linear classifier; returns accuracies (%)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    classes = int(train_y.max()) + 1
    gen = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(train_x.shape[1], classes)
    torch.nn.init.trunc_normal_(head.weight, std=0.01, generator=gen)
    torch.nn.init.zeros_(head.bias)
    optim = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9)
    steps = epochs * math.ceil(len(train_x) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, steps)
    for _ in range(epochs):
        order = torch.randperm(len(train_x), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(head(train_x[idx]), train_y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
    with torch.no_grad():
        acc = [(head(x).argmax(1) == y).float().mean().item() * 100
               for x, y in ((train_x, train_y), (test_x, test_y))]
    return dict(train_top1=round(acc[0], 2), test_top1=round(acc[1], 2))


def folder_loader(root, input_hw, batch_size, max_images=None):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(input_hw[1], input_hw[0]),
             interpolation='bicubic', backend='pillow'),
        dict(type='PackInputs')
    ]
    dataset = CustomDataset(data_root=root, pipeline=pipeline)
    if max_images and max_images < len(dataset):
        # spread over the class folders, which the file list keeps in order
        step = len(dataset) / max_images
        dataset = dataset.get_subset(
            [int(i * step) for i in range(max_images)])
    return DataLoader(dataset, batch_size=batch_size, num_workers=2,
                      collate_fn=default_collate)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--train', required=True, help='training folder')
    parser.add_argument('--test', required=True, help='test folder')
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--lr', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                        help='where the features are computed')
    parser.add_argument('--max-images', type=int,
                        help='N images of each folder, evenly spread')
    parser.add_argument('--out', help='write the result as JSON')
    args = parser.parse_args()

    start = time.perf_counter()
    cfg = Config.fromfile(args.config)
    init_default_scope('mmpretrain')
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device).eval()
    patch = model.backbone.patch_embed.projection.stride[0]
    input_hw = tuple(g * patch for g in model.patch_grid)
    train, test = (cls_features(
        model, folder_loader(folder, input_hw, 256, args.max_images))
                   for folder in (args.train, args.test))
    result = train_linear(*train, *test, args.epochs, args.batch_size,
                          args.lr, args.seed)
    result.update(checkpoint=args.checkpoint, feature_dim=train[0].shape[1],
                  train_images=len(train[0]), test_images=len(test[0]),
                  seconds=round(time.perf_counter() - start, 1))
    print(json.dumps(result))
    if args.out:  # atomic: reproduce_cifar10.py reads it from threads
        save_json(args.out, result)


if __name__ == '__main__':
    main()
