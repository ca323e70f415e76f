"""Does cross-modal attention follow the lip-sync alignment? One number against a baseline.

The paper reads its attention maps (Figures 8–10) by eye. On the synthetic corpus the true
alignment is known: audio step ``i`` and visual step ``i`` describe the same instant, so it is the
diagonal. :func:`band_mass` measures the attention mass near the diagonal (uniform attention gives
:func:`uniform_band_mass`), :func:`time_correlation` whether the attended key time follows the
query time; Chapter 6 applies both to a run's maps before and after training.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Attention directions stored by a training run (rows = query steps of the first modality).
DIRECTIONS = ("audio_to_visual", "visual_to_audio")


def band_mask(n_query: int, n_key: int, k: int) -> np.ndarray:
    """``(n_query, n_key)`` mask of the keys within ``±k`` steps of each query's matching key.

    Unequal lengths are matched by step centres over the same time span.
    """
    if n_query < 1 or n_key < 1:
        raise ValueError("attention maps need at least one query and one key step")
    if k < 0:
        raise ValueError(f"band half-width k must be >= 0, got {k}")
    centre = (np.arange(n_query) + 0.5) * n_key / n_query - 0.5
    return np.abs(np.arange(n_key)[None, :] - centre[:, None]) <= k + 1e-9


def _as_maps(attention: Any) -> np.ndarray:
    a = np.asarray(attention, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"attention must have shape (..., queries, keys), got {a.shape}")
    return a


def band_mass(attention: Any, k: int = 3) -> np.ndarray:
    """Mean over query steps of the attention mass within ``±k`` steps of the diagonal.

    ``attention`` is ``(..., Tq, Tk)`` row-stochastic maps; returns one score per map, ``(...)``.
    ``k`` absorbs the few steps by which the encoders blur time.
    """
    a = _as_maps(attention)
    mask = band_mask(a.shape[-2], a.shape[-1], k)
    rows = a.sum(axis=-1)
    inside = (a * mask).sum(axis=-1) / np.where(rows > 0, rows, 1.0)
    return inside.mean(axis=-1)


def uniform_band_mass(n_query: int, n_key: int, k: int = 3) -> float:
    """:func:`band_mass` of uniform attention: the mean fraction of keys inside the band."""
    return float(band_mask(n_query, n_key, k).mean())


def time_correlation(attention: Any) -> np.ndarray:
    """Pearson correlation of query time with attention-weighted key time, per map.

    1 for the identity (or any monotone shift); NaN when the expected key time does not vary
    (e.g. uniform attention).
    """
    a = _as_maps(attention)
    rows = a.sum(axis=-1, keepdims=True)
    a = a / np.where(rows > 0, rows, 1.0)
    expected = (a * np.arange(a.shape[-1])).sum(axis=-1)  # (..., Tq)
    query = np.arange(a.shape[-2], dtype=np.float64)
    q = query - query.mean()
    e = expected - expected.mean(axis=-1, keepdims=True)
    num = (e * q).sum(axis=-1)
    den = np.sqrt((e**2).sum(axis=-1) * (q**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12 * max(1.0, float(np.sqrt((q**2).sum()))), num / den, np.nan)


def diagonal_profile(attention: Any, max_offset: int | None = None) -> tuple[np.ndarray, ...]:
    """Mean attention weight at each diagonal offset ``key - query`` of ``(..., T, T)`` maps.

    Returns ``(offsets, profile, uniform)``: offsets ``-max_offset..max_offset`` (default
    ``T - 1``), the mean weight at each over cells and maps, and uniform attention's ``1 / T``.
    """
    a = _as_maps(attention)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError("diagonal_profile needs square maps")
    t = a.shape[-1]
    mean_map = a.reshape(-1, t, t).mean(axis=0)
    m = t - 1 if max_offset is None else min(int(max_offset), t - 1)
    offsets = np.arange(-m, m + 1)
    profile = np.array([np.diagonal(mean_map, offset=int(d)).mean() for d in offsets])
    return offsets, profile, np.full(offsets.shape, 1.0 / t)


def load_attention(path: str | Path) -> dict[str, np.ndarray]:
    """Read an ``attention_init.npz`` / ``attention_final.npz`` of a run into a dict."""
    with np.load(Path(path), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def alignment_table(
    maps: Mapping[str, np.ndarray],
    k: int = 3,
    direction: str = "audio_to_visual",
    class_names: list[str] | None = None,
):
    """Per-clip alignment scores of one :func:`load_attention` file, head-averaged and per head.

    ``maps[direction]`` is ``(clips, heads, Tq, Tk)``, the first modality of ``direction``
    querying. One row per clip: ``clip_id``, ``label``, ``band_mass`` of the head-averaged map,
    ``uniform`` (chance), ``ratio`` (their quotient), ``time_correlation`` and
    ``band_mass_head<h>`` per head.
    """
    import pandas as pd

    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: use one of {', '.join(DIRECTIONS)}")
    att = np.asarray(maps[direction], dtype=np.float64)
    if att.ndim != 4:
        raise ValueError(f"{direction} must have shape (clips, heads, Tq, Tk), got {att.shape}")
    mean = att.mean(axis=1)
    uniform = uniform_band_mass(att.shape[-2], att.shape[-1], k)
    labels = np.asarray(maps.get("labels", np.full(att.shape[0], -1)))
    frame = pd.DataFrame(
        {
            "clip_id": [str(c) for c in maps.get("clip_ids", range(att.shape[0]))],
            "label": [
                class_names[int(x)] if class_names is not None and x >= 0 else int(x)
                for x in labels
            ],
            "band_mass": band_mass(mean, k),
            "uniform": uniform,
        }
    )
    frame["ratio"] = frame["band_mass"] / uniform
    frame["time_correlation"] = time_correlation(mean)
    per_head = band_mass(att, k)  # (K, heads)
    for h in range(att.shape[1]):
        frame[f"band_mass_head{h}"] = per_head[:, h]
    return frame


def summarize_alignment(table) -> dict[str, float]:
    """Mean scores of an :func:`alignment_table` (NaN-aware for the correlation)."""
    corr = table["time_correlation"].to_numpy(dtype=float)
    return {
        "clips": len(table),
        "band_mass": float(table["band_mass"].mean()),
        "uniform": float(table["uniform"].iloc[0]) if len(table) else float("nan"),
        "ratio": float(table["ratio"].mean()),
        "time_correlation": float(np.nanmean(corr)) if np.isfinite(corr).any() else float("nan"),
    }


def compare_alignment(
    run_dir: str | Path,
    k: int = 3,
    directions: tuple[str, ...] = DIRECTIONS,
):
    """Alignment before vs after training of a run: one row of mean scores per (direction, stage).

    Reads ``attention_init.npz`` (untrained) and ``attention_final.npz`` (selected checkpoint);
    a missing file (e.g. a unimodal baseline, which has no cross-attention) is skipped.
    """
    import pandas as pd

    run_dir = Path(run_dir)
    rows = []
    stages = (("before training", "attention_init.npz"), ("after training", "attention_final.npz"))
    for stage, name in stages:
        path = run_dir / name
        if not path.is_file():
            continue
        maps = load_attention(path)
        for direction in directions:
            if direction not in maps:
                continue
            summary = summarize_alignment(alignment_table(maps, k=k, direction=direction))
            rows.append({"direction": direction, "stage": stage, "k": k, **summary})
    return pd.DataFrame(rows)
