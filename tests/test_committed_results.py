"""The committed decomposition study's differences and intervals follow
from its own per-seed numbers (recomputed here independently)."""
import json
import math
import os.path as osp
import statistics

import pytest

RESULTS = osp.join(osp.dirname(__file__), '..', 'docs', 'benchmarks',
                   'study_controls_cifar10.json')
# two-sided 95% Student t quantiles, from tables
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706}


def _by_seed(runs, arm, metric):
    return {r['seed']: r[metric] for r in runs
            if r['arm'] == arm and metric in r}


def _check(summary, arm, base, runs, metric):
    a, b = _by_seed(runs, arm, metric), _by_seed(runs, base, metric)
    diffs = [a[s] - b[s] for s in sorted(set(a) & set(b))]
    assert summary['n'] == len(diffs)
    assert summary['diffs'] == pytest.approx([round(d, 2) for d in diffs],
                                             abs=0.006)
    if len(diffs) < 2:
        return
    mean = statistics.mean(diffs)
    half = T975[len(diffs) - 1] * statistics.stdev(diffs) / \
        math.sqrt(len(diffs))
    assert summary['mean'] == pytest.approx(mean, abs=0.006)
    assert summary['ci95'] == pytest.approx([mean - half, mean + half],
                                            abs=0.012)
    low, high = summary['ci95']
    assert summary['reading'] == ('gain' if low > 0 else 'loss' if high < 0
                                  else 'no difference shown')


def test_decomposition_follows_from_the_runs():
    with open(RESULTS) as f:
        result = json.load(f)
    runs = result['runs']
    assert len({r['seed'] for r in runs if r['arm'] == 'uniform'}) >= 4
    for step, entry in result['decomposition'].items():
        arm, base = step.split(' - ')
        for metric, summary in entry.items():
            if metric != 'reading':
                _check(summary, arm, base, runs, metric)
    for arm, entry in result['paired_differences'].items():
        for metric, summary in entry.items():
            _check(summary, arm, 'random', runs, metric)
