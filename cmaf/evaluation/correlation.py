"""Acoustic × visual feature correlations per video frame (the paper's Figure 11; Chapter 7).

The paper does not say how its features were measured. Here the acoustic features are measured
from the decoded audio around each video frame (F0, intensity, spectral centroid and two
formant-region proxies, not formant tracks); the visual features come from the synthetic
corpus's ground truth, which real datasets lack (:func:`corpus_features` then raises).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Columns :func:`acoustic_features` returns.
ACOUSTIC_FEATURES = (
    "f0_hz",
    "intensity_db",
    "spectral_centroid_hz",
    "f1_region_hz",
    "f2_region_hz",
)
#: Columns :func:`visual_features` returns.
VISUAL_FEATURES = ("mouth_opening", "brow_raise", "brow_lower", "eye_aperture", "lip_corner")

_ANALYSIS_RATE = 16000


def _to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if rate != _ANALYSIS_RATE:
        import torch
        import torchaudio.functional as AF

        x = AF.resample(torch.from_numpy(x), rate, _ANALYSIS_RATE).numpy()
    return x.astype(np.float64)


def _band_centroid(freqs: np.ndarray, power: np.ndarray, lo: float, hi: float) -> np.ndarray:
    band = (freqs >= lo) & (freqs < hi)
    p = power[:, band]
    total = p.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (p * freqs[band]).sum(axis=1) / total, np.nan)


def acoustic_features(
    samples: np.ndarray,
    sample_rate: int,
    times: Sequence[float],
    window_s: float = 0.04,
    f0_range: tuple[float, float] = (60.0, 500.0),
    voicing_threshold: float = 0.45,
    silence_db: float = -50.0,
):
    """Acoustic features at each time in ``times`` (seconds), from a window centred there.

    One row per time: :data:`ACOUSTIC_FEATURES`, ``voiced`` and ``time_s``.

    Parameters
    ----------
    samples, sample_rate
        Audio as :func:`cmaf.data.media.read_audio` returns it; mixed to mono, resampled to 16 kHz.
    window_s
        Analysis window (40 ms holds two periods of a 60 Hz voice).
    voicing_threshold
        A frame is voiced when its normalised autocorrelation peak exceeds this and its
        intensity exceeds ``silence_db``; F0 is NaN otherwise.
    """
    import pandas as pd

    x = _to_mono_16k(samples, sample_rate)
    sr = _ANALYSIS_RATE
    win = round(window_s * sr)
    t = np.asarray(times, dtype=np.float64)
    starts = np.round(t * sr).astype(np.int64) - win // 2
    idx = starts[:, None] + np.arange(win)[None, :]
    padded = np.concatenate([np.zeros(win), x, np.zeros(win)])
    frames = padded[np.clip(idx + win, 0, padded.size - 1)]
    frames = frames - frames.mean(axis=1, keepdims=True)

    rms = np.sqrt((frames**2).mean(axis=1))
    intensity_db = 20.0 * np.log10(rms + 1e-10)

    hann = np.hanning(win)
    spectrum = np.abs(np.fft.rfft(frames * hann, n=2 * win)) ** 2
    freqs = np.fft.rfftfreq(2 * win, 1.0 / sr)
    centroid = _band_centroid(freqs, spectrum, 0.0, sr / 2 + 1)
    f1_region = _band_centroid(freqs, spectrum, 200.0, 1000.0)
    f2_region = _band_centroid(freqs, spectrum, 1000.0, 3000.0)

    # F0: normalised autocorrelation (FFT), best lag inside the search range.
    n_fft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.fft.rfft(frames * hann, n=n_fft)
    acf = np.fft.irfft(np.abs(spec) ** 2, n=n_fft)[:, :win]
    window_acf = np.fft.irfft(np.abs(np.fft.rfft(hann, n=n_fft)) ** 2, n=n_fft)[:win]
    with np.errstate(invalid="ignore", divide="ignore"):
        acf = acf / np.where(acf[:, :1] > 0, acf[:, :1], 1.0) / (window_acf / window_acf[0])
    lo = max(2, int(sr / f0_range[1]))
    hi = min(win - 1, int(sr / f0_range[0]))
    seg = acf[:, lo : hi + 1]
    best = np.argmax(seg, axis=1)
    peak = seg[np.arange(seg.shape[0]), best]
    lag = (best + lo).astype(np.float64)
    # parabolic interpolation around the peak
    left = acf[np.arange(acf.shape[0]), np.clip(best + lo - 1, 0, win - 1)]
    right = acf[np.arange(acf.shape[0]), np.clip(best + lo + 1, 0, win - 1)]
    denom = left - 2 * peak + right
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / denom, 0.0)
    lag = lag + np.clip(shift, -0.5, 0.5)
    voiced = (peak > voicing_threshold) & (intensity_db > silence_db)
    f0 = np.where(voiced, sr / lag, np.nan)

    return pd.DataFrame(
        {
            "time_s": t,
            "f0_hz": f0,
            "intensity_db": intensity_db,
            "spectral_centroid_hz": centroid,
            "f1_region_hz": f1_region,
            "f2_region_hz": f2_region,
            "voiced": voiced,
        }
    )


def visual_features(frames_gt):
    """:data:`VISUAL_FEATURES` from ``ground_truth_frames.csv`` rows (action units, mouth)."""
    import pandas as pd

    g = frames_gt
    return pd.DataFrame(
        {
            "mouth_opening": g["mouth_opening"].to_numpy(float),
            "brow_raise": 0.5 * (g["AU1"].to_numpy(float) + g["AU2"].to_numpy(float)),
            "brow_lower": g["AU4"].to_numpy(float),
            "eye_aperture": (g["AU5"] - g["AU43"] - g["blink"]).to_numpy(float),
            "lip_corner": g["AU12"].to_numpy(float),
        },
        index=g.index,
    )


def corpus_features(
    corpus_root: str | Path,
    clip_ids: Sequence[str] | None = None,
    max_clips: int | None = None,
    degraded: bool = False,
):
    """Per-frame acoustic (measured) and visual (ground-truth) features of a ``cmaf synth`` corpus.

    One row per video frame: ``clip_id``, ``emotion``, ``time_s``, both feature sets and the
    true ``gt_f0_hz`` / ``gt_energy`` (to check the acoustic measurements against). Uses clean
    clips only unless ``degraded``, at most ``max_clips`` of them spread evenly over the list.
    Raises :class:`FileNotFoundError` when ``corpus_root`` has no ground truth (a real dataset).
    """
    import pandas as pd

    from cmaf.data.media import read_audio

    root = Path(corpus_root)
    clips_csv = root / "ground_truth_clips.csv"
    frames_csv = root / "ground_truth_frames.csv"
    if not clips_csv.is_file() or not frames_csv.is_file():
        raise FileNotFoundError(
            f"{root}: no ground_truth_clips.csv / ground_truth_frames.csv; per-frame visual "
            "features exist only for the synthetic corpus"
        )
    with open(clips_csv, newline="") as fh:
        clips = list(csv.DictReader(fh))
    if not degraded:
        clips = [c for c in clips if c.get("degraded_modality", "none") == "none"]
    if clip_ids is not None:
        wanted = set(clip_ids)
        clips = [c for c in clips if c["clip_id"] in wanted]
    if max_clips is not None and len(clips) > max_clips:
        pick = np.linspace(0, len(clips) - 1, max_clips).round().astype(int)
        clips = [clips[i] for i in pick]
    keep = {c["clip_id"] for c in clips}
    frames = pd.read_csv(frames_csv, dtype={"clip_id": str})
    frames = frames[frames["clip_id"].isin(keep)]
    parts = []
    for clip in clips:
        gt = frames[frames["clip_id"] == clip["clip_id"]].reset_index(drop=True)
        if gt.empty:
            continue
        samples, rate = read_audio(root / clip["path"])
        acoustic = acoustic_features(samples, rate, gt["time_s"].to_numpy(float))
        visual = visual_features(gt)
        part = pd.concat([acoustic.drop(columns=["time_s"]), visual], axis=1)
        part.insert(0, "time_s", gt["time_s"].to_numpy(float))
        part.insert(0, "emotion", clip["emotion_name"])
        part.insert(0, "clip_id", clip["clip_id"])
        part["gt_f0_hz"] = gt["f0_hz"].replace(0.0, np.nan).to_numpy(float)
        part["gt_energy"] = gt["energy"].to_numpy(float)
        parts.append(part)
    if not parts:
        raise ValueError(f"{root}: no clips selected")
    return pd.concat(parts, ignore_index=True)


def correlation_matrix(
    features,
    rows: Sequence[str] = ACOUSTIC_FEATURES,
    columns: Sequence[str] = VISUAL_FEATURES,
    within: str | None = None,
    min_pairs: int = 10,
):
    """Pearson correlation of each ``rows`` feature with each ``columns`` feature, a DataFrame.

    Pairs with a NaN (e.g. unvoiced F0) are dropped cell by cell; cells with fewer than
    ``min_pairs`` complete pairs are NaN. ``within`` names a grouping column (e.g.
    ``"clip_id"``) whose group means are subtracted first, so only within-group co-variation
    counts; ``None`` pools all rows.
    """
    import pandas as pd

    data = features[list(dict.fromkeys([*rows, *columns]))].astype(float)
    if within is not None:
        data = data - data.groupby(features[within]).transform("mean")
    out = pd.DataFrame(index=list(rows), columns=list(columns), dtype=float)
    for r in rows:
        for c in columns:
            x, y = data[r].to_numpy(), data[c].to_numpy()
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < min_pairs:
                continue  # stays NaN
            xs, ys = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
            den = np.sqrt((xs**2).sum() * (ys**2).sum())
            out.loc[r, c] = float((xs * ys).sum() / den) if den > 0 else np.nan
    return out
