#!/usr/bin/env bash
# The GPU study (tools/study.py --preset gpu) in two steps.
#
#   bash tools/device_study.sh bundle   # here: fill .device/ (git-ignored)
#   bash tools/device_study.sh run      # on the GPU machine, in the repo root
#
# bundle downloads the Python 3.12 wheels that a machine with torch but no
# OpenMMLab packages lacks (mmengine, mmpretrain, mmcv-lite and their small
# dependencies) into .device/whl, links the shared CIFAR-10 archive as
# .device/data (a link: the data is never copied into the repository) and
# records the commit in .device/COMMIT. Carry .device/whl, .device/COMMIT
# and .device/data/cifar10-jpeg.tar.gz to the machine.
#
# run installs the wheels into /tmp/site, unpacks CIFAR-10 into /tmp/data
# and runs the study; its results.json / results.md and the study log go
# to $OUT (default work_dirs/study_controls_cifar10_gpu) as every run finishes.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(mmengine==0.10.7 mmpretrain==1.2.0 mmcv-lite==2.1.0 addict==2.4.0
        yapf==0.43.0 platformdirs termcolor modelindex==0.0.2 ordered-set
        mat4py==0.6.0 importlib-metadata)

case "${1:-}" in
bundle)
    mkdir -p .device/whl
    python3 -m pip download -q --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        -d .device/whl "${WHEELS[@]}"
    data=$(cd ../shared/data && pwd)
    [ -f "$data/cifar10-jpeg.tar.gz" ] || {
        echo "device_study: $data/cifar10-jpeg.tar.gz is absent" >&2; exit 1; }
    ln -sfn "$data" .device/data
    changes=$(git status --porcelain -- famt_mm tools configs)
    echo "$(git rev-parse HEAD)${changes:+ dirty}" > .device/COMMIT
    du -shL .device/whl .device/data/cifar10-jpeg.tar.gz
    ;;
run)
    OUT=${OUT:-work_dirs/study_controls_cifar10_gpu}
    mkdir -p "$OUT"
    python3 -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target /tmp/site .device/whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
    export FAMT_STUDY_COMMIT=$(cat .device/COMMIT)  # the copy has no .git
    mkdir -p /tmp/data/cifar10-jpeg
    tar -xzf .device/data/cifar10-jpeg.tar.gz -C /tmp/data/cifar10-jpeg
    status=0
    python3 tools/study.py --preset gpu --data /tmp/data/cifar10-jpeg \
        --work-dir work_dirs/study_controls_cifar10_gpu \
        --results "$OUT/study_controls_cifar10_gpu.json" "${@:2}" \
        > "$OUT/study.log" 2>&1 || status=$?
    grep '^\[study\]\|^|' "$OUT/study.log" || tail -40 "$OUT/study.log"
    cp work_dirs/study_controls_cifar10_gpu/results.md "$OUT/" 2>/dev/null || true
    exit $status
    ;;
*)
    echo "usage: bash tools/device_study.sh bundle|run [study.py options]" >&2
    exit 2
    ;;
esac
