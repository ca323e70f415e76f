"""Per-speaker normalisation: each speaker's features standardised with that speaker's statistics.

Standardising every feature per speaker (Schuller et al. 2010, IEEE Trans. Affective Computing
1(2):119-131; Busso et al. 2013, ibid. 4(4):386-397) removes much of what differs between voices
rather than between emotions. No label is used, so a test speaker's statistics may come from its
own unlabelled clips. Clip-level vectors ``(n, d)`` get one mean and standard deviation per
feature, log-Mel spectrograms ``(n, n_mels, frames)`` one per Mel band; the book's data-pipeline
page says more.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Floor of a standard deviation: a constant feature (a silent band) is only centred.
MIN_STD = 1e-6

SpeakerStats = dict[str, tuple[np.ndarray, np.ndarray]]


def fit_speaker_stats(values: np.ndarray, speakers: Sequence[str]) -> SpeakerStats:
    """Mean and standard deviation of every channel, per speaker, over that speaker's clips.

    Parameters
    ----------
    values
        ``(n, d, ...)``: one row per clip; axis 1 holds the channels (features or Mel bands),
        any further axes (frames) are pooled with the clips.
    speakers
        The speaker of each row.

    Returns
    -------
    dict
        Speaker -> ``(mean, std)``, each float64 ``(d,)``; a std below :data:`MIN_STD` becomes 1.
    """
    values = np.asarray(values)
    speakers = np.asarray(speakers)
    if values.ndim < 2 or len(speakers) != len(values):
        raise ValueError(
            f"fit_speaker_stats: values {values.shape} need (n, d, ...) with n = "
            f"{len(speakers)} speakers"
        )
    stats: SpeakerStats = {}
    for speaker in sorted(set(speakers.tolist())):
        rows = values[speakers == speaker].astype(np.float64)
        pooled = np.moveaxis(rows, 1, 0).reshape(rows.shape[1], -1)
        std = pooled.std(axis=1)
        stats[speaker] = (pooled.mean(axis=1), np.where(std < MIN_STD, 1.0, std))
    return stats


def standardize_by_speaker(
    values: np.ndarray, speakers: Sequence[str], stats: SpeakerStats
) -> np.ndarray:
    """``values`` with each row standardised by its own speaker's statistics (float32).

    Raises
    ------
    KeyError
        A row's speaker has no statistics (fit them on that speaker's clips first).
    """
    values = np.asarray(values)
    out = np.empty(values.shape, dtype=np.float32)
    shape = (-1,) + (1,) * (values.ndim - 2)
    for index, speaker in enumerate(speakers):
        if speaker not in stats:
            raise KeyError(f"no per-speaker statistics for speaker {speaker!r}")
        mean, std = stats[speaker]
        out[index] = (values[index] - mean.reshape(shape)) / std.reshape(shape)
    return out
