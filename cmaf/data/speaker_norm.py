"""Per-speaker normalisation: each speaker's features standardised with that speaker's statistics.

Speech emotion recognition across speakers suffers from what differs between voices rather than
between emotions: pitch range, vocal-tract length, loudness, the recording chain. A standard
remedy (Schuller et al. 2010, IEEE Trans. Affective Computing 1(2):119-131; Busso et al.
2013, ibid. 4(4):386-397) is to standardise every feature per
speaker: subtract the speaker's mean and divide by the speaker's standard deviation, both taken
over *that speaker's clips only*, so what is left is how a clip departs from the speaker's usual
voice. No label is used, so the statistics of a test speaker may come from that speaker's own
(unlabelled) test clips; a deployed system would need a few clips of each new speaker first.

One function pair serves every feature kind:

* clip-level feature vectors ``(n, d)`` (eGeMAPS functionals, pooled log-Mel statistics) get one
  mean and standard deviation per feature;
* log-Mel spectrograms ``(n, n_mels, frames)`` get one per Mel band, over all frames of all the
  speaker's clips (the channel is the second axis, the rest is pooled).
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
        The speaker of each row (``n`` names).

    Returns
    -------
    dict
        Speaker -> ``(mean, std)``, each of shape ``(d,)`` (float64); a standard deviation below
        :data:`MIN_STD` is replaced by 1.
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
