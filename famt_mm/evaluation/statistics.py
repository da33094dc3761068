"""Paired differences over seeds, with a 95% t interval."""
import math
import statistics


def t_quantile(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.stats import t
    return float(t.ppf(0.975, df))


def paired_summary(diffs: list) -> dict:
    """``n``, the ``diffs`` (rounded), their ``mean``, and from two on the
    95% t interval ``ci95`` with its ``reading``: a gain or a loss only when
    the interval excludes 0."""
    out = dict(n=len(diffs), diffs=[round(d, 2) for d in diffs])
    if diffs:
        out['mean'] = round(statistics.mean(diffs), 2)
    if len(diffs) >= 2:
        half = t_quantile(len(diffs) - 1) * statistics.stdev(diffs) / \
            math.sqrt(len(diffs))
        low, high = out['mean'] - half, out['mean'] + half
        out.update(ci95=[round(low, 2), round(high, 2)],
                   reading='gain' if low > 0 else
                   'loss' if high < 0 else 'no difference shown')
    return out
