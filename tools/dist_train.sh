#!/usr/bin/env bash
# Multi-process training with MMEngine's pytorch launcher (torchrun).
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py args...]
# NNODES, NODE_RANK, MASTER_ADDR and PORT for several nodes.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR=$(dirname "$0")
python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
