"""Evaluation: frozen-encoder probes (probes), paired statistics
(statistics), what the experiment tools share (experiment) and the
study's figure and factor table (study_report)."""
