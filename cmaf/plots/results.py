"""Figures of results: confusion matrices, training curves, comparisons, attention, correlations.

Every function takes plain data (arrays, DataFrames, the dicts cmaf writes) and returns a
:class:`matplotlib.figure.Figure`; a notebook displays it, a script saves it with ``fig.savefig``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cmaf.plots.analysis import _figure, _titled

__all__ = [
    "plot_alignment_profile",
    "plot_attention",
    "plot_attention_shares",
    "plot_confusion",
    "plot_confusion_grid",
    "plot_correlation_heatmap",
    "plot_model_comparison",
    "plot_per_class_comparison",
    "plot_protocol_comparison",
    "plot_robustness",
    "plot_stage_times",
    "plot_training_curves",
    "plot_tucker_scaling",
    "pooled_confusion",
    "top_confusions",
]


def _confusion_figure(panels: Sequence[tuple], title: str | None) -> Figure:
    """Confusion heatmaps side by side, one per ``(title, matrix, names, fmt, vmax, cbar)``."""
    import seaborn as sns

    size = 0.45 * max(len(panel[2]) for panel in panels) + 2.2
    fig = _figure(size * len(panels) + 0.6, size)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (sub, data, names, fmt, vmax, cbar) in zip(axes, panels, strict=True):
        sns.heatmap(
            data,
            ax=ax,
            annot=len(names) <= 12,
            fmt=fmt,
            cmap="Blues",
            vmin=0,
            vmax=vmax,
            square=True,
            xticklabels=names,
            yticklabels=names,
            cbar=cbar is not None,
            cbar_kws={"label": cbar, "shrink": 0.8},
            annot_kws={"fontsize": 7},
        )
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(sub, fontsize=10)
        ax.tick_params(axis="x", rotation=45)
        ax.tick_params(axis="y", rotation=0)
    return _titled(fig, title)


def plot_confusion(
    cm: Any,
    class_names: Sequence[str],
    mode: str = "both",
    title: str | None = None,
) -> Figure:
    """Confusion-matrix heatmap(s) of ``(C, C)`` counts, rows = true class (Figures 5–7).

    ``mode`` is ``"counts"``, ``"rows"`` (row-normalised: the diagonal is each class's recall)
    or ``"both"`` side by side.
    """
    from cmaf.evaluation.metrics import normalize_rows

    counts = np.asarray(cm, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"cm must be square, got shape {counts.shape}")
    if len(class_names) != counts.shape[0]:
        raise ValueError("class_names must name every row of cm")
    modes = {"both": ("counts", "rows"), "counts": ("counts",), "rows": ("rows",)}
    if mode not in modes:
        raise ValueError(f"mode {mode!r}: use counts, rows or both")
    rows = normalize_rows(counts)
    panels = {
        "counts": ("counts", counts, class_names, ".0f", None, "clips"),
        "rows": ("row-normalised (diagonal = recall)", rows, class_names, ".2f", 1.0,
                 "share of true class"),
    }  # fmt: skip
    return _confusion_figure([panels[p] for p in modes[mode]], title)


def plot_confusion_grid(
    matrices: Mapping[str, tuple[Any, Sequence[str]]],
    title: str | None = None,
) -> Figure:
    """Row-normalised confusion matrices side by side, from ``panel title -> (counts, names)``."""
    from cmaf.evaluation.metrics import normalize_rows

    if not matrices:
        raise ValueError("plot_confusion_grid needs at least one matrix")
    panels = [
        (name, normalize_rows(cm), names, ".2f", 1.0, None)
        for name, (cm, names) in matrices.items()
    ]
    return _confusion_figure(panels, title)


def pooled_confusion(run_dirs: Sequence[Any]) -> tuple[np.ndarray, list[str], int] | None:
    """``(counts, class_names, runs used)``: the summed test confusion matrices of ``run_dirs``.

    ``None`` when no run has finished; the runs (e.g. seeds) must share their class list.
    """
    tests = []
    for d in run_dirs:
        path = Path(d) / "metrics.json"
        if path.is_file():
            tests.append(json.loads(path.read_text())["test"])
    if not tests:
        return None
    names = tests[0]["class_names"]
    if any(t["class_names"] != names for t in tests):
        raise ValueError("runs disagree on the class list; pool runs of one dataset only")
    cm = np.sum([np.asarray(t["confusion_matrix"], dtype=np.int64) for t in tests], axis=0)
    return cm, list(names), len(tests)


def top_confusions(cm: Any, class_names: Sequence[str], k: int = 5):
    """The ``k`` largest off-diagonal cells of the row-normalised matrix, as a DataFrame.

    Columns ``true``, ``predicted``, ``clips`` (count) and ``share of true class``; cells with
    no clips are left out.
    """
    import pandas as pd

    from cmaf.evaluation.metrics import normalize_rows

    counts = np.asarray(cm)
    rates = normalize_rows(counts)
    np.fill_diagonal(rates, 0.0)
    order = np.argsort(rates, axis=None, kind="stable")[::-1][:k]
    rows = [
        (class_names[i], class_names[j], int(counts[i, j]), float(rates[i, j]))
        for i, j in zip(*np.unravel_index(order, rates.shape), strict=True)
        if counts[i, j] > 0
    ]
    return pd.DataFrame(rows, columns=["true", "predicted", "clips", "share of true class"])


def plot_training_curves(
    histories: Mapping[str, Any] | Any,
    title: str | None = None,
) -> Figure:
    """Loss, accuracy and validation macro-F1 per epoch, for one run or several.

    ``histories`` is one history (:func:`cmaf.training.loop.read_history` rows, or a DataFrame
    with ``epoch, train_loss, val_loss, train_accuracy, val_accuracy, val_macro_f1``) or a
    mapping ``run name -> history``.
    """
    import pandas as pd

    if not isinstance(histories, Mapping):
        histories = {"run": histories}
    fig = _figure(11, 3.4)
    ax_loss, ax_acc, ax_f1 = fig.subplots(1, 3)
    for i, (name, history) in enumerate(histories.items()):
        h = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
        c = f"C{i % 10}"
        ax_loss.plot(h["epoch"], h["train_loss"], "-o", color=c, ms=3, label=f"{name} train")
        ax_loss.plot(h["epoch"], h["val_loss"], "--s", color=c, ms=3, label=f"{name} val")
        ax_acc.plot(h["epoch"], h["train_accuracy"], "-o", color=c, ms=3, label=f"{name} train")
        ax_acc.plot(h["epoch"], h["val_accuracy"], "--s", color=c, ms=3, label=f"{name} val")
        ax_f1.plot(h["epoch"], h["val_macro_f1"], "--s", color=c, ms=3, label=f"{name} val")
    ax_loss.set_title("cross-entropy loss")
    ax_acc.set_title("accuracy")
    ax_f1.set_title("validation macro-F1")
    for ax in (ax_loss, ax_acc, ax_f1):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    ax_acc.set_ylim(0, 1)
    ax_f1.set_ylim(0, 1)
    ax_loss.legend(fontsize=7)
    return _titled(fig, title)


def plot_per_class_comparison(
    comparison,
    metric: str = "f1",
    ours_label: str = "this replication (mean ± std)",
    paper_label: str = "paper",
    title: str | None = None,
) -> Figure:
    """Grouped bars: our per-class metric (mean ± std) beside the paper's, with Δ annotated.

    ``comparison`` is :func:`cmaf.paper.compare_per_class` output (percent).
    """
    mean = comparison[f"{metric} mean"].to_numpy(float)
    std = np.nan_to_num(comparison[f"{metric} std"].to_numpy(float))
    paper = comparison[f"{metric} paper"].to_numpy(float)
    delta = comparison[f"{metric} Δ"].to_numpy(float)
    labels = [str(i) for i in comparison.index]
    x = np.arange(len(labels))
    fig = _figure(max(6.0, 0.8 * len(labels) + 2), 3.8)
    ax = fig.subplots()
    ax.bar(x - 0.2, np.nan_to_num(mean), 0.4, yerr=std, capsize=3, label=ours_label, color="C0")
    ax.bar(x + 0.2, paper, 0.4, label=paper_label, color="C7")
    for xi, m, p, d in zip(x, mean, paper, delta, strict=True):
        if np.isfinite(d):
            top = max(np.nan_to_num(m), np.nan_to_num(p), 0) + 2
            ax.annotate(f"Δ {d:+.1f}", (xi, top), ha="center", fontsize=7, color="C3")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel(f"{metric} (%)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _titled(fig, title, ax)


def plot_model_comparison(
    table,
    value: str = "accuracy",
    error: str | None = None,
    label: str = "method",
    group: str | None = None,
    title: str | None = None,
) -> Figure:
    """Horizontal bars of one value per method (e.g. Tables 5–7 beside our runs).

    ``table`` has the ``label`` and ``value`` (percent) columns, optionally an ``error`` (std)
    and a ``group`` column (colours, e.g. "paper" / "ours").
    """
    names = table[label].astype(str).tolist()
    values = table[value].to_numpy(float)
    errors = np.nan_to_num(table[error].to_numpy(float)) if error else None
    groups = table[group].astype(str).tolist() if group else ["" for _ in names]
    palette = {g: f"C{i}" for i, g in enumerate(dict.fromkeys(groups))}
    fig = _figure(8, 0.45 * len(names) + 1.4)
    ax = fig.subplots()
    y = np.arange(len(names))[::-1]
    ax.barh(y, values, xerr=errors, color=[palette[g] for g in groups], capsize=3)
    for yi, v in zip(y, values, strict=True):
        if np.isfinite(v):
            ax.text(v + 1, yi, f"{v:.1f}", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel(f"{value} (%)")
    if group:
        handles = [Patch(color=c, label=g) for g, c in palette.items()]
        ax.legend(handles=handles, fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return _titled(fig, title, ax)


def plot_protocol_comparison(
    table,
    value: str = "accuracy",
    chance: float | None = None,
    title: str | None = None,
) -> Figure:
    """Grouped bars: one group per model, one bar per evaluation protocol, mean ± std.

    ``table`` is :func:`cmaf.experiments.speech.results_table` (columns ``model``, ``protocol``,
    ``runs``, ``<value> mean``, ``<value> std``, percent); ``chance`` is drawn dashed.
    """
    models = list(dict.fromkeys(table["model"]))
    protocols = list(dict.fromkeys(table["protocol"]))
    width = 0.8 / max(len(protocols), 1)
    fig = _figure(max(5.5, 2.2 * len(models) + 1.5), 3.6)
    ax = fig.subplots()
    x = np.arange(len(models))
    for k, protocol in enumerate(protocols):
        part = table[table["protocol"] == protocol].set_index("model")
        means = np.array([part[f"{value} mean"].get(m, np.nan) for m in models], dtype=float)
        stds = np.nan_to_num([part[f"{value} std"].get(m, np.nan) for m in models])
        runs = [part["runs"].get(m, 0) for m in models]
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(
            pos, np.nan_to_num(means), width, yerr=stds, capsize=3, label=protocol, color=f"C{k}"
        )
        for p, m, n in zip(pos, means, runs, strict=True):
            if np.isfinite(m):
                ax.text(
                    p, m + 3, f"{m:.1f}\n({n} run{'s' if n != 1 else ''})", ha="center", fontsize=7
                )
    if chance is not None:
        ax.axhline(chance, ls="--", color="0.5", lw=1)
        ax.text(len(models) - 0.45, chance + 1, "chance", fontsize=7, color="0.4", ha="right")
    ax.set_xticks(x, models, fontsize=8)
    ax.set_ylabel(f"{value} (%)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _titled(fig, title, ax)


def plot_stage_times(table, title: str | None = None) -> Figure:
    """Bars of seconds per build stage (:func:`cmaf.evaluation.benchmarks.stage_table`)."""
    names = table["stage"].astype(str).tolist()
    seconds = table["seconds"].to_numpy(float)
    fig = _figure(7, 0.4 * len(names) + 1.2)
    ax = fig.subplots()
    y = np.arange(len(names))[::-1]
    ax.barh(y, seconds, color="C0")
    for yi, v in zip(y, seconds, strict=True):
        ax.text(v, yi, f" {v:.0f} s", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_xlim(0, max(seconds.max(), 1) * 1.2)
    ax.grid(axis="x", alpha=0.3)
    return _titled(fig, title, ax)


def plot_tucker_scaling(result, title: str | None = None) -> Figure:
    """Factorised Tucker fusion cost against T (left) and the product of the ranks (right).

    Measured forward milliseconds per batch and multiply-accumulates per sample, from
    ``tucker.json``; the literal path's MACs are drawn for comparison.
    """
    fig = _figure(10, 3.4)
    axes = fig.subplots(1, 2)
    for ax, key, x_of, label in (
        (axes[0], "scaling_time_steps", lambda r: r["time_steps"], "time steps T"),
        (axes[1], "scaling_ranks", lambda r: int(np.prod(r["ranks"])), "K_t · K_a · K_v"),
    ):
        rows = result.get(key, [])
        if not rows:
            continue
        x = np.array([x_of(r) for r in rows], dtype=float)
        ms = np.array([r["factorised_ms"] for r in rows], dtype=float)
        ax.plot(x, ms, "o-", color="C0", label="factorised, measured ms (batch 32)")
        ax.set_xlabel(label)
        ax.set_ylabel("ms per batch", color="C0")
        twin = ax.twinx()
        for path, style, color in (("factorised", "s--", "C1"), ("literal", "^:", "C7")):
            macs = [r[f"{path}_macs_per_sample"] / 1e6 for r in rows]
            twin.plot(x, macs, style, color=color, label=f"{path} M MAC / sample")
        twin.set_ylabel("M MAC per sample")
        if key == "scaling_ranks":
            ax.set_xscale("log")
        ax.legend(handles=[*ax.lines, *twin.lines], fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    return _titled(fig, title)


def plot_attention(
    maps: Mapping[str, Any],
    query_label: str = "audio step (query)",
    key_label: str = "visual step (key)",
    per_head: bool = True,
    title: str | None = None,
) -> Figure:
    """Attention heatmaps of one clip, one row per ``name -> (heads, Tq, Tk)`` or ``(Tq, Tk)`` map.

    Each row shows every head and the head average (only the average unless ``per_head``).
    """
    rows = {k: np.asarray(v, dtype=float) for k, v in maps.items()}
    rows = {k: (v[None] if v.ndim == 2 else v) for k, v in rows.items()}
    heads = max(v.shape[0] for v in rows.values())
    cols = heads + 1 if per_head else 1
    fig = _figure(2.3 * cols + 0.8, 2.3 * len(rows) + 0.5)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (name, att) in enumerate(rows.items()):
        panels = [(f"head {h + 1}", att[h]) for h in range(att.shape[0])] if per_head else []
        panels.append(("head average", att.mean(axis=0)))
        for ax in axes[r][len(panels) :]:
            ax.axis("off")
        for c, (ax, (sub, data)) in enumerate(zip(axes[r], panels, strict=False)):
            im = ax.imshow(data, origin="lower", aspect="auto", cmap="magma", vmin=0)
            ax.set_title(f"{name}: {sub}", fontsize=8)
            if c == 0:
                ax.set_ylabel(query_label, fontsize=8)
            if r == len(rows) - 1:
                ax.set_xlabel(key_label, fontsize=8)
            ax.tick_params(labelsize=7)
            fig.colorbar(im, ax=ax, shrink=0.7).ax.tick_params(labelsize=6)
    return _titled(fig, title)


def plot_alignment_profile(
    profiles: Mapping[str, tuple[np.ndarray, np.ndarray]],
    uniform: float | None = None,
    band: int | None = None,
    title: str | None = None,
) -> Figure:
    """Mean attention weight against diagonal offset, ``name -> (offsets, profile)``.

    The profiles come from :func:`cmaf.evaluation.alignment.diagonal_profile`; ``uniform``
    attention's weight is drawn dashed, the scoring band of half-width ``band`` shaded.
    """
    fig = _figure(6.5, 3.2)
    ax = fig.subplots()
    for i, (name, (offsets, profile)) in enumerate(profiles.items()):
        ax.plot(offsets, profile, "-", color=f"C{i}", label=name)
    if uniform is not None:
        ax.axhline(uniform, color="k", ls="--", lw=1, label="uniform attention")
    if band is not None:
        ax.axvspan(-band, band, color="C2", alpha=0.12, label=f"±{band} steps")
    ax.set_xlabel("offset: key step − query step")
    ax.set_ylabel("mean attention weight")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _titled(fig, title, ax)


def plot_correlation_heatmap(
    corr,
    title: str | None = None,
    annotate: bool = True,
) -> Figure:
    """Pearson correlation heatmap of a DataFrame of coefficients (Figure 11), −1 blue to +1 red."""
    import seaborn as sns

    fig = _figure(0.9 * corr.shape[1] + 3.2, 0.55 * corr.shape[0] + 1.6)
    ax = fig.subplots()
    sns.heatmap(
        corr.astype(float),
        ax=ax,
        vmin=-1,
        vmax=1,
        center=0,
        cmap="RdBu_r",
        annot=annotate,
        fmt=".2f",
        annot_kws={"fontsize": 8},
        cbar_kws={"label": "Pearson r"},
    )
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return _titled(fig, title, ax)


def plot_robustness(
    rows: Sequence[dict],
    metric: str = "accuracy",
    chance: float | None = None,
    title: str | None = None,
) -> Figure:
    """Test accuracy under each corruption (:func:`cmaf.experiments.robustness.load_curves` rows).

    One panel per corruption kind swept, one line per model (mean over runs, the spread as error
    bars); the clean score is each curve's first point. A last panel shows the missing-modality
    scores beside the clean ones.
    """
    from cmaf.experiments.robustness import KINDS, summarize

    summary = summarize(rows, metric)
    models = list(dict.fromkeys(str(r["model"]) for r in rows))
    kinds = {str(r["kind"]) for r in rows}
    noise = ("white-noise", "speech-noise")
    # Only the corruptions that were swept (an audio-only sweep has no occlusion or offset).
    panels = [k for k in (*noise, "occlude-upper", "occlude-lower", "offset") if k in kinds]
    grid_rows = len(panels) // 3 + 1
    fig = _figure(13.5, 2.6 * grid_rows)
    axes = fig.subplots(grid_rows, 3, squeeze=False).ravel()
    for ax in axes[len(panels) + 1 :]:
        ax.set_visible(False)
    for ax, kind in zip(axes, panels, strict=False):
        for i, model in enumerate(models):
            points = sorted(
                (level, mean, std)
                for (m, k, level), (mean, std, _) in summary.items()
                if m == model and k == kind
            )
            if not points or (model, "clean", 0.0) not in summary:
                continue
            clean = summary[(model, "clean", 0.0)]
            if kind in noise:
                x_clean = max(p[0] for p in points) + 10.0  # clean drawn at the weak end
                points = [(x_clean, clean[0], clean[1]), *sorted(points, reverse=True)]
            elif kind == "offset":
                points = sorted([*points, (0.0, clean[0], clean[1])])
            else:
                points = [(0.0, clean[0], clean[1]), *points]
            x, mean, std = (np.array(v, dtype=float) for v in zip(*points, strict=True))
            ax.errorbar(
                x, 100 * mean, yerr=100 * std, fmt="-o", ms=3, lw=1.2, capsize=2, color=f"C{i}"
            )
        ax.set_xlabel(KINDS[kind][0] + ("  (leftmost point: clean)" if kind in noise else ""))
        if kind in noise:
            ax.invert_xaxis()
            ax.set_xticks(ax.get_xticks())
        ax.set_title(kind, fontsize=9)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    ax = axes[len(panels)]
    width = 0.8 / 3
    for j, kind in enumerate(("clean", "missing-audio", "missing-video")):
        values = [
            summary.get((m, kind, 0.0 if kind == "clean" else 1.0), (np.nan,))[0] for m in models
        ]
        pos = np.arange(len(models)) - 0.4 + width * (j + 0.5)
        ax.bar(pos, 100 * np.array(values), width, color=f"0.{3 + 2 * j}", label=kind)
    ax.set_xticks(np.arange(len(models)), models, fontsize=7, rotation=30)
    ax.set_ylim(0, 100)
    ax.set_title("missing modality (zero signal)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    if chance is not None:
        for ax in axes[: len(panels) + 1]:
            ax.axhline(chance, ls="--", color="0.5", lw=1)
    handles = [
        Line2D([], [], color=f"C{i}", marker="o", ms=3, label=model)
        for i, model in enumerate(models)
    ]
    fig.legend(
        handles=handles, loc="outside upper center", ncols=len(models), fontsize=8, frameon=False
    )
    return _titled(fig, title)


def plot_attention_shares(rows: Sequence[dict], model: str = "cmaf") -> Figure:
    """How much each stream takes from the other modality, per corruption (one model).

    Two bars per condition: the visual share in the audio stream and the audio share in the
    visual stream (:mod:`cmaf.experiments.robustness`), mean over runs.
    """
    from cmaf.experiments.robustness import STREAM_SHARES, summarize

    mine = [r for r in rows if r["model"] == model]
    columns = list(STREAM_SHARES.values())
    summaries = {c: summarize(mine, c) for c in columns}
    keys = list(summaries[columns[0]])
    labels = [
        k[1] if k[1] == "clean" or k[1].startswith("missing") else f"{k[1]} {k[2]:.2g}"
        for k in keys
    ]
    fig = _figure(max(7.0, 0.32 * len(keys) + 2), 3.8)
    ax = fig.subplots()
    x = np.arange(len(keys))
    for j, column in enumerate(columns):
        values = [summaries[column][k][0] for k in keys]
        ax.bar(x - 0.2 + 0.4 * j, values, 0.4, color=f"C{j}", label=column.replace("_", " "))
    ax.set_xticks(x, labels, rotation=70, fontsize=7)
    ax.set_ylabel("share of the other modality")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncols=2)
    return fig
