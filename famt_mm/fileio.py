"""Writes that never leave a partial file behind."""
import json
import os
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
