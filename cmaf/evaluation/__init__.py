"""Evaluation: metrics (Eqs. 6–9, Tables 1–4), run directories, attention alignment, correlations.

Import the submodule needed, e.g. ``from cmaf.evaluation.metrics import bootstrap_ci``.
"""
