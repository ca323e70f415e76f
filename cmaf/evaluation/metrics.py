"""Classification metrics of the paper's evaluation (Section 2, Eqs. 6–9; Section 3.2, Tables 1–4).

Pure numpy: every metric is read off a ``C × C`` confusion matrix (rows = true class,
columns = predicted class), so the per-class table, the macro averages, WA/UA and the
bootstrap confidence intervals all agree with each other by construction. The test-suite
checks them against :mod:`sklearn.metrics`; scikit-learn is not imported here.

Conventions
-----------
* Precision (Eq. 6) ``TP / (TP + FP)``, recall (Eq. 7) ``TP / (TP + FN)`` and F1 (Eq. 8)
  ``2 P R / (P + R) = 2 TP / (2 TP + FP + FN)`` are computed per class. A zero denominator
  gives 0, exactly as scikit-learn's ``zero_division=0``: a class never predicted has
  precision 0; a class absent from ``y_true`` has recall 0 and support 0; F1 is 0 whenever
  ``TP = 0``.
* Macro averages are unweighted means over **all** ``C`` classes named in ``class_names``,
  including classes absent from ``y_true`` (they enter with recall 0 and F1 0). This matches
  ``precision_recall_fscore_support(..., labels=range(C), average="macro", zero_division=0)``
  and keeps the average over a fixed set of classes across splits and seeds.
* Accuracy (Eq. 9) is ``correct / total``; see :func:`weighted_accuracy` and
  :func:`unweighted_accuracy` for Table 4's WA and UA.

All label inputs accept lists, numpy arrays or torch tensors of integer class indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BOOTSTRAP_METRICS",
    "Averages",
    "ClassMetrics",
    "Report",
    "aggregate_seeds",
    "bootstrap_ci",
    "classification_report",
    "confusion_matrix",
    "format_mean_std",
    "normalize_rows",
    "precision_recall_f1_support",
    "unweighted_accuracy",
    "weighted_accuracy",
]

#: Metric names understood by :func:`bootstrap_ci` ("wa" is an alias of "accuracy").
BOOTSTRAP_METRICS = ("accuracy", "wa", "macro_f1", "ua")

# Rows of resampled labels held in memory at once by bootstrap_ci (rows × clips ≤ this).
_BOOTSTRAP_CHUNK_ELEMENTS = 4_000_000


# --------------------------------------------------------------------------- validation


def _as_labels(values: Any, name: str) -> np.ndarray:
    """Return ``values`` (list, numpy array or torch tensor) as a 1-D int64 array."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor, without importing
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of class indices, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one sample")
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class indices, got non-integral floats")
    return arr.astype(np.int64, copy=False)


def _check_num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes}")
    return int(num_classes)


def _check_pair(
    y_true: Any, y_pred: Any, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate a (y_true, y_pred) pair; infer ``num_classes`` as max label + 1 when None."""
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    if num_classes is None:
        num_classes = int(max(t.max(), p.max())) + 1
    c = _check_num_classes(num_classes)
    for name, arr in (("y_true", t), ("y_pred", p)):
        bad = arr[(arr < 0) | (arr >= c)]
        if bad.size:
            raise ValueError(f"{name} has label {int(bad[0])} outside [0, {c - 1}] for {c} classes")
    return t, p, c


# --------------------------------------------------------------------------- confusion matrix


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count matrix ``cm[i, j]`` = number of clips of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    y_true, y_pred
        Integer class indices in ``[0, num_classes)``, same length.
    num_classes
        ``C``; the matrix is ``C × C`` even when some classes do not occur.

    Returns
    -------
    numpy.ndarray
        ``(C, C)`` int64 counts, rows = true class, columns = predicted class (the layout of
        the paper's Figures 5–7 and of :func:`sklearn.metrics.confusion_matrix`).
    """
    t, p, c = _check_pair(y_true, y_pred, _check_num_classes(num_classes))
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def normalize_rows(cm: Any) -> np.ndarray:
    """Row-normalise a confusion matrix so each true-class row sums to 1.

    Rows with no samples (a class absent from ``y_true``) stay all-zero instead of becoming
    NaN. The diagonal of the result is the per-class recall (Eq. 7).

    Parameters
    ----------
    cm
        ``(C, C)`` non-negative counts (array, list or tensor).

    Returns
    -------
    numpy.ndarray
        ``(C, C)`` float64.
    """
    if hasattr(cm, "detach") and hasattr(cm, "cpu"):
        cm = cm.detach().cpu().numpy()
    m = np.asarray(cm, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"cm must be a 2-D matrix, got shape {m.shape}")
    if np.any(m < 0) or not np.all(np.isfinite(m)):
        raise ValueError("cm must hold finite non-negative counts")
    sums = m.sum(axis=1, keepdims=True)
    return np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)


# --------------------------------------------------------------------------- per-class metrics


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _prf_from_cm(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1, support from (…, C, C) confusion matrices."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    predicted = cm.sum(axis=-2)  # TP + FP
    support = cm.sum(axis=-1)  # TP + FN
    precision = _safe_div(tp, predicted)  # Eq. 6
    recall = _safe_div(tp, support)  # Eq. 7
    f1 = _safe_div(2 * tp, predicted + support)  # Eq. 8, = 2PR/(P+R), 0 when TP = 0
    return precision, recall, f1, support


def _ua_from_cm(cm: np.ndarray) -> np.ndarray:
    """Mean recall over classes present in y_true, for (…, C, C) matrices."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    present = support > 0
    recall = _safe_div(tp, support)
    return (recall * present).sum(axis=-1) / present.sum(axis=-1)


def precision_recall_f1_support(
    y_true: Any, y_pred: Any, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision (Eq. 6), recall (Eq. 7), F1 (Eq. 8) and support.

    Zero denominators give 0 (scikit-learn's ``zero_division=0``).

    Returns
    -------
    tuple of numpy.ndarray
        ``precision, recall, f1`` (float64, shape ``(C,)``) and ``support`` (int64, ``(C,)``).
    """
    return _prf_from_cm(confusion_matrix(y_true, y_pred, num_classes))


def weighted_accuracy(y_true: Any, y_pred: Any, num_classes: int | None = None) -> float:
    """Weighted accuracy (WA) = overall accuracy, correct / total (Eq. 9); Table 4.

    Naming. The speech-emotion-recognition literature calls overall accuracy *weighted*
    accuracy (each class weighted by its support) and the mean of per-class recalls
    *unweighted* accuracy (UA). The paper's text (Section 3.2, on Table 4) defines them the
    other way round: its "weighted accuracy" is "averaging the accuracy of each class" (the
    literature's UA) and its "unweighted accuracy" is "the total number of correct predictions
    divided by the total number of samples" (the literature's WA). We report both under their
    standard names; :class:`Report` carries both, so either reading of Table 4 can be
    compared. (Table 4's "Weighted Accuracy" column, 92.46 / 87.31 / 83.22, equals the
    accuracies of Tables 5–7, i.e. the standard WA.)

    Parameters
    ----------
    y_true, y_pred
        Integer class indices, same length.
    num_classes
        Only used to validate the label range; inferred as max label + 1 when None.
    """
    t, p, _ = _check_pair(y_true, y_pred, num_classes)
    return float(np.mean(t == p))


def unweighted_accuracy(y_true: Any, y_pred: Any, num_classes: int | None = None) -> float:
    """Unweighted accuracy (UA) = mean per-class recall over classes present in ``y_true``.

    Equal to :func:`sklearn.metrics.balanced_accuracy_score`. Classes with no true samples
    are left out of the mean (their recall is undefined), unlike the macro averages of
    :func:`classification_report`, which include every named class.

    Naming. The paper's text calls this quantity its "weighted accuracy" ("averaging the
    accuracy of each class", Section 3.2 on Table 4), which the speech-emotion literature
    calls UA, and calls overall accuracy "unweighted accuracy"; we report both under their
    standard names (see :func:`weighted_accuracy`).

    Parameters
    ----------
    y_true, y_pred
        Integer class indices, same length.
    num_classes
        ``C``; inferred as max label + 1 when None. It does not change the value, since
        classes absent from ``y_true`` are skipped.
    """
    t, p, c = _check_pair(y_true, y_pred, num_classes)
    cm = np.bincount(t * c + p, minlength=c * c).reshape(c, c)
    return float(_ua_from_cm(cm))


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ClassMetrics:
    """One row of Tables 1–3: precision (Eq. 6), recall (Eq. 7), F1 (Eq. 8), support."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class Averages:
    """Macro (unweighted over all ``C`` classes) precision, recall and F1."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True, eq=False)
class Report:
    """Evaluation of one prediction set in the layout of the paper's Tables 1–4.

    Attributes
    ----------
    per_class
        One :class:`ClassMetrics` row per class, in class-index order.
    macro
        Macro precision / recall / F1: plain means over all ``C`` classes, classes absent
        from ``y_true`` included (scikit-learn with ``labels=range(C)``).
    weighted_f1
        Support-weighted mean of per-class F1 (scikit-learn's ``average="weighted"``).
    accuracy
        Correct / total (Eq. 9).
    wa, ua
        Table 4: WA = overall accuracy (equal to ``accuracy``), UA = mean recall over classes
        present in ``y_true``. The paper's text swaps the two names; see
        :func:`weighted_accuracy`.
    num_samples
        Number of clips evaluated.
    confusion
        ``(C, C)`` counts, rows = true, columns = predicted.
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
        return {
            "class_names": self.class_names,
            "per_class": {row.name: row.to_dict() for row in self.per_class},
            "macro": self.macro.to_dict(),
            "weighted_f1": self.weighted_f1,
            "accuracy": self.accuracy,
            "wa": self.wa,
            "ua": self.ua,
            "num_samples": self.num_samples,
            "confusion_matrix": self.confusion.tolist(),
        }

    def scalars(self) -> dict[str, float]:
        """Flat ``name -> float`` dict of every scalar, the input of :func:`aggregate_seeds`.

        Keys: ``accuracy, wa, ua, macro_precision, macro_recall, macro_f1, weighted_f1`` and
        ``precision/<class>, recall/<class>, f1/<class>`` for each class.
        """
        out = {
            "accuracy": self.accuracy,
            "wa": self.wa,
            "ua": self.ua,
            "macro_precision": self.macro.precision,
            "macro_recall": self.macro.recall,
            "macro_f1": self.macro.f1,
            "weighted_f1": self.weighted_f1,
        }
        for row in self.per_class:
            out[f"precision/{row.name}"] = row.precision
            out[f"recall/{row.name}"] = row.recall
            out[f"f1/{row.name}"] = row.f1
        return out

    def to_frame(self, percent: bool = False):
        """Tables 1–3 as a :class:`pandas.DataFrame`.

        Rows are the classes followed by ``"macro avg"``; columns ``precision, recall, f1,
        support``. The macro row's support is the total number of clips. The paper prints the
        transpose (classes as columns) in percent; pass ``percent=True`` to scale the three
        rates by 100.
        """
        import pandas as pd

        scale = 100.0 if percent else 1.0
        rows = [
            [r.precision * scale, r.recall * scale, r.f1 * scale, r.support] for r in self.per_class
        ]
        rows.append(
            [
                self.macro.precision * scale,
                self.macro.recall * scale,
                self.macro.f1 * scale,
                self.num_samples,
            ]
        )
        frame = pd.DataFrame(
            rows,
            index=[*self.class_names, "macro avg"],
            columns=["precision", "recall", "f1", "support"],
        )
        frame["support"] = frame["support"].astype(np.int64)
        return frame


def classification_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> Report:
    """Per-class and averaged metrics of the paper's Tables 1–4.

    Parameters
    ----------
    y_true, y_pred
        Integer class indices in ``[0, len(class_names))``, same length, non-empty.
    class_names
        Name of each class index; its length fixes ``C``.

    Returns
    -------
    Report
        Per-class precision (Eq. 6), recall (Eq. 7), F1 (Eq. 8) and support; macro averages
        over all ``C`` classes; support-weighted F1; accuracy (Eq. 9); WA and UA (Table 4).

    Notes
    -----
    Zero division gives 0 (scikit-learn's ``zero_division=0``). A class absent from
    ``y_true`` has recall 0, F1 0 and support 0 and still counts in the macro averages
    (scikit-learn with ``labels=range(C)``); it is left out of UA and carries no weight in
    the weighted F1.
    """
    if isinstance(class_names, str):
        raise ValueError("class_names must be a sequence of names, not a single string")
    names = [str(n) for n in class_names]
    if not names:
        raise ValueError("class_names is empty; need at least one class")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names has duplicates: {names}")
    cm = confusion_matrix(y_true, y_pred, len(names))
    precision, recall, f1, support = _prf_from_cm(cm)
    n = int(support.sum())
    accuracy = float(np.trace(cm) / n)
    per_class = tuple(
        ClassMetrics(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    )
    return Report(
        per_class=per_class,
        macro=Averages(float(precision.mean()), float(recall.mean()), float(f1.mean())),
        weighted_f1=float(np.sum(f1 * support) / n),
        accuracy=accuracy,
        wa=accuracy,
        ua=float(_ua_from_cm(cm)),
        num_samples=n,
        confusion=cm,
    )


# --------------------------------------------------------------------------- bootstrap


def _batched_cm(t: np.ndarray, p: np.ndarray, c: int) -> np.ndarray:
    """(B, n) label matrices -> (B, C, C) confusion matrices with one bincount."""
    b = t.shape[0]
    codes = t * c + p + (np.arange(b, dtype=np.int64) * (c * c))[:, None]
    return np.bincount(codes.ravel(), minlength=b * c * c).reshape(b, c, c)


def _named_metric(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name in ("accuracy", "wa"):
        return lambda cm: np.trace(cm, axis1=-2, axis2=-1) / cm.sum(axis=(-2, -1))
    if name == "macro_f1":
        return lambda cm: _prf_from_cm(cm)[2].mean(axis=-1)
    if name == "ua":
        return _ua_from_cm
    raise ValueError(f"unknown metric {name!r}; expected a callable or one of {BOOTSTRAP_METRICS}")


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
    """Percentile-bootstrap confidence interval of a metric, resampling clips with replacement.

    Each of ``n_boot`` resamples draws ``n`` clip indices with replacement; the interval is
    the ``alpha/2`` and ``1 - alpha/2`` percentiles of the metric over resamples.

    Parameters
    ----------
    y_true, y_pred
        Integer class indices, same length.
    metric
        ``"accuracy"`` (Eq. 9; alias ``"wa"``), ``"macro_f1"`` (mean of Eq. 8 over all ``C``
        classes, as in :class:`Report`) or ``"ua"`` (mean recall over classes present in the
        resample), computed vectorised from batched confusion matrices; or a callable
        ``metric(y_true, y_pred) -> float`` on int64 arrays, called once per resample.
    n_boot
        Number of resamples.
    alpha
        ``1 - alpha`` is the coverage (0.05 → 95 % interval).
    seed
        Seed of :func:`numpy.random.default_rng`; equal seeds give equal intervals.
    num_classes
        ``C`` for the named metrics (macro F1 averages over all ``C``); inferred as max
        label + 1 when None.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    t, p, c = _check_pair(y_true, y_pred, num_classes)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not (0.0 < float(alpha) < 1.0):
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    if isinstance(metric, str):
        fn = _named_metric(metric)
    elif callable(metric):
        fn = None
    else:
        raise ValueError(f"metric must be a callable or one of {BOOTSTRAP_METRICS}")

    rng = np.random.default_rng(seed)
    n = t.size
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    stats = np.empty(int(n_boot), dtype=np.float64)
    for start in range(0, int(n_boot), chunk):
        stop = min(int(n_boot), start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        tb, pb = t[idx], p[idx]
        if fn is not None:
            stats[start:stop] = fn(_batched_cm(tb, pb, c))
        else:
            stats[start:stop] = [float(metric(tb[i], pb[i])) for i in range(stop - start)]
    low, high = np.percentile(stats, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return float(low), float(high)


# --------------------------------------------------------------------------- seeds


def aggregate_seeds(
    reports: Sequence[Mapping[str, float] | Report],
) -> dict[str, tuple[float, float]]:
    """Mean ± standard deviation of each metric across seeds (runs).

    Parameters
    ----------
    reports
        One ``name -> value`` mapping per seed, all with the same keys (a :class:`Report` is
        taken through :meth:`Report.scalars`).

    Returns
    -------
    dict
        ``name -> (mean, std)`` in the first report's key order. ``std`` is the sample
        standard deviation (``ddof=1``, the usual "± across seeds"); with a single seed it is
        defined as 0.0 rather than NaN.
    """
    dicts = [r.scalars() if isinstance(r, Report) else dict(r) for r in reports]
    if not dicts:
        raise ValueError("aggregate_seeds needs at least one report")
    keys = list(dicts[0])
    for i, d in enumerate(dicts[1:], start=1):
        if set(d) != set(keys):
            missing = sorted(set(keys) ^ set(d))
            raise ValueError(f"report {i} has different metric keys from report 0: {missing}")
    out: dict[str, tuple[float, float]] = {}
    for key in keys:
        values = np.asarray([float(d[key]) for d in dicts], dtype=np.float64)
        std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        out[key] = (float(values.mean()), std)
    return out


def format_mean_std(mean: float, std: float, digits: int = 2, percent: bool = True) -> str:
    """Format ``mean ± std``, e.g. ``format_mean_std(0.9246, 0.0031) == "92.46 ± 0.31"``.

    Parameters
    ----------
    mean, std
        Values as fractions when ``percent`` is True (scaled by 100), else printed as given.
    digits
        Decimal places of both numbers.
    percent
        Multiply both by 100 (the paper reports percentages).
    """
    scale = 100.0 if percent else 1.0
    m, s = float(mean) * scale, float(std) * scale
    if math.isnan(m) or math.isnan(s):
        return f"{m} ± {s}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def cluster_bootstrap(
    samples: Sequence[tuple[Any, Any]],
    n_boot: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """Accuracies under a paired cluster bootstrap: resample whole clusters (speakers).

    Clips of one speaker are not independent (the same voice, the same takes), so a clip
    bootstrap understates the spread of an accuracy over speakers. Each resample draws the
    clusters (the union over all ``samples``) with replacement, and every sample's accuracy is
    computed on the clips of the drawn clusters, counted as often as drawn. Drawing one set of
    clusters for all samples pairs them, so the difference of two columns is the bootstrap of
    the difference (e.g. random split minus held-out actors on the same 24 actors).

    Parameters
    ----------
    samples
        ``(correct, clusters)`` pairs: per clip, whether it was classified correctly and its
        cluster (e.g. speaker) name.
    n_boot, seed
        Resamples and the seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, len(samples))`` accuracies (NaN where a resample drew no clip of a sample).
    """
    names = sorted({str(c) for _, clusters in samples for c in clusters})
    index = {name: i for i, name in enumerate(names)}
    hits = np.zeros((len(samples), len(names)))
    counts = np.zeros((len(samples), len(names)))
    for row, (correct, clusters) in enumerate(samples):
        ids = np.array([index[str(c)] for c in clusters], dtype=np.int64)
        np.add.at(hits[row], ids, np.asarray(correct, dtype=np.float64))
        np.add.at(counts[row], ids, 1.0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    weights = np.stack([np.bincount(d, minlength=len(names)) for d in draws]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ hits.T) / (weights @ counts.T)
