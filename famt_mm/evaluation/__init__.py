"""Frozen-encoder probes (k-NN, logistic regression)."""
