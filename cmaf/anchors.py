"""Published audio-only results on RAVDESS, with their protocols (cited by the book's real-data
chapter beside its own numbers).

Each row is checked against the text named in ``source``; a number read from another paper's
table, or from the authors' code rather than their paper, says so in ``note``. ``protocol``
decides comparability: a random split over clips ("speaker-dependent") lets every test actor,
and usually the other repetition of the same take, be trained on; a speaker-independent one
holds whole actors out. ``differs`` names what separates each row from our protocols (speech
only, 8 classes; held-out folds of 4 actors covering all 24, or a random 80:20 split).
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
    #: What differs from our protocols (data, classes, split, metric), "" when nothing does.
    differs: str = ""
    #: Decimals the source reports ``value`` with (the table shows no more than that).
    decimals: int = 2

    def value_text(self) -> str:
        """``value`` as the source reports it, e.g. ``"94.18"`` or ``"57.0"``."""
        return f"{self.value:.{self.decimals}f}"


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
        differs="random 70:30 split (ours: random 80:20, stratified)",
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
        differs="5 subject-wise folds (ours: 6 folds of 4 actors); pretrained on external speech",
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
        differs="UA, not accuracy; 5 folds (ours: 6 folds of 4 actors)",
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
        differs="split not stated; encoder pretrained on external audio-text pairs",
    ),
    Anchor(
        citation="Pepino, Riera & Ferrer (2021), Emotion Recognition from Speech Using wav2vec "
        "2.0 Embeddings, Interspeech 2021, arXiv:2104.03502",
        model="eGeMAPS v02 frame-level descriptors (openSMILE) -> two 128-unit dense layers "
        "per frame -> masked average pooling -> softmax (their 'eGeMAPS' baseline)",
        protocol="speech + song, 7 classes (calm relabelled neutral); actors 1-20 train, "
        "21-22 validation, 23-24 test; 5 seeds",
        speaker_independent=True,
        metric="average recall (UAR), mean of 5 seeds (± 2.4)",
        value=57.0,
        decimals=1,
        source="github.com/habla-liaa/ser-with-w2v2, notebooks/results.ipynb, 'Table 1' cell "
        "output: 'None eGeMAPS 52.5 $\\pm$ 0.1 57.0 $\\pm$ 2.4' (IEMOCAP, Ravdess), "
        "computed from 'balanced_accuracy_score'; protocol: configs/datasets/ravdess.yaml "
        "(Ravdess_group_splits train '01'-'20', validation ['21','22'], test ['23','24']; "
        "Ravdess_relabel_calm: '01' #(neutral); n_classes: 7; Ravdess_normalize_by: actor), "
        "configs/features/normalize.yaml (normalize: by_independent), README (RAVDESS/song "
        "and RAVDESS/speech folders; 'repeats it 5 times (using different seeds)'), "
        "configs/main/os-baseline.yaml (features: opensmile), configs/features/opensmile.yaml "
        "(eGeMAPSv02, feature_level: lld), configs/dienen/mean_mlp.yaml",
        note="from the authors' repository, not the paper: the paper's text was not readable "
        "here. A figure of 59.0 % accuracy for this baseline could not be found in any readable "
        "source and is not used",
        differs="speech + song (1440 + 1012 clips), 7 classes (calm merged into neutral), one "
        "fixed split with 2 test actors (ours: speech only, 8 classes, 6 folds of 4 actors over "
        "all 24); average recall, not accuracy; frame-level eGeMAPS descriptors, not the 88 "
        "functionals; features normalised per actor",
    ),
)


def ravdess_audio_table():
    """:data:`RAVDESS_AUDIO` as a pandas DataFrame (one row per anchor).

    ``value (%)`` holds strings with the source's own precision (``"94.18"``, ``"57.0"``): a
    float column would render as ``94.180000`` in a Styler and the built book.
    """
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
            "value (%)": a.value_text(),
            "differs from ours": a.differs,
            "note": a.note,
        }
        for a in RAVDESS_AUDIO
    ]
    return pd.DataFrame(rows)
