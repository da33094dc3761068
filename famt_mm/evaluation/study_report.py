"""The picture and the table a user decides from, made from a study's
results (``tools/study.py``): each arm's probe accuracy against its
training compute, and what each factor of the decomposition costs or
gives."""
import math
import statistics
from typing import Dict, List

from .statistics import t_quantile

NOT_ARMS = ('branch', 'init')  # rows that are not trained arms


def arm_intervals(runs: List[dict], metric: str) -> Dict[str, dict]:
    """Per arm: ``mean`` of ``metric`` over seeds, ``n`` and (n >= 2) the
    95% t interval ``ci95`` of that mean."""
    out = {}
    for arm in dict.fromkeys(r['arm'] for r in runs):
        values = [r[metric] for r in runs if r['arm'] == arm]
        mean = statistics.mean(values)
        entry = dict(mean=round(mean, 2), n=len(values))
        if len(values) >= 2:
            half = t_quantile(len(values) - 1) * statistics.stdev(values) \
                / math.sqrt(len(values))
            entry['ci95'] = [round(mean - half, 2), round(mean + half, 2)]
        out[arm] = entry
    return out


def accuracy_vs_flops(result: dict, metric: str, path: str) -> List[str]:
    """Write the figure (PNG) to ``path``: one point per trained arm, its
    mean ``metric`` with its 95% interval against its training FLOPs after
    the branch (refreshes included), the random arm's level as a line.
    Returns the arms drawn."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    levels = arm_intervals(result['runs'], metric)
    flops = result['flops']
    arms = [a for a in levels if a not in NOT_ARMS and a in flops]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    xs = {arm: flops[arm]['after_branch_gflop'] / 1e3 for arm in arms}
    span = max(xs.values(), default=0) - min(xs.values(), default=0) or 1.0
    for arm in arms:
        # arms of equal compute (the guided ones) are drawn side by side,
        # 2.5% of the axis apart, so that their intervals stay readable
        same = [a for a in arms if xs[a] == xs[arm]]
        rank = same.index(arm)
        dodge = 0.025 * span * (rank - (len(same) - 1) / 2)
        level = levels[arm]
        low, high = level.get('ci95', (level['mean'], level['mean']))
        ax.errorbar(xs[arm] + dodge, level['mean'],
                    yerr=[[level['mean'] - low], [high - level['mean']]],
                    fmt='o', capsize=4, label=f'{arm} (n={level["n"]})')
        ax.annotate(arm, (xs[arm] + dodge, level['mean']),
                    textcoords='offset points', xytext=(6, 4 - 10 * rank),
                    fontsize=8)
    if 'random' in levels:
        ax.axhline(levels['random']['mean'], color='grey', ls='--', lw=1,
                   label='random (MAE r .75) level')
    ax.set_xlabel('training compute after the branch (TFLOP, refreshes '
                  'included)')
    ax.set_ylabel(f'{metric} (%), mean and 95% interval over seeds')
    ax.legend(fontsize=7, loc='best')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return arms


def factor_table(result: dict, metric: str) -> List[str]:
    """Markdown rows: each step of the decomposition, its paired difference
    in ``metric`` with the 95% interval, what it reads as, and the compute
    it changes (FLOPs of the arm over its base's)."""
    flops = result['flops']
    lines = [f'| step | {metric}, paired difference [95% CI] (n) | reading '
             '| compute (arm / base) |', '|---|---|---|---|']
    for name, diff in result.get('decomposition', {}).items():
        arm, base = name.split(' - ')
        d = diff[metric]
        if not d['n']:
            continue
        cell = (f'{d["mean"]:+.2f} [{d["ci95"][0]:+.2f}, '
                f'{d["ci95"][1]:+.2f}] ({d["n"]})' if 'ci95' in d else
                f'{d["mean"]:+.2f} (n=1, no interval)')
        ratio = _ratio(flops, arm, base)
        lines.append(f'| {diff["reading"]}: {name} | {cell} | '
                     f'{d.get("reading", "-")} | {ratio} |')
    return lines


def _ratio(flops: dict, arm: str, base: str) -> str:
    if arm in flops and base in flops:
        ratio = (flops[arm]['after_branch_gflop'] /
                 flops[base]['after_branch_gflop'])
        return f'{ratio:.2f}'
    return '-'
