#!/usr/bin/env bash
# Install what famt-mm needs into a virtual environment, idempotently.
#
#   bash tools/setup.sh [--tier full|pretrain]   # ./.venv (FAMT_VENV=...)
#
# pretrain: torch 2.14.1 + torchvision 0.29.1, mmengine, mmpretrain,
#   mmcv-lite (nothing compiled), openmim, scikit-image and famt-mm itself:
#   pretraining, the demo, the probes and the study. A few minutes.
# full (default): the same, plus mmdet, mmsegmentation, pycocotools, lvis
#   and mmcv 2.1.0 with its compiled ops in place of mmcv-lite (built here
#   from the sdist, about 20 min on 2 cores the first time: PyPI has no
#   wheel for this torch; the wheel is cached). Upgrading a pretrain
#   environment to full replaces mmcv-lite in place.
# A second run checks the environment and returns in seconds.
#
# Environment:
#   FAMT_TIER      full or pretrain (default: full; --tier wins)
#   FAMT_VENV      virtual environment to create or update (default: .venv)
#   FAMT_CACHE     where built mmcv wheels are kept (default: ~/.cache/famt-mm)
#   PYTHON         interpreter for a new venv (default: python3.11, python3)
#   FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST  build mmcv's CUDA ops (automatic when
#                  torch sees a GPU); needs nvcc matching torch's CUDA
#   MAX_JOBS       parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${FAMT_VENV:-$ROOT/.venv}
CACHE=${FAMT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/famt-mm}
TORCH_SPEC="torch==2.14.1 torchvision==0.29.1"
MMCV_VERSION=2.1.0
# mmengine, openmim and mmcv's setup.py import pkg_resources: setuptools 82
# removed it, and from 80.9 every import prints a UserWarning.
BUILD_TOOLS="setuptools>=64,<80.9 wheel ninja psutil"

log() { printf '[setup] %s\n' "$*"; }

TIER=${FAMT_TIER:-full}
while [ $# -gt 0 ]; do
    case "$1" in
        --tier) TIER=${2:-}; shift 2 || shift ;;
        --tier=*) TIER=${1#--tier=}; shift ;;
        *) echo "setup.sh: unknown argument '$1' (allowed: --tier full|pretrain)" >&2
           exit 2 ;;
    esac
done
case "$TIER" in
    full|pretrain) ;;
    *) echo "setup.sh: --tier '$TIER' is not one of: full, pretrain" >&2
       exit 2 ;;
esac

if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(command -v python3.11 || command -v python3)
fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP="$PY -m pip --disable-pip-version-check"

# Fast path: nothing changed since the last successful run (a full
# environment serves the pretrain tier too).
STAMP="$VENV/.famt-setup-stamp"
FINGERPRINT=$(cat "$ROOT/tools/setup.sh" "$ROOT/requirements.txt" \
    "$ROOT/requirements-pretrain.txt" "$ROOT/pyproject.toml" \
    | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && { [ "$(cat "$STAMP")" = "full $FINGERPRINT" ] \
        || [ "$(cat "$STAMP")" = "$TIER $FINGERPRINT" ]; } \
    && "$PY" "$ROOT/tools/check_env.py" --tier "$TIER" --quiet 2>/dev/null; then
    log "environment $VENV ($TIER) is up to date"
    exit 0
fi

log "installing $TORCH_SPEC, build tools and the OpenMMLab stack ($TIER)"
$PIP install -q $TORCH_SPEC $BUILD_TOOLS
# The requirements hold everything but mmcv (mmdet, mmseg and mmpretrain
# do not require it); mmcv itself imports mmengine, so they come first.
if [ "$TIER" = pretrain ]; then
    $PIP install -q -r "$ROOT/requirements-pretrain.txt"
else
    $PIP install -q -r "$ROOT/requirements.txt"
fi

install_project() {
    # openmim depends on opendatalab -> openxlab, which pins setuptools~=60.2,
    # requests, rich and tqdm to 2023 releases; `mim train/test/search` need
    # neither, so openmim goes in without dependencies and its runtime needs
    # are listed in requirements-pretrain.txt.
    log "installing openmim and famt-mm"
    $PIP install -q --no-deps "openmim==0.3.9"
    $PIP install -q --no-deps --no-build-isolation -e "$ROOT"
    "$PY" "$ROOT/tools/check_env.py" --tier "$TIER"
    echo "$TIER $FINGERPRINT" > "$STAMP"
    log "done ($TIER): activate with 'source $VENV/bin/activate'"
}

distribution_installed() {
    "$PY" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" \
        "$1" 2>/dev/null
}

if [ "$TIER" = pretrain ]; then
    # a full mmcv (from an earlier full set-up, or a GPU wheel) is a superset
    if ! distribution_installed mmcv; then
        $PIP install -q "mmcv-lite==$MMCV_VERSION"
    fi
    install_project
    exit 0
fi
# Two distributions must not both own the mmcv package: removing one later
# would delete the other's files.
if distribution_installed mmcv-lite; then
    log "replacing mmcv-lite with mmcv $MMCV_VERSION (with ops)"
    $PIP uninstall -q -y mmcv-lite
fi

mmcv_ops_work() {
    # The wheel cache keys a build by the sdist, not by the torch it was
    # compiled against: a wheel built for another torch installs, then fails
    # when mmcv._ext loads. So test the ops, not the install.
    "$PY" - <<'EOF' 2>"$CACHE/mmcv-check.log"
import mmcv, torch
from mmcv.ops import nms, roi_align
assert mmcv.__version__ == '2.1.0', mmcv.__version__
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
EOF
}

mkdir -p "$CACHE"
# Wheels are kept per torch build and CUDA flavour.
WANT_CUDA=$("$PY" -c "import os, torch; print(int(torch.cuda.is_available() or os.getenv('FORCE_CUDA') == '1'))")
TORCH_TAG=$("$PY" -c "import torch; print(torch.__version__.replace('+', '-'))")
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_TAG-cuda$WANT_CUDA-${TORCH_CUDA_ARCH_LIST:-default}"
WHEEL_DIR=${WHEEL_DIR// /_}

build_mmcv() {
    # Compiles in the background, printing progress every minute; on
    # failure the log stays in the cache and its end is shown.
    local src=$1 log_file="$CACHE/mmcv-build.log" total builder started
    total=$(find "$src/mmcv/ops/csrc/pytorch" -maxdepth 2 -name '*.cpp' \
        | wc -l)
    if [ "$WANT_CUDA" = 1 ]; then
        total=$((total + $(find "$src/mmcv/ops/csrc/pytorch/cuda" -name '*.cu' \
            | wc -l)))
    fi
    log "compiling mmcv's ops: $total source files, about 20 min on 2" \
        "cores; a progress line every minute, the full log in $log_file"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        $PIP wheel --no-build-isolation --no-deps -w "$BUILD/dist" "$src" \
        > "$log_file" 2>&1 &
    builder=$!
    started=$SECONDS
    while kill -0 "$builder" 2>/dev/null; do
        for _ in $(seq 12); do
            kill -0 "$builder" 2>/dev/null || break
            sleep 5
        done
        if kill -0 "$builder" 2>/dev/null; then
            log "compiling mmcv: $(find "$src/build" -name '*.o' 2>/dev/null \
                | wc -l) of $total files after" \
                "$(( (SECONDS - started) / 60 )) min"
        fi
    done
    if ! wait "$builder"; then
        log "the mmcv build failed; its log is kept in $log_file; last lines:"
        tail -n 30 "$log_file"
        exit 1
    fi
    log "mmcv built in $(( (SECONDS - started) / 60 )) min"
}

if mmcv_ops_work; then
    log "mmcv $MMCV_VERSION with ops already works"
else
    wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [ -n "$wheel" ]; then
        log "installing cached $wheel"
        $PIP install -q --force-reinstall --no-deps "$wheel"
    fi
    if ! mmcv_ops_work; then
        log "building mmcv $MMCV_VERSION with ops (once; the wheel is cached)"
        BUILD=$(mktemp -d)
        trap 'rm -rf "$BUILD"' EXIT
        # PyPI has only the sdist; its setup.py imports torch and
        # pkg_resources, so no build isolation.
        $PIP download -q --no-deps --no-binary :all: --no-build-isolation \
            "mmcv==$MMCV_VERSION" -d "$BUILD"
        tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
        SRC="$BUILD/mmcv-$MMCV_VERSION"
        # mmcv 2.1.0 forces -std=c++17; torch >= 2.10 headers stop with
        # "#error C++20 or later compatible compiler is required to use ATen".
        sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
        mkdir -p "$WHEEL_DIR"
        if [ "$WANT_CUDA" = 1 ]; then export FORCE_CUDA=1; fi
        build_mmcv "$SRC"
        mv "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/"
        $PIP install -q --force-reinstall --no-deps "$WHEEL_DIR"/mmcv-*.whl
        mmcv_ops_work || {
            log "mmcv ops still fail to load after the build:"
            tail -n 20 "$CACHE/mmcv-check.log"
            exit 1
        }
    fi
fi

install_project
