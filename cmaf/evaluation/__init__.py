"""Evaluation of Cross-Modal Attention Fusion: the metrics of Eqs. 6–9 and Tables 1–4."""

from cmaf.evaluation.metrics import (
    BOOTSTRAP_METRICS,
    Averages,
    ClassMetrics,
    Report,
    aggregate_seeds,
    bootstrap_ci,
    classification_report,
    cluster_bootstrap,
    format_mean_std,
    normalize_rows,
)

__all__ = [
    "BOOTSTRAP_METRICS",
    "Averages",
    "ClassMetrics",
    "Report",
    "aggregate_seeds",
    "bootstrap_ci",
    "classification_report",
    "cluster_bootstrap",
    "format_mean_std",
    "normalize_rows",
]
