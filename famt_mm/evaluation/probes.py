"""Deterministic probes of frozen features: the same features give the
same accuracies, bit for bit (on one device: the probes run where the
features are).

- :func:`knn_accuracy`: weighted k-NN, DINO's protocol (cosine similarity,
  the k nearest training features vote with weight exp(similarity / T)).
- :func:`logistic_probe`: multinomial logistic regression fitted to
  convergence with L-BFGS from zero (a convex problem: one optimum), its L2
  strength chosen on a fixed held-out 10% of the *training* set, then
  refitted on the whole training set (CLIP's linear-probe protocol).
  Its fits run on one thread each (:func:`torch_threads`), so the numbers
  do not depend on how many cores the probe had.
- :func:`features` ([CLS] and mean patch tokens after the final norm) and
  :func:`train_linear` (the SGD linear probe, seeded).
- :func:`folder_dataset`, :func:`check_classes`, :func:`spread_subset`: the
  class folders a probe reads, checked.

What makes them fast (each leaves every number unchanged, bit for bit;
``tests/test_study.py``): the decoded images of a folder are kept once
(:func:`decoded_images`), so every checkpoint probed on them only runs its
encoder; the encoder runs in batches small enough for the allocator to
reuse their memory (:func:`features`); the L-BFGS gradient reads a
contiguous copy of the features' transpose (:class:`CachedTransposeMatmul`:
the same products, 0.7x the time); and the fits of several features run
side by side in threads.
"""
import hashlib
import math
import os
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..models.utils.cues import run_capturing

L2_GRID = tuple(10.0**e for e in range(-7, 1))  # lambda in loss + l/2 |W|^2
HELDOUT_FRACTION = 0.1
HELDOUT_SEED = 0  # the same held-out images for every run and seed


@torch.no_grad()
def knn_accuracy(train_x: torch.Tensor, train_y: torch.Tensor,
                 test_x: torch.Tensor, test_y: torch.Tensor, k: int = 20,
                 temperature: float = 0.07, chunk: int = 1024) -> float:
    """Top-1 (%) of the weighted k-NN classifier (all training samples
    vote where there are fewer than k).

    Args:
        train_x (Tensor): (N, C) features; train_y (Tensor): (N,) labels.
        test_x (Tensor): (M, C); test_y (Tensor): (M,).
    """
    train_x = F.normalize(train_x.float(), dim=1)
    test_x = F.normalize(test_x.float(), dim=1)
    classes = int(train_y.max()) + 1
    k = min(k, len(train_x))
    correct = 0
    for start in range(0, len(test_x), chunk):
        sim = test_x[start:start + chunk] @ train_x.T
        top, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(top), classes, device=top.device).scatter_add_(
            1, train_y[idx], (top / temperature).exp())
        correct += int((votes.argmax(1) == test_y[start:start + chunk]).sum())
    return 100.0 * correct / len(test_x)


@contextmanager
def torch_threads(num: int):
    """Run the block with ``num`` torch threads, then restore the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(num)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class CachedTransposeMatmul(torch.autograd.Function):
    """``x @ w`` for a fixed ``x`` whose transpose is stored contiguous:
    the gradient ``x^T g`` then runs as a plain matrix product, which is
    ~1.8x faster than autograd's transposed one and gives the same bits
    (tested)."""

    @staticmethod
    def forward(ctx, weight, x, xt):
        ctx.xt = xt
        return x @ weight

    @staticmethod
    def backward(ctx, grad):
        return ctx.xt @ grad, None, None


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float,
                 classes: int, max_iter: int = 1000,
                 cached_transpose: bool = True
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Minimise mean cross-entropy + l2 / 2 * |W|^2 (bias unpenalised)
    with L-BFGS from zero, in float64. Returns (W (C, K), b (K,)).
    ``cached_transpose=False`` is plain autograd (the reference: same
    result, slower)."""
    x = x.double().contiguous()
    xt = x.t().contiguous() if cached_transpose else None
    weight = torch.zeros(x.shape[1], classes, dtype=torch.float64,
                         device=x.device, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, device=x.device,
                       requires_grad=True)
    optim = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter,
                              tolerance_grad=1e-7, tolerance_change=1e-12,
                              history_size=20, line_search_fn='strong_wolfe')

    def closure():
        optim.zero_grad()
        logits = CachedTransposeMatmul.apply(weight, x, xt) \
            if cached_transpose else x @ weight
        loss = F.cross_entropy(logits + bias, y) \
            + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optim.step(closure)
    return weight.detach(), bias.detach()


def accuracy(weight, bias, x, y) -> float:
    return 100.0 * float(((x.double() @ weight + bias).argmax(1) == y)
                         .double().mean())


def heldout_split(n: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Indices (fit, held out) of a fixed 10% split of n training
    samples, the same for every run."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(
        HELDOUT_SEED))
    cut = int(round(n * HELDOUT_FRACTION))
    return order[cut:], order[:cut]


def logistic_probe(train_x: torch.Tensor, train_y: torch.Tensor,
                   test_x: torch.Tensor, test_y: torch.Tensor,
                   l2_grid: Sequence[float] = L2_GRID,
                   cached_transpose: bool = True, map_fn=map) -> Dict:
    """Standardise with the training statistics, choose the L2 strength on
    the held-out split, refit on all training samples, report top-1 (%).
    Call it under ``torch_threads(1)`` for numbers that do not depend on
    the core count; ``map_fn`` (e.g. a thread pool's ``map``) runs the
    held-out fits, each on its own."""
    return logistic_probes({'x': train_x}, train_y, {'x': test_x}, test_y,
                           l2_grid, cached_transpose, map_fn)['x']


def logistic_probes(train_x: Dict[str, torch.Tensor], train_y: torch.Tensor,
                    test_x: Dict[str, torch.Tensor], test_y: torch.Tensor,
                    l2_grid: Sequence[float] = L2_GRID,
                    cached_transpose: bool = True, map_fn=map) -> Dict:
    """:func:`logistic_probe` of every feature of ``train_x`` / ``test_x``
    ({name: (N, C)}), its fits (every feature's held-out fits, then the
    refits) spread by ``map_fn``: with a thread pool of one-thread fits,
    the cores stay busy to the end, and every number is as if sequential."""
    classes = int(train_y.max()) + 1
    fit, held = heldout_split(len(train_y))
    data = {}
    for name, x in train_x.items():
        mean, std = x.double().mean(0), x.double().std(0) + 1e-6
        data[name] = ((x.double() - mean) / std,
                      (test_x[name].double() - mean) / std)

    def heldout_fit(job):
        name, l2 = job
        x = data[name][0]
        w, b = fit_logistic(x[fit], train_y[fit], l2, classes,
                            cached_transpose=cached_transpose)
        return accuracy(w, b, x[held], train_y[held])

    jobs = [(name, l2) for name in data for l2 in l2_grid]
    heldout = dict(zip(jobs, map_fn(heldout_fit, jobs)))
    # best held-out accuracy; on a tie the stronger regularisation
    best = {name: max(l2_grid, key=lambda l2: (heldout[name, l2], l2))
            for name in data}

    def refit(name):
        (x, tx), l2 = data[name], best[name]
        w, b = fit_logistic(x, train_y, l2, classes,
                            cached_transpose=cached_transpose)
        return dict(test_top1=round(accuracy(w, b, tx, test_y), 2),
                    train_top1=round(accuracy(w, b, x, train_y), 2),
                    l2=l2, heldout_top1=round(heldout[name, l2], 2),
                    heldout_by_l2={f'{l2:g}': round(heldout[name, l2], 2)
                                   for l2 in l2_grid})

    return dict(zip(data, map_fn(refit, list(data))))


def decoded_images(dataset, cache_dir: Optional[str] = None,
                   num_workers: int = 2) -> Tuple[torch.Tensor, torch.Tensor]:
    """Every sample of ``dataset`` through its pipeline: (N, 3, H, W) uint8
    inputs and (N,) labels, in order. With ``cache_dir`` they are kept
    there (a .npz, no pickle) under a key of the samples' paths, sizes and
    modification times
    (:func:`famt_mm.datasets.weight_files.data_fingerprint`) and
    the pipeline, and read back on the next call instead of decoded."""
    from mmengine.dataset import default_collate
    from torch.utils.data import DataLoader

    from ..datasets.weight_files import data_fingerprint
    from ..utils.fileio import save_atomic
    path = None
    if cache_dir:
        key = hashlib.sha256(f'{data_fingerprint(dataset)} '
                             f'{dataset.pipeline!r}'.encode()).hexdigest()
        path = osp.join(cache_dir, f'probe_images_{key[:16]}.npz')
        if osp.isfile(path):
            with np.load(path, allow_pickle=False) as f:
                return torch.from_numpy(f['inputs']), torch.from_numpy(
                    f['labels'])
    inputs, labels = [], []
    for batch in DataLoader(dataset, batch_size=256, num_workers=num_workers,
                            collate_fn=default_collate):
        inputs.append(batch['inputs'])
        labels.append(torch.tensor(
            [int(ds.gt_label) for ds in batch['data_samples']]))
    inputs, labels = torch.cat(inputs), torch.cat(labels)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        save_atomic(path, lambda f: np.savez(f, inputs=inputs.numpy(),
                                             labels=labels.numpy()))
    return inputs, labels


FEATURES = ('cls', 'mean')


@torch.no_grad()
def features(model, inputs, batch_size=128):
    """{'cls': (N, C) [CLS] tokens, 'mean': (N, C) mean patch tokens}
    after the final norm (on the CPU) of (N, 3, H, W) uint8 ``inputs``.

    Batches of 128, not 256: a 256 batch of ViT-mini's MLP activations
    (51 MB) lies above glibc's 32 MB ceiling for reusing freed memory, so
    every batch mapped it anew and page-faulted (a quarter of the pass's
    time on 2 cores); the features are the same, bit for bit."""
    backbone = model.backbone
    final = backbone.ln1 if backbone.final_norm else backbone.layers[-1]
    feats = {k: [] for k in FEATURES}
    for start in range(0, len(inputs), batch_size):
        data = model.data_preprocessor(
            dict(inputs=inputs[start:start + batch_size], data_samples=None),
            False)
        tokens = run_capturing(backbone, data['inputs'],
                               outputs=dict(x=final))['x'].float().cpu()
        if not torch.isfinite(tokens).all():
            raise ValueError(
                'the encoder gives non-finite (NaN or inf) features for '
                f'images {start}-{start + len(tokens) - 1}')
        feats['cls'].append(tokens[:, 0])
        feats['mean'].append(tokens[:, 1:].mean(1))
    return {k: torch.cat(v) for k, v in feats.items()}


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
    head.to(train_x.device)
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


def folder_dataset(root: str, input_hw):
    """The class folders under ``root`` (labels: the folders' sorted
    indices), each image resized to ``input_hw``; zero-byte files are
    refused, naming them."""
    from mmpretrain.datasets import CustomDataset

    from ..datasets.image_folder import check_nonempty
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(input_hw[1], input_hw[0]),
             interpolation='bicubic', backend='pillow'),
        dict(type='PackInputs')
    ]
    dataset = CustomDataset(data_root=root, pipeline=pipeline)
    check_nonempty(dataset.get_data_info(i)['img_path']
                   for i in range(len(dataset)))
    return dataset


def check_classes(train, test) -> None:
    """Labels are folder indices: the splits must name the same classes
    (then both sort them alike), or test labels would mean other classes.
    """
    a, b = (tuple(d.metainfo['classes']) for d in (train, test))
    if a != b:
        raise ValueError(
            'the training and test folders hold different classes: only in '
            f'training {sorted(set(a) - set(b))}, only in test '
            f'{sorted(set(b) - set(a))}; a probe needs the same class '
            'folders in both')


def spread_positions(total: int, count: int) -> list:
    """``count`` positions spread evenly over ``total`` (all of them when
    ``count >= total``): over a class-folder file list, every class."""
    step = max(total, count) / count
    return [int(i * step) for i in range(min(count, total))]


def spread_subset(dataset, max_images=None):
    """``max_images`` samples spread over the class folders (which the
    file list keeps in order), or all of them."""
    if max_images and max_images < len(dataset):
        dataset = dataset.get_subset(spread_positions(len(dataset),
                                                      max_images))
    return dataset
