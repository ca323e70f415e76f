"""Reading run directories: test metrics of one run, mean ± std across several (seeds, folds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmaf.evaluation.metrics import aggregate_seeds, format_mean_std


def load_metrics(run_dir: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a finished run; one clear line when the run has none."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (the run did not finish; resume it first)")
    return json.loads(path.read_text())


def aggregate_runs(run_dirs: list[str | Path]) -> dict[str, Any]:
    """Mean ± sample std of every test scalar across runs (std 0 for a single run)."""
    metrics = [load_metrics(d) for d in run_dirs]
    classes = {tuple(m["test"]["class_names"]) for m in metrics}
    if len(classes) != 1:
        raise ValueError("runs disagree on the class list; aggregate runs of one dataset only")
    stats = aggregate_seeds([m["scalars"] for m in metrics])
    return {
        "runs": [str(d) for d in run_dirs],
        "n_runs": len(metrics),
        "class_names": list(next(iter(classes))),
        "mean_std": {k: list(v) for k, v in stats.items()},
        "selected_epochs": [m["selected_epoch"] for m in metrics],
    }


def format_aggregate(summary: dict[str, Any]) -> str:
    """Accuracy, macro-F1, UA and per-class F1 as ``mean ± std`` lines (percent)."""
    stats = summary["mean_std"]
    lines = [f"{summary['n_runs']} run(s)"]
    for key in ("accuracy", "wa", "ua", "macro_precision", "macro_recall", "macro_f1"):
        lines.append(f"  {key:<16}{format_mean_std(*stats[key])}")
    for name in summary["class_names"]:
        lines.append(f"  f1/{name:<13}{format_mean_std(*stats['f1/' + name])}")
    return "\n".join(lines)
