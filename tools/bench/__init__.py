"""The three modes of tools/benchmark.py, one module each: step (a
training step and a refresh batch side by side, FLOPs, memory), epoch (a
real epoch and a refresh) and data (the training pipelines alone); common
holds what they share."""
