# famt-mm: set up, demo and test. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help setup setup-pretrain demo test

help:  ## list the targets
	@grep -E "^[a-z-]+:.*## " $(MAKEFILE_LIST) | sed -E "s/:.*## /\t/"

setup-pretrain:  ## the pretraining environment in $(VENV): mmcv-lite, nothing compiled (minutes)
	FAMT_VENV=$(VENV) bash tools/setup.sh --tier pretrain

setup:  ## the full environment: adds mmdet, mmseg and mmcv with its ops (built once, ~20 min)
	FAMT_VENV=$(VENV) bash tools/setup.sh --tier full

demo: setup-pretrain  ## set up what pretraining needs, then the FAMT-MAE demo (time: see README)
	$(PY) tools/demo.py

test: setup  ## set up the full environment, then the test suite
	$(PY) -m pytest
