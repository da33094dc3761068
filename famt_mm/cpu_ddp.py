"""Importing this module lets MMEngine's launchers and DDP wrapper run on
machines without GPUs (:func:`famt_mm.compat.cpu_distributed`); machines
with GPUs are untouched. The project's ``tools/train.py`` and
``tools/test.py`` apply it themselves; with ``mim train`` add it to the
config: ``custom_imports = dict(imports=['famt_mm', 'famt_mm.cpu_ddp'])``.
"""
from .compat import cpu_distributed

cpu_distributed()
