"""The study's figure and factor table, from a results file."""
import json

import pytest

from famt_mm.evaluation.statistics import paired_summary
from famt_mm.evaluation.study_report import (accuracy_vs_flops, arm_intervals,
                                             factor_table)
from .conftest import load_tool

RUNS = [dict(arm=a, seed=s, logreg_mean=v) for a, s, v in (
    ('branch', 4, 50.0), ('init', 4, 45.0), ('random', 4, 52.0),
    ('random', 5, 53.0), ('uniform', 4, 51.5), ('uniform', 5, 52.9),
    ('famt', 4, 51.0), ('famt', 5, 52.2))]
FLOPS = {a: dict(after_branch_gflop=g) for a, g in (
    ('random', 86500.0), ('uniform', 54800.0), ('famt', 80000.0))}


def result():
    diffs = [51.0 - 51.5, 52.2 - 52.9]
    return dict(primary_metric='logreg_mean', settings={}, commit='c',
                runs=RUNS, flops=FLOPS, decomposition={
                    'famt - uniform': dict(
                        reading="guidance at FAMT's budget (primary)",
                        logreg_mean=paired_summary(diffs))})


def test_arm_intervals_are_t_intervals_of_the_mean():
    levels = arm_intervals(RUNS, 'logreg_mean')
    assert levels['random']['mean'] == 52.5 and levels['random']['n'] == 2
    # mean 52.5, sd 0.7071, t(0.975, 1) = 12.706: half width 6.35
    assert levels['random']['ci95'] == pytest.approx([46.15, 58.85], abs=0.01)
    assert 'ci95' not in levels['branch']  # one seed: no interval


def test_figure_and_factor_table(tmp_path):
    path = str(tmp_path / 'fig.png')
    assert accuracy_vs_flops(result(), 'logreg_mean', path) == [
        'random', 'uniform', 'famt']
    assert open(path, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
    rows = factor_table(result(), 'logreg_mean')
    assert rows[2].startswith("| guidance at FAMT's budget (primary): "
                              'famt - uniform | -0.60 [')
    assert rows[2].endswith('| 1.46 |')  # FAMT's refreshes cost compute


def test_study_report_writes_both_beside_the_results(tmp_path):
    results = tmp_path / 'study.json'
    results.write_text(json.dumps(result()))
    load_tool('study').report(str(results))
    assert (tmp_path / 'study.png').is_file()
    assert 'famt - uniform' in (tmp_path / 'study.md').read_text()
