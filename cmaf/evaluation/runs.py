"""Reading run directories: test metrics of one run, mean ± std across several (seeds, folds)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cmaf.evaluation.metrics import aggregate_seeds, format_mean_std

#: What marks a folder as a run directory: ``config.json`` beside one of these.
_RUN_MARKERS = ("checkpoints", "metrics.json", "split.json", "run.json")
#: Keys of ``metrics.json`` that readers rely on.
_METRICS_KEYS = ("scalars", "test", "selected_epoch")


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a run directory (``cmaf train``'s output)."""
    path = Path(path)
    try:
        return (path / "config.json").is_file() and any((path / m).exists() for m in _RUN_MARKERS)
    except OSError:  # a name too long to look at cannot be a run
        return False


def run_dir_containing(path: str | Path) -> Path | None:
    """The run directory that ``path`` is in (or is), or ``None``."""
    path = Path(path).expanduser().absolute()
    for folder in (path, *path.parents):
        if is_run_dir(folder):
            return folder
    return None


def load_metrics(run_dir: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a finished run; one clear line when it is missing or damaged."""
    path = Path(run_dir) / "metrics.json"
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (the run did not finish; resume it first)")
    fix = f"re-run `cmaf train --resume --out {run_dir}` with the run's config to rewrite it"
    try:
        metrics = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: damaged, not valid JSON ({exc}); {fix}") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: damaged, not a JSON object; {fix}")
    missing = [key for key in _METRICS_KEYS if key not in metrics]
    if missing or not isinstance(metrics["test"], dict) or "class_names" not in metrics["test"]:
        shown = ", ".join(missing) if missing else "test.class_names"
        raise ValueError(f"{path}: damaged, no {shown}; {fix}")
    return metrics


def aggregate_runs(run_dirs: list[str | Path]) -> dict[str, Any]:
    """Mean ± sample std of every test scalar across runs (std 0 for a single run)."""
    if not run_dirs:
        raise ValueError("no finished runs to aggregate")
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


def correct_by_clip(
    predictions: Mapping[str, Mapping[Any, str | Path]],
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per model, whether each test clip was classified correctly, over every seed.

    ``predictions[model][seed]`` is a ``predictions.csv`` (a run's, or any CSV with
    ``clip_id, label_index, predicted_index``). Returns ``model -> (correct, clusters)``, one
    entry per seed and test clip in ``(seed, clip)`` order, the input of
    :func:`cmaf.evaluation.claims.paired_difference` and :func:`~cmaf.evaluation.claims.rank`.
    The cluster is the clip id: the seeds' test sets overlap, and a clip tested under several
    seeds is resampled with all its outcomes, not as independent clips.
    """
    out = {}
    for model, by_seed in predictions.items():
        rows = []
        for seed, path in by_seed.items():
            with open(path, newline="") as fh:
                for row in csv.DictReader(fh):
                    correct = row["label_index"] == row["predicted_index"]
                    rows.append((str(seed), row["clip_id"], correct))
        rows.sort()
        out[model] = (np.array([c for *_, c in rows], dtype=bool), [clip for _, clip, _ in rows])
    return out
