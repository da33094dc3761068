"""flake8 and isort, with the settings in setup.cfg (OpenMMLab's)."""
import subprocess
import sys

from .conftest import ROOT

PATHS = ['famt_mm', 'tools', 'tests', 'configs']


def test_flake8():
    out = subprocess.run([sys.executable, '-m', 'flake8', *PATHS], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_isort():
    out = subprocess.run([sys.executable, '-m', 'isort', '--check-only',
                          '--diff', *PATHS], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
