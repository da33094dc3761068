"""The experiment core the study and the reproduction share."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from mmcv import imwrite

from famt_mm.evaluation.experiment import (RunFailed, check_data, run_logged,
                                           spread_indices)
from .conftest import load_tool


def image_folder(root, classes, ext='.png', per_class=2):
    for name in classes:
        for i in range(per_class):
            imwrite(np.full((8, 8, 3), i * 40, np.uint8),
                    str(root / name / f'{i}{ext}'))


def test_check_data_refuses_what_would_make_numbers_wrong(tmp_path):
    image_folder(tmp_path / 'ok' / 'train', ['cat', 'dog'])
    image_folder(tmp_path / 'ok' / 'test', ['cat', 'dog'])
    check_data(str(tmp_path / 'ok'))
    image_folder(tmp_path / 'one' / 'train', ['cat'])
    image_folder(tmp_path / 'one' / 'test', ['cat'])
    with pytest.raises(ValueError, match=r"train/ has 1 class \['cat'\]"):
        check_data(str(tmp_path / 'one'))
    image_folder(tmp_path / 'renamed' / 'train', ['cat', 'dog'])
    image_folder(tmp_path / 'renamed' / 'test', ['cat', 'hound'])
    with pytest.raises(ValueError, match=r"different classes .*\['dog', "
                       r"'hound'\]"):
        check_data(str(tmp_path / 'renamed'))
    (tmp_path / 'empty' / 'train' / 'cat').mkdir(parents=True)
    image_folder(tmp_path / 'empty' / 'test', ['cat', 'dog'])
    with pytest.raises(ValueError, match='train/ holds no class folders'):
        check_data(str(tmp_path / 'empty'))
    study = load_tool('study')  # at argument parsing, before any training
    with pytest.raises(SystemExit):
        study.parse_args(['--data', str(tmp_path / 'one')])


def test_spread_indices_cover_every_class_whatever_the_extension(tmp_path):
    image_folder(tmp_path / 'data', ['a'], '.jpg', per_class=4)
    image_folder(tmp_path / 'data', ['b'], '.bmp', per_class=4)
    # 8 images, 4 of them .bmp: 4 indices spread over all 8
    assert spread_indices(str(tmp_path / 'data'), 4) == [0, 2, 4, 6]


def test_a_failed_child_names_its_log_and_its_last_lines(tmp_path):
    log = tmp_path / 'pretrain.log'
    with pytest.raises(RunFailed) as failure:
        run_logged([sys.executable, '-c',
                    'print("CUDA out of memory"); raise SystemExit(3)'],
                   str(log))
    message = str(failure.value)
    assert 'exited with 3' in message and str(log) in message
    assert 'CUDA out of memory' in message


def test_children_die_with_the_tool(tmp_path):
    """kill -9 of a tool leaves no orphaned trainer writing its run."""
    pid_file = tmp_path / 'child.pid'
    tool = subprocess.Popen([
        sys.executable, '-c',
        'import sys; from famt_mm.evaluation.experiment import run_logged; '
        'run_logged([sys.executable, "-c", "import os, time; '
        f'open({str(pid_file)!r}, \\"w\\").write(str(os.getpid())); '
        'time.sleep(60)"], sys.argv[1])',
        str(tmp_path / 'child.log')
    ])
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.time() < deadline and tool.poll() is None
        time.sleep(0.1)
    child = int(pid_file.read_text())
    os.kill(tool.pid, signal.SIGKILL)
    tool.wait()
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail('the child outlived the killed tool')


def test_a_run_directory_is_locked_while_a_process_works_in_it(tmp_path):
    from famt_mm.evaluation.experiment import run_lock
    with run_lock(str(tmp_path / 'run')):
        other = subprocess.run(
            [sys.executable, '-c',
             'import sys; from famt_mm.evaluation.experiment import '
             'run_lock\nwith run_lock(sys.argv[1]): pass',
             str(tmp_path / 'run')], capture_output=True, text=True)
        assert other.returncode != 0
        assert 'is in use by another process' in other.stderr
    with run_lock(str(tmp_path / 'run')):  # released with its holder
        pass


def test_a_run_directory_refuses_other_settings(tmp_path):
    from famt_mm.evaluation.experiment import check_run_settings
    check_run_settings(str(tmp_path / 'run'), dict(epochs=30, seed=4))
    check_run_settings(str(tmp_path / 'run'), dict(epochs=30, seed=4))
    with pytest.raises(ValueError, match=r'other settings \(epochs 30 -> 3\)'):
        check_run_settings(str(tmp_path / 'run'), dict(epochs=3, seed=4))


def test_most_epochs_within_a_budget():
    from famt_mm.evaluation.experiment import most_epochs_within

    # section 8's numbers: random 20 x 4325 GFLOP; FAMT 2738 an epoch plus
    # 3606 per refresh (one at the branch, then every 3 epochs)
    def famt(epochs):
        return epochs * 2737.9 + (1 + (epochs - 1) // 3) * 3606.3
    assert most_epochs_within(famt, 20 * 4325.3) == 21
    assert most_epochs_within(lambda e: 10.0 * e, 5.0) == 1  # at least one
