"""Figures of the paper's method and of the data: diagrams redrawn from data, inputs, counts.

Also the figure helpers that :mod:`cmaf.plots.results` shares.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = [
    "plot_architecture",
    "plot_conceptual_framework",
    "plot_counts",
    "plot_frame_strip",
    "plot_fusion_taxonomy",
    "plot_log_mel",
    "plot_study_flow",
]


def _box(ax, x, y, w, h, text, face="#f2f2f2", edge="#444444", fontsize=8, weight="normal"):
    """A rounded box centred at (x, y) in axes data coordinates, with wrapped text."""
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, "round,pad=0.01,rounding_size=0.02")
    patch.set(facecolor=face, edgecolor=edge, linewidth=1.0)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, weight=weight, wrap=True)


def _arrow(ax, start, end, color="#444444", style="-|>", lw=1.0):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=10, color=color, lw=lw)
    )


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _titled(fig: Figure, title: str | None, ax=None, **kwargs) -> Figure:
    """``fig``, with ``title`` over it (or over ``ax``) when one is given."""
    if title:
        (fig.suptitle if ax is None else ax.set_title)(title, **kwargs)
    return fig


def _canvas(width: float, height: float):
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")
    return fig, ax


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width=width) or text


# ================================================================================ review


def plot_study_flow(flow, title: str | None = None) -> Figure:
    """The review's record flow (Section 2.1, Figure 1 Phase 1), the drops beside the arrows.

    ``flow`` is :func:`cmaf.paper.study_flow`.
    """
    n = len(flow)
    fig, ax = _canvas(6.5, 1.2 * n + 0.6)
    ys = np.linspace(0.9, 0.1, n)
    for i, row in enumerate(flow.itertuples(index=False)):
        _box(ax, 0.32, ys[i], 0.46, 0.55 / n, f"{row.stage}\nn = {row.count}", face="#e8eef7")
        if i:
            _arrow(ax, (0.32, ys[i - 1] - 0.28 / n), (0.32, ys[i] + 0.28 / n))
            mid = (ys[i - 1] + ys[i]) / 2
            text = _wrap(f"− {row.removed}: {row.why}", 30)
            _box(ax, 0.8, mid, 0.36, 0.4 / n, text, face="#fbeaea", fontsize=7)
            _arrow(ax, (0.32, mid), (0.62, mid), color="#b55", style="-|>", lw=0.8)
    return _titled(fig, title, fontsize=10)


def plot_fusion_taxonomy(
    taxonomy,
    families: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Section 3.1's fusion strategies (:func:`cmaf.paper.fusion_taxonomy`) under one root.

    ``families`` (``family -> description``, the paper's intra- vs cross-modal split) is drawn as
    a band above the strategies: the paper does not assign strategies to families, nor does this.
    """
    n = len(taxonomy)
    fig, ax = _canvas(max(9.0, 1.35 * n), 4.2)
    _box(ax, 0.5, 0.9, 0.36, 0.1, "Fusion mechanisms (Section 3.1)", face="#dde7f3", weight="bold")
    if families:
        xs = np.linspace(0.25, 0.75, len(families))
        for x, (name, text) in zip(xs, families.items(), strict=True):
            _box(ax, x, 0.68, 0.4, 0.12, f"{name}\n{_wrap(text, 48)}", face="#eef5e9", fontsize=7)
            _arrow(ax, (0.5, 0.85), (x, 0.74))
    xs = np.linspace(0.5 / n, 1 - 0.5 / n, n)
    for x, row in zip(xs, taxonomy.itertuples(index=False), strict=True):
        text = f"{_wrap(row.strategy, 14)}\n{row.references}\n\n{_wrap(row.level, 16)}"
        _box(ax, x, 0.3, 0.82 / n, 0.36, text, face="#f6f6f6", fontsize=7)
        _arrow(ax, (0.5, 0.62 if families else 0.85), (x, 0.48), color="#999999", lw=0.6)
    return _titled(fig, title, fontsize=10)


def plot_conceptual_framework(stages: Sequence[Any], title: str | None = None) -> Figure:
    """Figure 4 redrawn from :data:`cmaf.paper.CONCEPTUAL_FRAMEWORK`, one column per stage.

    Advances are grey boxes (Figure 4's shading), limitations red boxes marked "!".
    """
    n = len(stages)
    fig, ax = _canvas(2.6 * n, 6.2)
    xs = np.linspace(0.5 / n, 1 - 0.5 / n, n)
    w = 0.84 / n

    def refs_text(refs):
        return " [" + ", ".join(str(r) for r in refs) + "]" if refs else ""

    for i, (x, stage) in enumerate(zip(xs, stages, strict=True)):
        _box(ax, x, 0.94, w, 0.08, _wrap(stage.title, 22), face="#dde7f3", weight="bold")
        if i:
            _arrow(ax, (xs[i - 1] + w / 2, 0.94), (x - w / 2, 0.94), lw=1.4)
        y = 0.84
        for text, refs in stage.advances:
            _box(ax, x, y - 0.055, w, 0.1, _wrap(text + refs_text(refs), 30), face="#e4e4e4",
                 fontsize=6.5)  # fmt: skip
            y -= 0.12
        for text, refs in stage.limitations:
            _box(ax, x, y - 0.055, w, 0.1, _wrap("! " + text + refs_text(refs), 30),
                 face="#fbeaea", edge="#b55", fontsize=6.5)  # fmt: skip
            y -= 0.12
    return _titled(fig, title, fontsize=10)


# ================================================================================ architecture

# Position (x, y) and label of each CMAF block; blocks not listed are stacked at the bottom left.
_BLOCKS = {
    "audio_encoder": (0.25, 0.76, "2-D CNN (audio)"),
    "audio_projection": (0.25, 0.56, "linear projection"),
    "visual_backbone": (0.75, 0.86, "ResNet-18 per frame"),
    "visual_gru": (0.75, 0.71, "Bi-GRU"),
    "visual_projection": (0.75, 0.56, "linear projection"),
    "temporal_alignment": (0.75, 0.43, "interpolate to T_common"),
    "audio_attends_visual": (0.3, 0.3, "audio → visual attention"),
    "visual_attends_audio": (0.7, 0.3, "visual → audio attention"),
    "tucker_core": (0.5, 0.19, "Tucker core (outer products)"),
    "fbp": (0.5, 0.1, "factorised bilinear pooling"),
    "classifier": (0.5, 0.02, "dropout + linear (softmax)"),
}
# The diagram's arrows, as paths through the blocks.
_PATHS = (
    "input_audio audio_encoder audio_projection audio_attends_visual tucker_core fbp classifier",
    "audio_projection visual_attends_audio tucker_core",
    "input_video visual_backbone visual_gru visual_projection temporal_alignment",
    "temporal_alignment audio_attends_visual",
    "temporal_alignment visual_attends_audio",
)


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + " × ".join(str(s) for s in shape) + ")"


def plot_architecture(
    rows: Sequence[tuple[str, Sequence[int], int]],
    inputs: Mapping[str, Sequence[int]] | None = None,
    title: str | None = None,
) -> Figure:
    """Figures 2–3 redrawn from the model itself: one box per block, its output shape and size.

    ``rows`` are ``(block, output shape, parameters)`` as :func:`cmaf.models.summary.summarize`
    returns them; ``inputs`` optionally gives the ``"audio"`` (log-Mel) and ``"video"`` shapes.
    """
    fig, ax = _canvas(8.5, 8.0)
    ax.set_ylim(-0.04, 1.0)
    pos: dict[str, tuple[float, float]] = {}
    spare = 0
    for name, shape, params in rows:
        if name in _BLOCKS:
            x, y, label = _BLOCKS[name]
        else:
            x, y, label = 0.08, 0.1 + 0.08 * spare, name
            spare += 1
        pos[name] = (x, y)
        text = f"{label}\nout {_shape_text(shape)}\n{params:,} params"
        face = "#e8eef7" if name.startswith(("audio", "visual_att")) else "#eef5e9"
        if name.startswith("visual") and name != "visual_attends_audio":
            face = "#f7efe4"
        if name in ("tucker_core", "fbp", "classifier"):
            face = "#efe8f7"
        _box(ax, x, y, 0.36, 0.075, text, face=face, fontsize=7)
    for key, name, x, y, h in (
        ("audio", "log-Mel", 0.25, 0.93, 0.05),
        ("video", "frames", 0.75, 0.97, 0.045),
    ):
        if inputs and key in inputs:
            pos[f"input_{key}"] = (x, y)
            _box(ax, x, y, 0.3, h, f"{name} {_shape_text(inputs[key])}", face="#ffffff", fontsize=7)
    for path in _PATHS:
        for a, b in itertools.pairwise(path.split()):
            if a in pos and b in pos:
                (x0, y0), (x1, y1) = pos[a], pos[b]
                _arrow(ax, (x0, y0 - 0.03), (x1, y1 + 0.04), color="#777777", lw=0.8)
    total = sum(int(r[2]) for r in rows)
    ax.text(0.02, -0.03, f"total parameters: {total:,}", fontsize=8)
    return _titled(fig, title, fontsize=10)


# ================================================================================ data


def plot_log_mel(
    mels: Mapping[str, np.ndarray] | np.ndarray,
    clip_seconds: float = 3.0,
    title: str | None = None,
) -> Figure:
    """Log-Mel spectrograms (one ``(n_mels, frames)`` array or ``name -> array``), a panel each.

    ``clip_seconds`` is the span of the frames (the x axis).
    """
    if not isinstance(mels, Mapping):
        mels = {"": mels}
    n = len(mels)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig = _figure(3.2 * cols + 0.5, 2.4 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.axis("off")
    for ax, (name, mel) in zip(axes, mels.items(), strict=False):
        mel = np.asarray(mel, dtype=float)
        if mel.ndim == 3:
            mel = mel[0]
        extent = (0, clip_seconds, 0, mel.shape[0])
        im = ax.imshow(mel, origin="lower", aspect="auto", cmap="viridis", extent=extent)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel("Mel band", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(im, ax=ax, shrink=0.8).set_label("log power", fontsize=7)
    return _titled(fig, title)


def plot_frame_strip(
    strips: Mapping[str, np.ndarray] | np.ndarray,
    max_frames: int = 8,
    clip_seconds: float | None = 3.0,
    title: str | None = None,
) -> Figure:
    """Rows of video frames (``(T, H, W, 3)`` uint8 each), evenly subsampled to ``max_frames``."""
    if not isinstance(strips, Mapping):
        strips = {"": strips}
    n = len(strips)
    cols = max(min(max_frames, max(np.asarray(f).shape[0] for f in strips.values())), 1)
    fig = _figure(1.3 * cols + 0.4, 1.45 * n + 0.3)
    axes = fig.subplots(n, cols, squeeze=False)
    for r, (name, frames) in enumerate(strips.items()):
        frames = np.asarray(frames)
        pick = np.linspace(0, frames.shape[0] - 1, min(cols, frames.shape[0])).round().astype(int)
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(pick):
                ax.axis("off")
                continue
            ax.imshow(frames[pick[c]])
            if clip_seconds is not None:
                t = (pick[c] + 0.5) * clip_seconds / frames.shape[0]
                ax.set_xlabel(f"{t:.2f} s", fontsize=7)
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
    return _titled(fig, title)


def plot_counts(
    manifest,
    label_column: str = "label",
    speaker_column: str = "speaker",
    class_order: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Bars of clips per class and clips per speaker (coloured by class) from a manifest."""
    import pandas as pd

    labels = manifest[label_column].astype(str)
    order = list(class_order) if class_order is not None else sorted(labels.unique())
    per_class = labels.value_counts().reindex(order, fill_value=0)
    table = pd.crosstab(manifest[speaker_column].astype(str), labels).reindex(
        columns=order, fill_value=0
    )
    fig = _figure(11, 3.4)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(1, 1.6))
    colors = [f"C{i % 10}" for i in range(len(order))]
    ax1.bar(range(len(order)), per_class.to_numpy(), color=colors)
    ax1.set_xticks(range(len(order)), order, rotation=40, ha="right", fontsize=8)
    ax1.set_ylabel("clips")
    ax1.set_title("clips per class", fontsize=10)
    bottom = np.zeros(len(table))
    for i, cls in enumerate(order):
        values = table[cls].to_numpy()
        ax2.bar(range(len(table)), values, bottom=bottom, color=f"C{i % 10}", label=cls)
        bottom += values
    ax2.set_xticks(range(len(table)), table.index, rotation=60, ha="right", fontsize=7)
    ax2.set_ylabel("clips")
    ax2.set_title("clips per speaker (stacked by class)", fontsize=10)
    ax2.legend(fontsize=6, ncol=2, loc="upper right")
    return _titled(fig, title)
