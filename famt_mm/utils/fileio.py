"""Writes that never leave a partial file behind."""
import argparse
import json
import os
import tempfile
from typing import BinaryIO, Callable


def save_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, flush it to
    disk, then rename it over ``path``: readers see the old file or the
    whole new one, and a crash leaves the old one intact."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_json(path: str, obj) -> None:
    """:func:`save_atomic` of ``obj`` as indented JSON."""
    raw = json.dumps(obj, indent=2).encode()
    save_atomic(path, lambda f: f.write(raw))


def check_writable_folder(folder: str) -> None:
    """Raise ValueError unless a file can be created in ``folder`` (or,
    where it does not exist yet, in the part of it that does). Tried with
    a real file: ``os.access`` says yes to root on any folder and knows
    nothing of read-only mounts."""
    existing = os.path.abspath(folder)
    while not os.path.isdir(existing):
        if os.path.exists(existing):
            raise ValueError(f'cannot write in {folder}: {existing} is a '
                             'file')
        existing = os.path.dirname(existing)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ValueError(f'cannot write in {folder}: {existing} is not '
                         f'writable ({e.strerror})') from None


def check_output_path(path: str, suffixes=()) -> str:
    """Refuse, before any work, an output path that cannot be written:
    a directory, a name without one of ``suffixes`` (e.g. ``('.png',)``)
    or a folder that cannot be created or written. Returns ``path``."""
    if os.path.isdir(path):
        raise ValueError(f'{path} is a directory: give a file name')
    if suffixes and not path.lower().endswith(tuple(suffixes)):
        raise ValueError(f'{path} must end with one of {list(suffixes)}')
    check_writable_folder(os.path.dirname(os.path.abspath(path)))
    return path


def output_file(*suffixes):
    """An argparse ``type`` that checks an output path with
    :func:`check_output_path` when the arguments are parsed."""
    def output_path(path: str) -> str:
        try:
            return check_output_path(path, suffixes)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return output_path
