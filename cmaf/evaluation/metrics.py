"""Classification metrics of the paper's evaluation (Section 2, Eqs. 6–9; Section 3.2, Tables 1–4).

Per-class metrics come from :mod:`sklearn.metrics` with ``labels=range(C)`` and
``zero_division=0``, so macro averages always run over all ``C`` classes (absent ones count as 0)
and stay comparable across splits and seeds; UA leaves classes absent from ``y_true`` out. The
bootstrap computes the same equations vectorised over batches of confusion matrices. Labels are
lists, numpy arrays or torch tensors of class indices in ``[0, C)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

#: Metric names understood by :func:`bootstrap_ci` ("wa" is an alias of "accuracy").
BOOTSTRAP_METRICS = ("accuracy", "wa", "macro_f1", "ua")

# Rows of resampled labels held in memory at once by bootstrap_ci (rows × clips ≤ this).
_BOOTSTRAP_CHUNK_ELEMENTS = 4_000_000


def _numpy(values: Any, dtype: Any = None) -> np.ndarray:
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor, without importing
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def _labels(values: Any, name: str) -> np.ndarray:
    """``values`` (list, array or tensor) as a non-empty 1-D int64 array of class indices."""
    arr = _numpy(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of class indices, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one sample")
    floating = np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or floating):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if floating and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise ValueError(f"{name} must hold integer class indices, got non-integral floats")
    return arr.astype(np.int64, copy=False)


def _check_pair(y_true: Any, y_pred: Any, num_classes: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a (y_true, y_pred) pair; ``num_classes`` None means max label + 1."""
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    c = int(max(t.max(), p.max())) + 1 if num_classes is None else num_classes
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
        raise ValueError(f"num_classes must be a positive int, got {c!r}")
    for name, arr in (("y_true", t), ("y_pred", p)):
        bad = arr[(arr < 0) | (arr >= c)]
        if bad.size:
            raise ValueError(f"{name} has label {int(bad[0])} outside [0, {c - 1}] for {c} classes")
    return t, p, int(c)


def normalize_rows(cm: Any) -> np.ndarray:
    """Row-normalise a ``(C, C)`` confusion matrix; empty rows stay zero, the diagonal is Eq. 7."""
    m = _numpy(cm, np.float64)
    if m.ndim != 2:
        raise ValueError(f"cm must be a 2-D matrix, got shape {m.shape}")
    if np.any(m < 0) or not np.all(np.isfinite(m)):
        raise ValueError("cm must hold finite non-negative counts")
    sums = m.sum(axis=1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


@dataclass(frozen=True)
class ClassMetrics:
    """One row of Tables 1–3: precision (Eq. 6), recall (Eq. 7), F1 (Eq. 8), support."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, float | int]:
        return {k: v for k, v in asdict(self).items() if k != "name"}


@dataclass(frozen=True)
class Averages:
    """Macro (unweighted over all ``C`` classes) precision, recall and F1."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Report:
    """Evaluation of one prediction set in the layout of the paper's Tables 1–4.

    ``accuracy`` (Eq. 9) and ``wa`` are the same number; ``ua`` is the mean recall over the
    classes present in ``y_true``. These are the speech-emotion literature's names; the paper's
    Section 3.2 text swaps them, but its Table 4 "Weighted Accuracy" equals the accuracies of
    Tables 5–7, i.e. ``wa`` here. ``macro`` averages over all ``C`` classes; ``confusion`` is
    ``(C, C)`` int64 counts, rows = true, columns = predicted (Figures 5–7's layout).
    """

    per_class: tuple[ClassMetrics, ...]
    macro: Averages
    weighted_f1: float
    accuracy: float
    wa: float
    ua: float
    num_samples: int
    confusion: np.ndarray = field(repr=False)

    @property
    def class_names(self) -> list[str]:
        return [row.name for row in self.per_class]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (plain Python floats, ints, lists)."""
        scalars = ("weighted_f1", "accuracy", "wa", "ua", "num_samples")
        return {
            "class_names": self.class_names,
            "per_class": {row.name: row.to_dict() for row in self.per_class},
            "macro": self.macro.to_dict(),
            **{key: getattr(self, key) for key in scalars},
            "confusion_matrix": self.confusion.tolist(),
        }

    def scalars(self) -> dict[str, float]:
        """Every scalar as ``name -> float`` (``macro_f1``, ``f1/<class>``, ...), for
        :func:`aggregate_seeds`."""
        out = {"accuracy": self.accuracy, "wa": self.wa, "ua": self.ua}
        out.update({f"macro_{k}": v for k, v in self.macro.to_dict().items()})
        out["weighted_f1"] = self.weighted_f1
        for row in self.per_class:
            out.update({f"{k}/{row.name}": getattr(row, k) for k in ("precision", "recall", "f1")})
        return out

    def to_frame(self, percent: bool = False):
        """Tables 1–3 (transposed): one row per class plus ``"macro avg"`` (support = all clips).

        ``percent=True`` scales the rates by 100, as the paper prints them.
        """
        import pandas as pd

        macro = ClassMetrics("macro avg", **self.macro.to_dict(), support=self.num_samples)
        rows = [*self.per_class, macro]
        frame = pd.DataFrame([r.to_dict() for r in rows], index=[r.name for r in rows])
        frame[["precision", "recall", "f1"]] *= 100.0 if percent else 1.0
        return frame.astype({"support": np.int64})


def classification_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> Report:
    """Precision (Eq. 6), recall (Eq. 7), F1 (Eq. 8) per class and accuracy (Eq. 9): Tables 1–4.

    A zero denominator gives 0. ``class_names`` names each class index; its length fixes ``C``.
    """
    if isinstance(class_names, str):
        raise ValueError("class_names must be a sequence of names, not a single string")
    names = [str(n) for n in class_names]
    if not names:
        raise ValueError("class_names is empty; need at least one class")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names has duplicates: {names}")
    t, p, c = _check_pair(y_true, y_pred, len(names))
    labels = list(range(c))
    with warnings.catch_warnings():  # about 1 × 1 matrices, and classes left out of UA
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true", UserWarning)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            t, p, labels=labels, zero_division=0
        )
        accuracy, ua = skm.accuracy_score(t, p), skm.balanced_accuracy_score(t, p)
        confusion = skm.confusion_matrix(t, p, labels=labels).astype(np.int64)
    return Report(
        per_class=tuple(
            ClassMetrics(name, float(p_), float(r), float(f), int(s))
            for name, p_, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        ),
        macro=Averages(float(precision.mean()), float(recall.mean()), float(f1.mean())),
        weighted_f1=float(np.average(f1, weights=support)),
        accuracy=float(accuracy),
        wa=float(accuracy),
        ua=float(ua),
        num_samples=t.size,
        confusion=confusion,
    )


def _row_counts(codes: np.ndarray, size: int) -> np.ndarray:
    """Bincount of each row of a ``(B, n)`` array of codes in ``[0, size)``: ``(B, size)``."""
    b = codes.shape[0]
    flat = (codes + np.arange(b, dtype=np.int64)[:, None] * size).ravel()
    return np.bincount(flat, minlength=b * size).reshape(b, size)


def _from_confusion(cm: np.ndarray, metric: str) -> np.ndarray:
    """A named metric of each of the ``(B, C, C)`` confusion matrices ``cm``: ``(B,)``."""
    tp = np.diagonal(cm, axis1=1, axis2=2).astype(np.float64)
    support = cm.sum(axis=2)  # TP + FN
    if metric in ("accuracy", "wa"):  # Eq. 9
        return tp.sum(axis=1) / support.sum(axis=1)
    if metric == "macro_f1":  # Eq. 8 as 2 TP / (2 TP + FP + FN), 0 when TP = 0
        den = support + cm.sum(axis=1)
        return np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0).mean(axis=1)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)  # Eq. 7
    return recall.sum(axis=1) / (support > 0).sum(axis=1)  # UA: classes present only


def bootstrap_ci(
    y_true: Any,
    y_pred: Any,
    metric: str | Callable[[np.ndarray, np.ndarray], float],
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    *,
    num_classes: int | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap ``(low, high)`` interval of a metric, resampling clips.

    Parameters
    ----------
    metric
        One of :data:`BOOTSTRAP_METRICS`, as in :class:`Report`, or a callable
        ``metric(y_true, y_pred) -> float`` on int64 arrays, called once per resample.
    alpha
        ``1 - alpha`` is the coverage (0.05 → 95 %).
    num_classes
        ``C``, over which macro F1 averages; max label + 1 when None.
    """
    t, p, c = _check_pair(y_true, y_pred, num_classes)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not (0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    if not callable(metric) and metric not in BOOTSTRAP_METRICS:
        expected = f"expected a callable or one of {BOOTSTRAP_METRICS}"
        raise ValueError(f"unknown metric {metric!r}; {expected}")

    rng = np.random.default_rng(seed)
    n, n_boot = t.size, int(n_boot)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    stats = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        tb, pb = t[idx], p[idx]
        if isinstance(metric, str):
            cm = _row_counts(tb * c + pb, c * c).reshape(-1, c, c)
            stats[start:stop] = _from_confusion(cm, metric)
        else:
            stats[start:stop] = [float(metric(tb[i], pb[i])) for i in range(stop - start)]
    low, high = np.percentile(stats, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return float(low), float(high)


def cluster_bootstrap(
    samples: Sequence[tuple[Any, Any]],
    n_boot: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """Accuracies (Eq. 9) under a paired cluster bootstrap: resample whole clusters (speakers).

    Clips of one speaker are not independent, so a clip bootstrap understates the spread over
    speakers. One draw of clusters serves all ``samples`` (``(correct, clusters)`` pairs, per
    clip), so the difference of two columns is the bootstrap of the difference. Returns
    ``(n_boot, len(samples))`` accuracies, NaN where a resample drew no clip of a sample.
    """
    names = sorted({str(c) for _, clusters in samples for c in clusters})
    index = {name: i for i, name in enumerate(names)}
    k = len(names)
    hits = np.zeros((len(samples), k))
    counts = np.zeros((len(samples), k))
    for row, (correct, clusters) in enumerate(samples):
        ids = np.array([index[str(c)] for c in clusters], dtype=np.int64)
        hits[row] = np.bincount(ids, weights=np.asarray(correct, dtype=np.float64), minlength=k)
        counts[row] = np.bincount(ids, minlength=k)
    draws = np.random.default_rng(seed).integers(0, k, size=(n_boot, k))
    weights = _row_counts(draws, k).astype(np.float64)  # times each cluster was drawn
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ hits.T) / (weights @ counts.T)


def aggregate_seeds(
    reports: Sequence[Mapping[str, float] | Report],
) -> dict[str, tuple[float, float]]:
    """``name -> (mean, std)`` of each metric across seeds, in the first report's key order.

    Reports are ``name -> value`` mappings with equal keys, or :class:`Report` s. ``std`` is the
    sample standard deviation (``ddof=1``); 0.0 for a single seed.
    """
    dicts = [r.scalars() if isinstance(r, Report) else dict(r) for r in reports]
    if not dicts:
        raise ValueError("aggregate_seeds needs at least one report")
    keys = list(dicts[0])
    for i, d in enumerate(dicts[1:], start=1):
        if set(d) != set(keys):
            diff = sorted(set(keys) ^ set(d))
            raise ValueError(f"report {i} has different metric keys from report 0: {diff}")
    out = {}
    for key in keys:
        v = np.asarray([float(d[key]) for d in dicts], dtype=np.float64)
        out[key] = (float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0)
    return out


def format_mean_std(mean: float, std: float, digits: int = 2, percent: bool = True) -> str:
    """``mean ± std`` with ``digits`` decimals; ``percent`` scales fractions by 100 (as the paper).

    E.g. ``format_mean_std(0.9246, 0.0031) == "92.46 ± 0.31"``.
    """
    scale = 100.0 if percent else 1.0
    m, s = float(mean) * scale, float(std) * scale
    if math.isnan(m) or math.isnan(s):
        return f"{m} ± {s}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"
