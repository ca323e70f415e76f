"""Plot helpers of the book: every function returns a :class:`matplotlib.figure.Figure`.

Figures are built without :mod:`matplotlib.pyplot` (no global state, works under the Agg
backend and in notebooks alike). Diagrams and data views live in :mod:`cmaf.plots.analysis`,
result figures in :mod:`cmaf.plots.results`.
"""

from cmaf.plots.analysis import (
    plot_architecture,
    plot_conceptual_framework,
    plot_counts,
    plot_frame_strip,
    plot_fusion_taxonomy,
    plot_log_mel,
    plot_study_flow,
)
from cmaf.plots.results import (
    plot_alignment_profile,
    plot_attention,
    plot_attention_shares,
    plot_confusion,
    plot_confusion_grid,
    plot_correlation_heatmap,
    plot_model_comparison,
    plot_per_class_comparison,
    plot_protocol_comparison,
    plot_robustness,
    plot_stage_times,
    plot_training_curves,
    plot_tucker_scaling,
    pooled_confusion,
    top_confusions,
)

__all__ = [
    "plot_alignment_profile",
    "plot_architecture",
    "plot_attention",
    "plot_attention_shares",
    "plot_conceptual_framework",
    "plot_confusion",
    "plot_confusion_grid",
    "plot_correlation_heatmap",
    "plot_counts",
    "plot_frame_strip",
    "plot_fusion_taxonomy",
    "plot_log_mel",
    "plot_model_comparison",
    "plot_per_class_comparison",
    "plot_protocol_comparison",
    "plot_robustness",
    "plot_stage_times",
    "plot_study_flow",
    "plot_training_curves",
    "plot_tucker_scaling",
    "pooled_confusion",
    "top_confusions",
]
