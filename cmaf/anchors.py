"""Published audio-only results on RAVDESS speech (8 classes), with their protocols.

The book's real-data chapter cites these beside its own numbers. Each row is data with its
source, checked against the text named in ``source`` (a number read from another paper's table
says so in ``note``). ``protocol`` is what decides comparability: a random split over clips
("speaker-dependent") lets every test actor, and usually the other repetition of the same
take, be trained on; a speaker-independent protocol holds whole actors out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    """One published audio-only RAVDESS speech result."""

    citation: str
    model: str
    protocol: str
    speaker_independent: bool | None  # None: the source does not say
    metric: str
    value: float  # percent
    source: str
    note: str = ""


RAVDESS_AUDIO: tuple[Anchor, ...] = (
    Anchor(
        citation="Bhangale & Kothandaraman (2023), Electronics 12(4):839, "
        "doi:10.3390/electronics12040839",
        model="1-D CNN on MFCC, LPCC, wavelet, ZCR, pitch, jitter, shimmer and other features",
        protocol="random 70:30 split of the 1440 clips (1005 train / 435 test)",
        speaker_independent=False,
        metric="accuracy",
        value=94.18,
        source="the paper's text: 'The data is split in the ratio of 70:30'; "
        "'94.18% accuracy ... for the RAVDESS dataset'",
    ),
    Anchor(
        citation="Luna-Jiménez et al. (2022), Applied Sciences 12(1):327, doi:10.3390/app12010327",
        model="fine-tuned xlsr-Wav2Vec2.0 + MLP on the raw waveform",
        protocol="subject-wise 5-fold cross-validation (actors held out), 8 classes",
        speaker_independent=True,
        metric="accuracy",
        value=81.82,
        source="protocol: github.com/cristinalunaj/MMEmotionRecognition README ('subject-wise "
        "5CV'); value: Elizalde et al. (2023) CLAP, Table 1, RAVDESS 'Benchmark (Best) 0.8182' "
        "citing this paper",
        note="value read from a later paper's table citing it, not from its own table",
    ),
    Anchor(
        citation="Krasnoproshin & Vashkevich (2026), IEEE DSPA 2026, arXiv:2606.03359",
        model="attention LSTM with residual connections on 34 MFCC + 12 chroma",
        protocol="speaker-independent 5-fold cross-validation, 8 classes",
        speaker_independent=True,
        metric="UA (unweighted average recall), mean of 10 runs",
        value=62.32,
        source="github.com/Mak-Sim/ResLSTM-SER README: 'RAVDESS, 8 emotions, "
        "speaker-independent 5-fold CV ... 0.6232 ± 0.0119'",
    ),
    Anchor(
        citation="Elizalde et al. (2023), CLAP: Learning Audio Concepts from Natural Language "
        "Supervision, ICASSP 2023, arXiv:2206.04769",
        model="CNN14 audio encoder pretrained with CLAP, fine-tuned",
        protocol="not stated in the text",
        speaker_independent=None,
        metric="accuracy",
        value=64.36,
        source="Table 1, RAVDESS: 'CLAP (Best) 0.6436' (zero-shot 0.1599; chance 0.125)",
    ),
)


def ravdess_audio_table():
    """:data:`RAVDESS_AUDIO` as a pandas DataFrame (one row per anchor)."""
    import pandas as pd

    rows = [
        {
            "source": a.citation,
            "model": a.model,
            "protocol": a.protocol,
            "held-out actors": {True: "yes", False: "no", None: "not stated"}[
                a.speaker_independent
            ],
            "metric": a.metric,
            "value (%)": a.value,
            "note": a.note,
        }
        for a in RAVDESS_AUDIO
    ]
    return pd.DataFrame(rows)
