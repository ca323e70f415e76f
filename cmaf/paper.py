"""What Kumar, Aruldoss & Wynn (2025) report, as data, each value with its place of origin.

Kumar, H.; Aruldoss, M.; Wynn, M. *Cross-Modal Attention Fusion: A Deep Learning and Affective
Computing Model for Emotion Recognition*. Multimodal Technol. Interact. 2025, 9(12), 116.
https://doi.org/10.3390/mti9120116

This module is the only place where the paper's numbers are typed in. The book's notebooks read
them from here, so a transcription error can be fixed once, and the tests check the
transcription for internal consistency (for instance that every F1 of Tables 1–3 is the harmonic
mean of its precision and recall, within the paper's two-decimal rounding).

Contents
--------
* :data:`PER_CLASS` — Tables 1–3: per-class precision, recall and F1 (percent) on RAVDESS,
  CREMA-D and IEMOCAP, with the paper's class names and our canonical lower-case labels.
* :data:`TABLE4` — Table 4: "Weighted Accuracy" and "Unweighted Accuracy" per dataset, with the
  column names kept verbatim (see :data:`TABLE4_NOTE` on the paper's swapped definitions).
* :data:`CITED` — Tables 5–7: the methods the paper compares against (reference number, fusion,
  accuracy, remarks), and the paper's own row.
* :data:`DATASET_PROFILES` — Table A2; :data:`STATED` — single numbers stated in the text
  (Appendices A–D), used by the replication notes.
* :data:`STUDY_FLOW` — the narrative review's record counts (Section 2.1), the numbers behind
  Figure 1's Phase 1.
* :data:`RESEARCH_QUESTIONS`, :data:`FUSION_TAXONOMY`, :data:`CONCEPTUAL_FRAMEWORK` and
  :data:`REFERENCES` — the literature side (Sections 1, 3.1; Figure 4; the reference list).
* :data:`DATASET_FACTS` — what the datasets' own papers say (refs [38]–[40]), kept apart from the
  paper's claims so the two can be compared.

Helpers return :class:`pandas.DataFrame` objects: :func:`per_class_table`, :func:`table4`,
:func:`cited_methods`, :func:`dataset_profiles`, :func:`study_flow`, :func:`fusion_taxonomy`,
:func:`stated_table`, and the comparisons :func:`compare_per_class` and :func:`compare_accuracy`
(a replication's mean ± std beside the paper's value, with the difference).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CITATION",
    "CITED",
    "CONCEPTUAL_FRAMEWORK",
    "DATASETS",
    "DATASET_FACTS",
    "DATASET_PROFILES",
    "DOI",
    "FUSION_TAXONOMY",
    "LABEL_MAPS",
    "PER_CLASS",
    "REFERENCES",
    "RESEARCH_QUESTIONS",
    "STATED",
    "STUDY_FLOW",
    "SYNONYMS",
    "TABLE4",
    "TABLE4_COLUMNS",
    "TABLE4_NOTE",
    "AccuracyResult",
    "CitedResult",
    "DatasetFact",
    "DatasetProfile",
    "FrameworkStage",
    "FusionStrategy",
    "PerClassResult",
    "Stated",
    "StudyFlowStage",
    "canonical_label",
    "cited_methods",
    "class_names",
    "compare_accuracy",
    "compare_per_class",
    "dataset_facts",
    "dataset_profiles",
    "f1_consistency",
    "fusion_taxonomy",
    "mean_recall",
    "per_class_table",
    "reference",
    "references",
    "short_citation",
    "stated",
    "stated_table",
    "study_flow",
    "table4",
]

CITATION = (
    "Kumar, H.; Aruldoss, M.; Wynn, M. Cross-Modal Attention Fusion: A Deep Learning and "
    "Affective Computing Model for Emotion Recognition. Multimodal Technol. Interact. 2025, 9, "
    "116."
)
DOI = "10.3390/mti9120116"

#: Dataset keys used throughout (the names of :mod:`cmaf.data.registry`).
DATASETS: tuple[str, ...] = ("ravdess", "crema-d", "iemocap")

#: Display names of the datasets, as the paper prints them.
DISPLAY_NAMES: dict[str, str] = {"ravdess": "RAVDESS", "crema-d": "CREMA-D", "iemocap": "IEMOCAP"}


# ================================================================================ Tables 1–3


@dataclass(frozen=True)
class PerClassResult:
    """One column of Tables 1–3 (the paper prints classes as columns), in percent."""

    dataset: str
    paper_label: str  # the class name exactly as the table prints it
    label: str  # our canonical lower-case label (cmaf.data loaders)
    precision: float
    recall: float
    f1: float
    source: str  # "Table 1", "Table 2" or "Table 3"


#: Paper class name -> canonical label, per dataset (Tables 1–3 use different wordings).
LABEL_MAPS: dict[str, dict[str, str]] = {
    "ravdess": {
        "Angry": "angry",
        "Calm": "calm",
        "Disgust": "disgust",
        "Fearful": "fearful",
        "Happy": "happy",
        "Neutral": "neutral",
        "Sad": "sad",
        "Surprise": "surprised",
    },
    "crema-d": {
        "Anger": "angry",
        "Disgust": "disgust",
        "Fear": "fearful",
        "Happy": "happy",
        "Neutral": "neutral",
        "Sad": "sad",
    },
    "iemocap": {
        "Anger": "angry",
        "Happiness": "happy",
        "Sadness": "sad",
        "Neutral": "neutral",
        "Excited": "excited",
        "Frustration": "frustrated",
        "Surprise": "surprised",
        "Fear": "fearful",
    },
}

# Transcribed row by row, exactly as printed (classes in the paper's column order).
_TABLES_1_3: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[float, ...]]]] = {
    "ravdess": (
        "Table 1",
        ("Angry", "Calm", "Disgust", "Fearful", "Happy", "Neutral", "Sad", "Surprise"),
        {
            "precision": (92.12, 92.8, 91.47, 93.2, 93.85, 91.47, 91.17, 93.6),
            "recall": (92.8, 93.91, 91.64, 91.06, 93.12, 93.5, 91.55, 91.55),
            "f1": (92.46, 93.35, 91.55, 92.12, 93.49, 92.47, 91.36, 92.56),
        },
    ),
    "crema-d": (
        "Table 2",
        ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad"),
        {
            "precision": (86.5, 88.8, 87.93, 87.39, 85.62, 85.62),
            "recall": (85.23, 88.46, 87.4, 87.83, 85.08, 88.88),
            "f1": (85.86, 88.63, 87.67, 87.61, 85.35, 87.22),
        },
    ),
    "iemocap": (
        "Table 3",
        ("Anger", "Happiness", "Sadness", "Neutral", "Excited", "Frustration", "Surprise", "Fear"),
        {
            "precision": (83.87, 84.22, 82.85, 83.14, 81.38, 85.87, 84.75, 82.62),
            "recall": (85.08, 82.42, 84.45, 84.64, 82.11, 82.89, 82.41, 83.94),
            "f1": (84.47, 83.31, 83.64, 83.88, 81.74, 84.36, 83.56, 83.27),
        },
    ),
}


def _build_per_class() -> tuple[PerClassResult, ...]:
    rows = []
    for dataset, (source, names, values) in _TABLES_1_3.items():
        for i, name in enumerate(names):
            rows.append(
                PerClassResult(
                    dataset=dataset,
                    paper_label=name,
                    label=LABEL_MAPS[dataset][name],
                    precision=values["precision"][i],
                    recall=values["recall"][i],
                    f1=values["f1"][i],
                    source=source,
                )
            )
    return tuple(rows)


#: Tables 1–3, one entry per (dataset, class).
PER_CLASS: tuple[PerClassResult, ...] = _build_per_class()


# ================================================================================ Table 4

#: Table 4's column names, verbatim.
TABLE4_COLUMNS: tuple[str, str, str] = ("Dataset", "Weighted Accuracy", "Unweighted Accuracy")

TABLE4_NOTE = (
    "Table 4 keeps the paper's column names. The text beside it (Section 3.2) defines "
    "'weighted accuracy' as averaging the accuracy of each class and 'unweighted accuracy' as "
    "correct predictions over all samples, the reverse of the speech-emotion literature, where "
    "WA = overall accuracy and UA = mean per-class recall. The 'Weighted Accuracy' column equals "
    "the accuracies of Tables 5-7, so it is overall accuracy (the literature's WA). The "
    "'Unweighted Accuracy' column matches neither definition: it is not the mean of the per-class "
    "recalls of Tables 1-3 (see mean_recall)."
)


@dataclass(frozen=True)
class AccuracyResult:
    """One row of Table 4, in percent, under the paper's own column names."""

    dataset: str
    weighted_accuracy: float  # column "Weighted Accuracy"
    unweighted_accuracy: float  # column "Unweighted Accuracy"
    source: str = "Table 4"


#: Table 4.
TABLE4: tuple[AccuracyResult, ...] = (
    AccuracyResult("ravdess", 92.46, 88.74),
    AccuracyResult("crema-d", 87.31, 84.27),
    AccuracyResult("iemocap", 83.22, 79.63),
)


# ================================================================================ Tables 5–7


@dataclass(frozen=True)
class CitedResult:
    """One row of Tables 5–7: a method the paper compares against, or its own model.

    ``source_ref`` is the number in the paper's reference list (``None`` for the paper's own
    "Proposed Model" row); ``cite`` is how the paper's text names the work.
    """

    dataset: str
    source_ref: int | None
    cite: str
    fusion: str
    accuracy: float
    remarks: str
    source: str

    @property
    def method(self) -> str:
        if self.source_ref is None:
            return "Proposed Model (Kumar et al. 2025)"
        return f"[{self.source_ref}] {self.cite}"


#: Tables 5 (RAVDESS), 6 (CREMA-D) and 7 (IEMOCAP), rows in the paper's order.
CITED: tuple[CitedResult, ...] = (
    CitedResult(
        "ravdess", 82, "Fu et al. 2021", "Self-attention", 75.76,
        "The analysis relies solely on one dataset", "Table 5",
    ),
    CitedResult(
        "ravdess", 83, "Luna-Jiménez et al. 2022", "Late fusion", 86.70,
        "The analysis relies solely on one dataset", "Table 5",
    ),
    CitedResult(
        "ravdess", 46, "Sultana et al. 2023", "Concatenation", 66.90,
        "Simple concatenation, high dimensionality", "Table 5",
    ),
    CitedResult(
        "ravdess", 45, "Mocanu et al. 2023", "Cross-Attention", 89.25,
        "Poor sensitivity to micro-expressions", "Table 5",
    ),
    CitedResult(
        "ravdess", 84, "Jin and Zai 2025", "Cross-Attention", 82.42,
        "Computationally expensive and performed on a single dataset", "Table 5",
    ),
    CitedResult(
        "ravdess", None, "Proposed Model", "Cross-modal attention", 92.46,
        "Reduces dimensionality while employing three established benchmarks", "Table 5",
    ),
    CitedResult(
        "crema-d", 48, "John and Kawanishi 2022", "Multi-branch attention", 72.45,
        "Speaker-dependent model", "Table 6",
    ),
    CitedResult(
        "crema-d", 45, "Mocanu et al. 2023", "Cross Attention", 84.57,
        "Poor sensitivity to micro-expressions", "Table 6",
    ),
    CitedResult(
        "crema-d", 47, "Goncalves et al. 2024", "Conformer encoder", 77.9,
        "Versatile learning model", "Table 6",
    ),
    CitedResult(
        "crema-d", None, "Proposed Model", "Cross-modal attention", 87.31,
        "Common temporal dynamics along with the GRU layer", "Table 6",
    ),
    CitedResult(
        "iemocap", 85, "Moorthy and Moon 2025", "Hybrid Multi-Attention Fusion", 75.39,
        "Parallel co-attention mechanism", "Table 7",
    ),
    CitedResult(
        "iemocap", None, "Proposed Model", "Cross-modal attention", 83.22,
        "Intra-modal temporal refinement", "Table 7",
    ),
)  # fmt: skip


# ================================================================================ Table A2


@dataclass(frozen=True)
class DatasetProfile:
    """One row of Table A2, verbatim."""

    dataset: str
    total_utterances: int
    modality: str
    emotion_labels: tuple[str, ...]
    source: str = "Table A2"


#: Table A2 (rows in the paper's order).
DATASET_PROFILES: tuple[DatasetProfile, ...] = (
    DatasetProfile(
        "iemocap",
        302,
        "Audio-Video",
        ("Neutral", "Calm", "Happy", "Sad", "Angry", "Fear", "Disgust", "Excited", "Surprised"),
    ),
    DatasetProfile(
        "ravdess",
        2857,
        "Audio-Video",
        ("Neutral", "Calm", "Happy", "Sad", "Angry", "Fear", "Disgust", "Surprise"),
    ),
    DatasetProfile(
        "crema-d",
        7442,
        "Audio-Video",
        ("Neutral", "Happy", "Sad", "Angry", "Fearful", "Disgust"),
    ),
)


# ================================================================================ stated values


@dataclass(frozen=True)
class Stated:
    """One number (or short value) the paper states in its text, with where."""

    key: str
    value: Any
    unit: str
    quote: str  # the paper's wording, shortened
    source: str


#: Values stated in the text that the replication notes check against each other.
STATED: tuple[Stated, ...] = (
    Stated("sample_rate", 16000, "Hz", "resampled to 16 kHz", "Appendix A.1"),
    Stated("clip_seconds", 3.0, "s", "each 3-s audio segment", "Appendix A.1"),
    Stated("clip_samples", 48000, "samples", "3-s audio segment (48,000 samples)", "Appendix A.1"),
    Stated("window_ms", 25.0, "ms", "a 25 ms analysis window", "Appendix A.1"),
    Stated("hop_ms", 10.0, "ms", "a 10 ms hop length", "Appendix A.1"),
    Stated("n_mels", 128, "bands", "128 Mel-frequency bands", "Appendix A.1"),
    Stated("mel_frames", 256, "frames", "over 256 time frames", "Appendix A.1"),
    Stated("video_fps", 60, "fps", "originally recorded at 60 frames per second", "Appendix A.2"),
    Stated("video_frames", 180, "frames", "comprising 180 frames", "Appendix A.2"),
    Stated(
        "resampled_frames", 90, "frames", "resampled to 90 representative frames", "Appendix A.2"
    ),
    Stated("image_size", 224, "px", "resized to 224 × 224 pixels", "Appendix A.2"),
    Stated("backbone_dim", 512, "", "a 512-dimensional feature vector per frame", "Appendix A.2"),
    Stated("latent_dim", 256, "", "a common embedding dimension of 256", "Appendix A.3"),
    Stated("attention_heads", 4, "heads", "4 attention heads", "Appendix A.3"),
    Stated("t_common", 60, "steps", "temporally aligned to 60 steps", "Appendix A.3"),
    Stated("audio_sequence", (60, 128), "", "feature embeddings of size 60 × 128", "Appendix A.4"),
    Stated(
        "visual_sequence",
        (90, 512),
        "",
        "a final visual feature sequence of 90 × 512",
        "Appendix A.4",
    ),
    Stated(
        "tucker_input",
        (60, 256, 256),
        "",
        "the input tensor of size 60 × 256 × 256",
        "Appendix A.4",
    ),
    Stated(
        "tucker_core",
        (30, 128, 128),
        "",
        "reduced to a compact representation of 30 × 128 × 128",
        "Appendix A.4, Appendix B",
    ),
    Stated("fbp_dim", 512, "", "a unified feature vector of dimension N × 512", "Appendix A.4"),
    Stated(
        "output_classes",
        7,
        "classes",
        "output of dimension N × 7, corresponding to the seven emotion categories",
        "Appendix A.4",
    ),
    Stated("batch_size", 128, "", "Batch size = 128", "Table A1"),
    Stated("epochs", (50, 100), "", "Epochs = 50–100", "Table A1"),
    Stated("learning_rate", (1e-4, 1e-3), "", "Learning rate = 0.0001 to 0.001", "Table A1"),
    Stated("optimizer", "Adam", "", "Optimizer = Adam", "Table A1"),
    Stated("dropout", 0.5, "", "Dropout_rate = 0.5", "Table A1"),
    Stated("weight_decay", 1e-4, "", "Weight_decay = 1 × 10−4", "Table A1"),
    Stated("split", "random 80:20", "", "Random 80:20 Split", "Table A1"),
    Stated(
        "ravdess_actors",
        24,
        "actors",
        "12 male and 12 female professionals (24 actors)",
        "Appendix C",
    ),
    Stated(
        "ravdess_samples_per_actor",
        60,
        "samples",
        "each contributing 60 unique samples",
        "Appendix C",
    ),
    Stated("ravdess_emotions", 8, "classes", "eight distinct emotion states", "Appendix C"),
    Stated("ravdess_utterances", 2857, "utterances", "Total Utterances 2857", "Table A2"),
    Stated("iemocap_utterances", 302, "utterances", "comprises 302 video utterances", "Appendix C"),
    Stated(
        "iemocap_labels",
        9,
        "classes",
        "annotated with nine distinct emotion categories",
        "Appendix C",
    ),
    Stated(
        "crema_d_recordings",
        7442,
        "recordings",
        "7442 recordings from 91 different actors",
        "Appendix C",
    ),
    Stated("crema_d_actors", 91, "actors", "from 91 different actors", "Appendix C"),
    Stated("crema_d_emotions", 6, "classes", "six core emotions", "Appendix C"),
    Stated("gpu", "NVIDIA GeForce RTX 3090", "", "an NVIDIA GeForce RTX 3090 GPU", "Appendix D"),
    Stated("framework", "PyTorch 1.13.0", "", "Pytorch 1.13.0", "Appendix D"),
)

_STATED_INDEX = {s.key: s for s in STATED}


# ================================================================================ dataset facts


@dataclass(frozen=True)
class DatasetFact:
    """A fact from a dataset's own description, *not* from the paper (for comparison)."""

    dataset: str
    key: str
    value: Any
    note: str
    source: str


#: What the datasets' own papers and distributions state (refs [38] Busso et al. 2008,
#: [39] Livingstone & Russo 2018, [40] Cao et al. 2014).
DATASET_FACTS: tuple[DatasetFact, ...] = (
    DatasetFact(
        "ravdess",
        "actors",
        24,
        "12 female, 12 male professional actors",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact(
        "ravdess",
        "speech_trials_per_actor",
        60,
        "8 emotions (neutral: normal intensity only) × 2 statements × 2 repetitions",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact(
        "ravdess",
        "speech_av_clips",
        1440,
        "24 actors × 60 speech trials, full audio-video (modality 01)",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact(
        "ravdess",
        "speech_video_files",
        2880,
        "the speech video zips: 1440 audio-video + 1440 video-only files",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact(
        "ravdess",
        "video_fps",
        29.97,
        "video at 29.97 fps, 1280 × 720",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact(
        "ravdess",
        "emotions",
        8,
        "neutral, calm, happy, sad, angry, fearful, surprise, disgust",
        "Livingstone & Russo 2018 [39]",
    ),
    DatasetFact("crema-d", "clips", 7442, "7442 clips of 91 actors", "Cao et al. 2014 [40]"),
    DatasetFact("crema-d", "actors", 91, "48 male, 43 female", "Cao et al. 2014 [40]"),
    DatasetFact(
        "crema-d",
        "emotions",
        6,
        "anger, disgust, fear, happy, neutral, sad",
        "Cao et al. 2014 [40]",
    ),
    DatasetFact(
        "iemocap",
        "sessions",
        5,
        "five dyadic sessions, one female and one male actor each",
        "Busso et al. 2008 [38]",
    ),
    DatasetFact(
        "iemocap",
        "utterances",
        10039,
        "about 12 h of audio-visual data in 10,039 utterances (turns)",
        "Busso et al. 2008 [38]",
    ),
    DatasetFact(
        "iemocap",
        "categorical_labels",
        9,
        "anger, happiness, excitement, sadness, frustration, fear, surprise, disgust, "
        "neutral (plus 'other')",
        "Busso et al. 2008 [38]",
    ),
)


# ================================================================================ review


@dataclass(frozen=True)
class StudyFlowStage:
    """One box of the narrative review's record flow (Section 2.1)."""

    stage: str
    count: int
    removed_reason: str  # why records were dropped on the way into this stage
    source: str = "Section 2.1"


#: Section 2.1: "A total of 178 records were identified, 28 duplicates were removed, 150 articles
#: were screened, and 92 full-text papers were examined. Of these, 68 studies met the inclusion
#: criteria". The paper gives no reason for the 150 -> 92 and 92 -> 68 drops beyond its
#: inclusion / exclusion criteria.
STUDY_FLOW: tuple[StudyFlowStage, ...] = (
    StudyFlowStage("Records identified", 178, ""),
    StudyFlowStage("Articles screened", 150, "duplicates removed"),
    StudyFlowStage("Full-text papers examined", 92, "excluded at screening (reasons not given)"),
    StudyFlowStage("Studies included", 68, "did not meet the inclusion criteria"),
)

#: The review's search frame (Section 2.1).
REVIEW_SEARCH: dict[str, Any] = {
    "databases": (
        "IEEE Xplore",
        "ACM Digital Library",
        "Scopus",
        "Web of Science",
        "SpringerLink",
        "ScienceDirect",
    ),
    "period": "2014–2025",
    "searched": "May–September 2025",
    "keywords": (
        "cross-modal fusion",
        "multimodal fusion",
        "audio–visual deep learning",
        "attention fusion",
        "low-rank fusion",
        "tensor fusion",
        "tensor decomposition",
        "bilinear pooling",
    ),
    "excluded": (
        "non-peer-reviewed works",
        "unimodal studies",
        "non-English papers",
        "studies without machine-learning-based fusion",
        "EEG / ECG studies",
    ),
    "source": "Section 2.1",
}

#: The two research questions (Section 1), verbatim.
RESEARCH_QUESTIONS: dict[str, str] = {
    "RQ1": (
        "To what extent do affective computing and recent advancements in deep learning improve "
        "cross-modal fusion for audio and image-based emotion recognition?"
    ),
    "RQ2": (
        "Can a new model be developed and validated to improve correlations between "
        "heterogeneous modalities (such as audio and visual data) to detect and interpret human "
        "emotional states?"
    ),
}


@dataclass(frozen=True)
class FusionStrategy:
    """One fusion strategy of Section 3.1's taxonomy, with the references the paper cites."""

    name: str
    refs: tuple[int, ...]
    level: str  # where in the pipeline the modalities meet
    description: str  # the paper's description, paraphrased; "" where it gives none
    source: str = "Section 3.1"


#: Section 3.1: "early fusion [18], late fusion [20], hybrid fusion [21], model-level fusion
#: [69], hierarchical fusion [70], rule-based decision-level fusion [71], and estimation-based
#: fusion [72]. These fusions are mainly subdivisions of Intra-modal fusion and Cross-modal
#: fusion [45]." Section 1 also cites [19] for early and [20] for late fusion.
FUSION_TAXONOMY: tuple[FusionStrategy, ...] = (
    FusionStrategy(
        "Early fusion", (18, 19, 73), "feature level",
        "combines features of the modalities at the initial stages into one feature set before "
        "learning; needs careful tuning against premature overfitting [73]",
    ),
    FusionStrategy(
        "Late fusion", (20, 74), "decision level",
        "processes each modality separately and merges their outputs at the decision level",
    ),
    FusionStrategy(
        "Hybrid fusion", (21, 75), "feature + decision level",
        "combines early and late fusion, integrating features at several stages",
    ),
    FusionStrategy(
        "Model-level fusion", (69,), "model level",
        "combines models trained on separate modalities by averaging their outputs, stacking "
        "or boosting",
    ),
    FusionStrategy(
        "Hierarchical fusion", (70, 76), "several levels of abstraction",
        "fuses data at various levels of abstraction in a multi-layered approach",
    ),
    FusionStrategy(
        "Rule-based decision-level fusion", (71,), "decision level (rules)",
        "",
    ),
    FusionStrategy(
        "Estimation-based fusion", (72,), "estimation",
        "",
    ),
)  # fmt: skip

#: The two families the taxonomy subdivides (Section 3.1, citing [45]); the paper does not say
#: which strategy belongs to which family.
FUSION_FAMILIES: dict[str, str] = {
    "Intra-modal fusion": "interactions within one modality (e.g. temporal refinement)",
    "Cross-modal fusion": "interactions between modalities (e.g. cross-attention [75, 77, 78])",
}


@dataclass(frozen=True)
class FrameworkStage:
    """One column of the conceptual framework (Figure 4), as Section 3.1 describes it.

    ``advances`` are (text, refs) pairs (Figure 4 shades them grey); ``limitations`` are
    (text, refs) pairs (Figure 4 marks them with "!").
    """

    title: str
    advances: tuple[tuple[str, tuple[int, ...]], ...]
    limitations: tuple[tuple[str, tuple[int, ...]], ...]
    source: str = "Section 3.1 (Figure 4)"


#: Figure 4 ("the evolution of fusion mechanisms for audio and video data from uni-modal to
#: cross-modal approaches") as its content is described in Section 3.1. Figure 4 itself is an
#: image; this is a reading of the text around it, not a transcription of the picture.
CONCEPTUAL_FRAMEWORK: tuple[FrameworkStage, ...] = (
    FrameworkStage(
        "Unimodal audio features",
        (
            ("time domain: zero-crossing rate, RMS energy, waveform shape", (50, 51)),
            ("frequency domain: spectral centroid, bandwidth, contrast, flatness, roll-off",
             (52, 53)),
            ("time-frequency: MFCC, chroma, Mel spectrogram, constant-Q", (54, 55, 56)),
            ("advanced: pitch and harmonics, formants, temporal modulation", (8, 58)),
        ),
        (
            ("time-domain features miss pitch contour, harmonics and formant shifts", (59,)),
            ("spectral features are costly for real-time use", ()),
        ),
    ),
    FrameworkStage(
        "Unimodal video features",
        (
            ("spatial features frame by frame with CNNs", (57, 60)),
            ("temporal features: optical flow or deep networks", (61, 62)),
            ("facial: FACS, handcrafted Gabor / SIFT / LBP features", (63, 66, 67, 68)),
        ),
        (
            ("high cost of processing many frames; temporal coherence", ()),
            ("handcrafted features generalise poorly and miss subtle expressions", ()),
        ),
    ),
    FrameworkStage(
        "Conventional fusion",
        (
            ("early, late, hybrid, model-level, hierarchical, rule-based and estimation-based "
             "fusion", (18, 20, 21, 69, 70, 71, 72)),
        ),
        (
            ("shallow architectures; struggle with noisy or incomplete modalities", ()),
            ("feature fusion: temporal misalignment, high dimensionality, overfitting", ()),
        ),
    ),
    FrameworkStage(
        "Cross-modal attention fusion",
        (
            ("cross-attention at feature level aligns and weights the modalities",
             (45, 75, 77, 78, 79)),
            ("tensor / bilinear fusion models all pairwise interactions", (30, 32, 37)),
        ),
        (
            ("transformer models need significant processing resources", (81,)),
            ("rely on large, balanced datasets", ()),
        ),
    ),
    FrameworkStage(
        "This paper (RQ2)",
        (
            ("cross-modal attention in both directions on time-aligned sequences", (78,)),
            ("Tucker decomposition of per-step outer products, then bilinear pooling",
             (31, 32)),
        ),
        (),
    ),
)  # fmt: skip


# ================================================================================ helpers


def _check_dataset(dataset: str) -> str:
    key = str(dataset).lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    return key


#: Wordings the paper uses for one emotion (Tables 1-3, Table A2) -> canonical label.
SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "calm": "calm",
    "disgust": "disgust",
    "excited": "excited",
    "fear": "fearful",
    "fearful": "fearful",
    "frustration": "frustrated",
    "frustrated": "frustrated",
    "happiness": "happy",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprised",
    "surprised": "surprised",
}


def canonical_label(word: str) -> str:
    """Our canonical label for one of the paper's emotion words (``"Anger"`` -> ``"angry"``)."""
    key = word.strip().lower()
    if key not in SYNONYMS:
        raise KeyError(f"no canonical label for {word!r}")
    return SYNONYMS[key]


def class_names(dataset: str) -> list[str]:
    """Our canonical labels of Tables 1–3's classes for ``dataset``, in the paper's order."""
    key = _check_dataset(dataset)
    return [r.label for r in PER_CLASS if r.dataset == key]


def per_class_table(dataset: str):
    """Table 1, 2 or 3 as a DataFrame: one row per class (the paper prints the transpose).

    Index: canonical label. Columns: ``paper_label``, ``precision``, ``recall``, ``f1`` (percent,
    as printed) and ``source``.
    """
    import pandas as pd

    key = _check_dataset(dataset)
    rows = [r for r in PER_CLASS if r.dataset == key]
    frame = pd.DataFrame(
        {
            "paper_label": [r.paper_label for r in rows],
            "precision": [r.precision for r in rows],
            "recall": [r.recall for r in rows],
            "f1": [r.f1 for r in rows],
            "source": [r.source for r in rows],
        },
        index=pd.Index([r.label for r in rows], name="label"),
    )
    return frame


def mean_recall(dataset: str) -> float:
    """Mean of the per-class recalls of Table 1, 2 or 3 (percent): UA as the literature defines it.

    Computed from the table, so a reader can compare it with Table 4's columns.
    """
    key = _check_dataset(dataset)
    values = [r.recall for r in PER_CLASS if r.dataset == key]
    return sum(values) / len(values)


def f1_consistency(tolerance: float = 0.011):
    """Check Tables 1–3: is each printed F1 the harmonic mean of its printed P and R?

    Returns a DataFrame with one row per (dataset, class): the printed F1, ``2PR / (P + R)``
    from the printed P and R, their difference and ``consistent`` (``|difference| <=
    tolerance``; the default allows the two-decimal rounding of P, R and F1).
    """
    import pandas as pd

    rows = []
    for r in PER_CLASS:
        harmonic = 2 * r.precision * r.recall / (r.precision + r.recall)
        rows.append(
            {
                "dataset": r.dataset,
                "label": r.label,
                "source": r.source,
                "f1_printed": r.f1,
                "f1_from_p_r": harmonic,
                "difference": r.f1 - harmonic,
                "consistent": abs(r.f1 - harmonic) <= tolerance,
            }
        )
    return pd.DataFrame(rows)


def table4():
    """Table 4 as a DataFrame, the paper's column names verbatim, plus ``source``.

    Also adds ``mean recall (Tables 1-3)``: the mean per-class recall computed from Tables
    1–3, i.e. what UA would be under the literature's definition (see :data:`TABLE4_NOTE`).
    """
    import pandas as pd

    first, wa, ua = TABLE4_COLUMNS
    return pd.DataFrame(
        {
            first: [DISPLAY_NAMES[r.dataset] for r in TABLE4],
            wa: [r.weighted_accuracy for r in TABLE4],
            ua: [r.unweighted_accuracy for r in TABLE4],
            "mean recall (Tables 1-3)": [mean_recall(r.dataset) for r in TABLE4],
            "source": [r.source for r in TABLE4],
        },
        index=pd.Index([r.dataset for r in TABLE4], name="dataset"),
    )


def cited_methods(dataset: str | None = None):
    """Tables 5–7 (all, or one dataset's) as a DataFrame.

    Columns: ``dataset``, ``source_ref`` (reference number, ``<NA>`` for the paper's own row),
    ``method``, ``fusion``, ``accuracy`` (percent), ``remarks``, ``source``.
    """
    import pandas as pd

    rows = CITED if dataset is None else [c for c in CITED if c.dataset == _check_dataset(dataset)]
    frame = pd.DataFrame(
        {
            "dataset": [c.dataset for c in rows],
            "source_ref": pd.array([c.source_ref for c in rows], dtype="Int64"),
            "method": [c.method for c in rows],
            "fusion": [c.fusion for c in rows],
            "accuracy": [c.accuracy for c in rows],
            "remarks": [c.remarks for c in rows],
            "source": [c.source for c in rows],
        }
    )
    return frame


def dataset_profiles():
    """Table A2 as a DataFrame (labels joined by ", "), with ``n_labels`` counted."""
    import pandas as pd

    return pd.DataFrame(
        {
            "Dataset": [DISPLAY_NAMES[p.dataset] for p in DATASET_PROFILES],
            "Total Utterances": [p.total_utterances for p in DATASET_PROFILES],
            "Modality": [p.modality for p in DATASET_PROFILES],
            "Emotion Labels": [", ".join(p.emotion_labels) for p in DATASET_PROFILES],
            "n_labels": [len(p.emotion_labels) for p in DATASET_PROFILES],
            "source": [p.source for p in DATASET_PROFILES],
        },
        index=pd.Index([p.dataset for p in DATASET_PROFILES], name="dataset"),
    )


def dataset_facts(dataset: str | None = None):
    """:data:`DATASET_FACTS` (the datasets' own descriptions) as a DataFrame."""
    import pandas as pd

    rows = [f for f in DATASET_FACTS if dataset is None or f.dataset == _check_dataset(dataset)]
    frame = pd.DataFrame(
        [
            {
                "dataset": f.dataset,
                "key": f.key,
                "value": f.value,
                "note": f.note,
                "source": f.source,
            }
            for f in rows
        ]
    )
    frame["value"] = pd.Series([f.value for f in rows], dtype=object)
    return frame


def stated(key: str) -> Any:
    """The value of one :data:`STATED` entry, e.g. ``stated("hop_ms") == 10.0``."""
    if key not in _STATED_INDEX:
        raise KeyError(f"no stated value {key!r}; known: {', '.join(_STATED_INDEX)}")
    return _STATED_INDEX[key].value


def stated_table(keys: Iterable[str] | None = None):
    """:data:`STATED` (or the given keys, in that order) as a DataFrame."""
    import pandas as pd

    items = STATED if keys is None else [_STATED_INDEX[k] for k in keys]
    frame = pd.DataFrame(
        [
            {
                "key": s.key,
                "value": s.value,
                "unit": s.unit,
                "paper says": s.quote,
                "source": s.source,
            }
            for s in items
        ]
    )
    frame["value"] = pd.Series([s.value for s in items], dtype=object)
    return frame.set_index("key")


def study_flow():
    """Section 2.1's record counts as a DataFrame, with the drop between stages computed."""
    import pandas as pd

    counts = [s.count for s in STUDY_FLOW]
    removed = [None, *(a - b for a, b in itertools.pairwise(counts))]
    return pd.DataFrame(
        {
            "stage": [s.stage for s in STUDY_FLOW],
            "count": counts,
            "removed": pd.array(removed, dtype="Int64"),
            "why": [s.removed_reason for s in STUDY_FLOW],
            "source": [s.source for s in STUDY_FLOW],
        }
    )


def fusion_taxonomy():
    """Section 3.1's fusion strategies as a DataFrame (name, level, refs, description)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "strategy": [f.name for f in FUSION_TAXONOMY],
            "level": [f.level for f in FUSION_TAXONOMY],
            "references": [", ".join(f"[{n}]" for n in f.refs) for f in FUSION_TAXONOMY],
            "description": [f.description or "(named only)" for f in FUSION_TAXONOMY],
            "source": [f.source for f in FUSION_TAXONOMY],
        }
    )


def reference(number: int) -> str:
    """Entry ``number`` of the paper's reference list, as ``"[n] text"``."""
    if number not in REFERENCES:
        raise KeyError(f"the paper has no reference [{number}] (1..{len(REFERENCES)})")
    return f"[{number}] {REFERENCES[number]}"


def references(numbers: Iterable[int]) -> list[str]:
    """Sorted, de-duplicated :func:`reference` strings for ``numbers``."""
    return [reference(n) for n in sorted(set(int(n) for n in numbers))]


def short_citation(number: int) -> str:
    """``"Surname et al. YEAR"`` (or ``"A and B YEAR"``) from the paper's reference list."""
    text = REFERENCES[number]
    # Authors are "Surname, I.I.;" separated; the list ends at the first ". " followed by a
    # capitalised word that is not an initial.
    match = re.match(r"^(.*?[A-Z]\.)\s(?=[A-Z0-9\"'‘“][^.])", text)
    authors = match.group(1) if match else text.split(".")[0]
    names = [a.strip().split(",")[0].strip() for a in authors.split(";") if a.strip()]
    year = re.search(r"\b(19|20)\d\d\b", text[len(authors) :])
    year_text = year.group(0) if year else ""
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {year_text}".strip()


# ================================================================================ comparisons


def _pct(value: float | None) -> float:
    return math.nan if value is None else 100.0 * float(value)


def compare_per_class(
    summary: Mapping[str, Any], dataset: str, metrics: Sequence[str] = ("precision", "recall", "f1")
):
    """A replication's per-class mean ± std beside Table 1, 2 or 3, with the differences.

    Parameters
    ----------
    summary
        The output of :func:`cmaf.evaluation.runs.aggregate_runs` (``mean_std`` holds
        ``"f1/<label>": [mean, std]`` as fractions) for runs on ``dataset``'s classes.
    dataset
        Which of the paper's tables to compare with.
    metrics
        Any of ``precision``, ``recall``, ``f1``.

    Returns
    -------
    pandas.DataFrame
        One row per class of the paper's table (its order; classes our runs lack give NaN),
        columns for each metric: ``<m> ours`` (text ``mean ± std``), ``<m> mean``, ``<m> std``,
        ``<m> paper`` and ``<m> Δ`` (ours − paper), all in percent.
    """
    import pandas as pd

    from cmaf.evaluation.metrics import format_mean_std

    paper = per_class_table(dataset)
    stats = summary.get("mean_std", summary)
    out = pd.DataFrame(index=paper.index.copy())
    out.insert(0, "paper_label", paper["paper_label"])
    for metric in metrics:
        if metric not in ("precision", "recall", "f1"):
            raise ValueError(f"metric {metric!r}: use precision, recall or f1")
        means, stds, texts = [], [], []
        for label in paper.index:
            pair = stats.get(f"{metric}/{label}")
            if pair is None:
                means.append(math.nan)
                stds.append(math.nan)
                texts.append("—")
            else:
                means.append(_pct(pair[0]))
                stds.append(_pct(pair[1]))
                texts.append(format_mean_std(pair[0], pair[1]))
        out[f"{metric} ours"] = texts
        out[f"{metric} mean"] = means
        out[f"{metric} std"] = stds
        out[f"{metric} paper"] = paper[metric]
        out[f"{metric} Δ"] = out[f"{metric} mean"] - paper[metric]
    return out


def compare_accuracy(
    summary: Mapping[str, Any],
    dataset: str,
    intervals: Sequence[Mapping[str, Sequence[float]]] = (),
):
    """A replication's WA and UA (mean ± std over runs) beside Table 4.

    Our WA (overall accuracy) sits beside the paper's "Weighted Accuracy" column, which equals
    the accuracies of Tables 5–7; our UA (mean per-class recall) beside its "Unweighted
    Accuracy" column and beside the mean recall computed from Tables 1–3 (see
    :data:`TABLE4_NOTE`).

    Parameters
    ----------
    summary
        :func:`cmaf.evaluation.runs.aggregate_runs` output.
    dataset
        Which row of Table 4.
    intervals
        The ``ci95`` dict of each run's ``metrics.json`` (optional); their ``accuracy`` and
        ``ua`` intervals are listed per run, in percent.

    Returns
    -------
    pandas.DataFrame
        Rows ``WA`` and ``UA``; columns ``ours`` (text), ``mean``, ``std``, ``95% CI per run``,
        ``paper column``, ``paper``, ``Δ`` (ours − paper) and ``mean recall (Tables 1-3)``.
    """
    import pandas as pd

    from cmaf.evaluation.metrics import format_mean_std

    key = _check_dataset(dataset)
    row = next(r for r in TABLE4 if r.dataset == key)
    stats = summary.get("mean_std", summary)
    records = []
    for name, metric, column, paper_value in (
        ("WA", "accuracy", TABLE4_COLUMNS[1], row.weighted_accuracy),
        ("UA", "ua", TABLE4_COLUMNS[2], row.unweighted_accuracy),
    ):
        mean, std = stats[metric]
        cis = "; ".join(
            f"[{100 * ci[metric][0]:.1f}, {100 * ci[metric][1]:.1f}]"
            for ci in intervals
            if metric in ci
        )
        records.append(
            {
                "metric": name,
                "ours": format_mean_std(mean, std),
                "mean": _pct(mean),
                "std": _pct(std),
                "95% CI per run": cis or "—",
                "paper column": column,
                "paper": paper_value,
                "Δ": _pct(mean) - paper_value,
                "mean recall (Tables 1-3)": mean_recall(key) if name == "UA" else math.nan,
            }
        )
    return pd.DataFrame(records).set_index("metric")


# ================================================================================ references

#: The paper's reference list, numbered as in the paper (transcribed; links dropped).
REFERENCES: dict[int, str] = {
    1: (
        "Cohn, J.F.; Ambadar, Z.; Ekman, P. Observer-based measurement of facial expression with "
        "the Facial Action Coding System. In Handbook of Emotion Elicitation and Assessment; Coan,"
        " J.A., Allen, J.J.B., Eds.; Oxford University Press: Oxford, UK, 2007; pp. 203–221."
    ),
    2: (
        "Avital, N.; Egel, I.; Weinstock, I.; Malka, D. Enhancing Real-Time Emotion Recognition in"
        " Classroom Environments Using Convolutional Neural Networks: A Step Towards Optical "
        "Neural Networks for Advanced Data Processing. Inventions 2024, 9, 113."
    ),
    3: (
        "Kalateh, S.; Estrada-Jimenez, L.A.; Nikghadam-Hojjati, S.; Barata, J. A Systematic Review"
        " on Multimodal Emotion Recognition: Building Blocks, Current State, Applications, and "
        "Challenges. IEEE Access 2024, 12, 103976–104019."
    ),
    4: (
        "Hu, P.; Huang, Y.; Mei, J.; Leung, H.; Chen, Z.; Kuang, Z.; You, Z.; Hu, L. Learning from"
        " low-rank multimodal representations for predicting disease-drug associations. BMC Med. "
        "Inf. Decis. Mak. 2021, 21, 308."
    ),
    5: (
        "DeVault, D.; Artstein, R.; Benn, G.; Dey, T.; Fast, E.; Gainer, A.; Georgila, K.; Gratch,"
        " J.; Hartholt, A.; Lhommet, M.; et al. SimSensei kiosk: A virtual human interviewer for "
        "healthcare decision support. In Proceedings of the 2014 International Conference on "
        "Autonomous Agents and Multi-Agent Systems, Paris, France, 5–9 May 2014; Volume 2, pp. "
        "1061–1068."
    ),
    6: (
        "Khan, W.A.; Qudous, H.; Farhan, A.A. Speech emotion recognition using feature fusion: A "
        "hybrid approach to deep learning. Multimed. Tools Appl. 2024, 83, 75557–75584."
    ),
    7: (
        "Zhou, F.; Kong, S.; Fowlkes, C.C.; Chen, T.; Lei, B. Fine-grained facial expression "
        "analysis using dimensional emotion model. Neurocomputing 2020, 392, 38–49."
    ),
    8: (
        "Kuchibhotla, S.; Yalamanchili, B.S.; Vankayalapati, H.D.; Anne, K.R. Speech Emotion "
        "Recognition Using Regularized Discriminant Analysis. Adv. Intell. Syst. Comput. 2014, "
        "247, 363–369."
    ),
    9: (
        "Ortega, J.D.S.; Cardinal, P.; Koerich, A. Emotion recognition using fusion of audio and "
        "video features. In Proceedings of the 2019 IEEE International Conference on Systems, Man "
        "and Cybernetics (SMC), Bari, Italy, 6–9 October 2019; pp. 3847–3852."
    ),
    10: (
        "Raj, R.S.; Pratiba, D.; Kumar, R.P. Facial Expression Recognition using Facial Landmarks:"
        " A novel approach. Adv. Sci. Technol. Eng. Syst. 2020, 5, 24–28."
    ),
    11: (
        "Ristea, N.C.; Dutu, L.C.; Radoi, A. Emotion recognition system from speech and visual "
        "information based on convolutional neural networks. In Proceedings of the 2019 "
        "International Conference on Speech Technology and Human-Computer Dialogue (SpeD), "
        "Timisoara, Romania, 10–12 October 2019; pp. 1–6."
    ),
    12: (
        "Chaudhari, A.; Bhatt, C.; Nguyen, T.T.; Patel, N.; Chavda, K.; Sarda, K. Emotion "
        "Recognition System via Facial Expressions and Speech Using Machine Learning and Deep "
        "Learning Techniques. SN Comput. Sci. 2023, 4, 363."
    ),
    13: (
        "Rangulov, D.; Fahim, M. Emotion Recognition on large video dataset based on Convolutional"
        " Feature Extractor and Recurrent Neural Network. In Proceedings of the International "
        "Conference on Image Processing, Applications and Systems, IPAS, Genoa, Italy, 9–11 "
        "December 2020; pp. 14–20."
    ),
    14: (
        "Tholusuri, A.; Anumala, M.; Malapolu, B.; Jaya Lakshmi, G. Sentiment analysis using LSTM."
        " Int. J. Eng. Adv. Technol. 2019, 8, 1338–1340."
    ),
    15: (
        "Liu, K.; Feng, Y.; Zhang, L.; Wang, R.; Wang, W.; Yuan, X.; Cui, X.; Li, X.; Li, H. An "
        "Effective Personality-Based Model for Short Text Sentiment Classification Using BiLSTM "
        "and Self-Attention. Electron 2023, 12, 3274."
    ),
    16: (
        "Pan, X.; Guo, W.; Guo, X.; Li, W.; Xu, J.; Wu, J. Deep temporal-spatial aggregation for "
        "video-based facial expression recognition. Symmetry 2019, 11, 52."
    ),
    17: (
        "Sanku, S.R.; Sandhya, B. Multi-Modal Emotion Recognition Feature Extraction and Data "
        "Fusion Methods Evaluation. Int. J. Innov. Technol. Explor. Eng. 2024, 3075, 18–27."
    ),
    18: (
        "Zhang, K.; Li, Y.; Wang, J.; Wang, Z.; Li, X. Feature fusion for multimodal emotion "
        "recognition based on deep canonical correlation analysis. IEEE Signal Process. Lett. "
        "2021, 28, 1898–1902."
    ),
    19: (
        "Hazarika, D.; Gorantla, S.; Poria, S.; Zimmermann, R. Self-Attentive Feature-level Fusion"
        " for Multimodal Emotion Detection. In Proceedings of the 2018 IEEE Conference on "
        "multimedia information processing and retrieval (MIPR), Miami, FL, USA, 10–12 April 2018;"
        " pp. 196–201."
    ),
    20: (
        "Dixit, C.; Satapathy, S.M. Deep CNN with late fusion for real time multimodal emotion "
        "recognition. Expert Syst. Appl. 2024, 240, 122579."
    ),
    21: (
        "Kumar, P.; Malik, S.; Raman, B. Interpretable multimodal emotion recognition using hybrid"
        " fusion of speech and image data. Multimed Tools Appl. 2024, 83, 28373–28394."
    ),
    22: "Gill, J.; Johnson, P. Research Methods for Managers, 3rd ed.; Sage: London, UK, 2002.",
    23: (
        "Porter, A.L.; Kongthon, A.; Lu, J.C. Research Profiling: Improving the Literature Review."
        " Scientometrics 2002, 53, 351–370."
    ),
    24: (
        "Popay, J.; Roberts, H.; Sowden, A.; Petticrew, M.; Arai, L.; Rodgers, M. Guidance on the "
        "Conduct of Narrative Synthesis in Systematic Reviews; Lancaster University: Lancaster, "
        "UK, 2006."
    ),
    25: (
        "Arksey, H.; O’Malley, L. Scoping studies: Towards a methodological framework. Int. J. "
        "Soc. Res. Methodol. 2005, 8, 19–32."
    ),
    26: (
        "Snyder, H. Literature review as a research methodology: An overview and guidelines. J. "
        "Bus. Res. 2019, 104, 333–339."
    ),
    27: "Levering, B. Concept Analysis as Empirical Method. Int. J. Qual. Methods 2002, 1, 35–48.",
    28: (
        "Jabareen, Y. Building a Conceptual Framework: Philosophy, Definitions, and Procedure. "
        "Int. J. Qual. Methods 2009, 8, 49–62."
    ),
    29: (
        "Indeed Editorial Team. Experimental Research: Definition, Types and Examples. 2024. "
        "Available online: "
        "https://www.indeed.com/career-advice/career-development/experimental-research (accessed "
        "on 10 October 2025)."
    ),
    30: (
        "Zadeh, A.; Chen, M.; Cambria, E.; Poria, S.; Morency, L.P. Tensor fusion network for "
        "multimodal sentiment analysis. In Proceedings of the 2017 Conference on Empirical Methods"
        " in Natural Language Processing, Copenhagen, Denmark, 7–11 September 2017; pp. 1103–1114."
    ),
    31: (
        "Tucker, L.R. Some mathematical notes on three-mode factor analysis. Psychometrika 1966, "
        "31, 279–311."
    ),
    32: (
        "Ben-younes, H.; Cord, M.; Thome, N. MUTAN: Multimodal Tucker Fusion for Visual Question "
        "Answering. In Proceedings of the IEEE International Conference on Computer Vision (ICCV),"
        " Venice, Italy, 22–29 October 2017; pp. 2612–2620."
    ),
    33: (
        "Mai, S.; Hu, H.; Xing, S. Modality to Modality Translation: An Adversarial Representation"
        " Learning and Graph Fusion Network for Multimodal Fusion. In Proceedings of the AAAI "
        "Conference on Artificial Intelligence, New York, NY, USA, 7–12 February 2020; Volume 34, "
        "pp. 164–172."
    ),
    34: (
        "He, K.; Zhang, X.; Ren, S.; Sun, J. Deep residual learning for image recognition. In "
        "Proceedings of the IEEE Computer Society Conference on Computer Vision and Pattern "
        "Recognition, Las Vegas, NV, USA, 27–30 June 2016; pp. 770–778."
    ),
    35: (
        "Deng, J.; Dong, W.; Socher, R.; Li, L.; Li, K.; Fei-fei, L. ImageNet: A Large-Scale "
        "Hierarchical Image Database. In Proceedings of the IEEE Conference on Computer Vision and"
        " Pattern Recognition, Miami, FL, USA, 20–25 June 2009; pp. 248–255."
    ),
    36: (
        "Wang, R.; Zhu, J.; Wang, S.; Wang, T.; Huang, J.; Zhu, X. Multi-modal emotion recognition"
        " using tensor decomposition fusion and self-supervised multi-tasking. Int. J. Multimed. "
        "Inf. Retr. 2024, 13, 39."
    ),
    37: (
        "Ben-younes, H.; Cadene, R.; Thome, N.; Cord, M. BLOCK: Bilinear Superdiagonal Fusion for "
        "Visual Question Answering and Visual Relationship Detection. In Proceedings of the Third "
        "AAAI Conference on Artificial Intelligence, Washington, DC, USA, 22–26 August 2019; pp. "
        "8102–8109."
    ),
    38: (
        "Busso, C.; Bulut, M.; Lee, C.C.; Kazemzadeh, A.; Mower, E.; Kim, S.; Chang, J.; Lee, S.; "
        "Narayanan, S. IEMOCAP: Interactive emotional dyadic motion capture database. Lang. "
        "Resour. Eval. 2008, 42, 335–359."
    ),
    39: (
        "Livingstone, S.R.; Russo, F.A. The Ryerson Audio-Visual Database of Emotional Speech and "
        "Song (RAVDESS): A dynamic, multimodal set of facial and vocal expressions in North "
        "American English. PLoS ONE 2018, 13, e0196391."
    ),
    40: (
        "Houwei, C.; Cooper, D.; Keutmann, M.; Gur, R.; Nenkova, A.; Ragini, V. CREMA-D: "
        "Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Trans. Affect. Comput. 2014, 5, "
        "377–390."
    ),
    41: (
        "Murugappan, M.; Mutawa, A. Facial geometric feature extraction based emotional expression"
        " classification using machine learning algorithms. PLoS ONE 2021, 16, e0247131."
    ),
    42: (
        "Roopa, N.S.; Prabhakaran, M.; Betty, P. Speech emotion recognition using deep learning. "
        "Int. J. Recent Technol. Eng. 2019, 7, 247–250."
    ),
    43: (
        "Akhand, M.A.H.; Roy, S.; Siddique, N.; Kamal, M.A.S.; Shimamura, T. Facial emotion "
        "recognition using transfer learning in the deep CNN. Electronics 2021, 10, 1036."
    ),
    44: (
        "Liu, G.; Cai, S.; Wang, C. Speech emotion recognition based on emotion perception. "
        "Eurasip J. Audio Speech Music. Process. 2023, 1, 22."
    ),
    45: (
        "Mocanu, B.; Tapu, R.; Zaharia, T. Multimodal emotion recognition using cross modal "
        "audio-video fusion with attention and deep metric learning. Image Vis. Comput. 2023, 133,"
        " 104676."
    ),
    46: (
        "Sultana, T.; Jahan, M.; Uddin, K.; Kobayashi, Y.; Smieee, M.H. Multimodal Emotion "
        "Recognition through Deep Fusion of Audio-Visual Data. In Proceedings of the 26th "
        "International Conference on Computer and Information Technology (ICCIT), Cox’s Bazar, "
        "Bangladesh, 13–15 December 2023; IEEE: Bissen, Luxembourg, 2023; pp. 1–5."
    ),
    47: (
        "Goncalves, L.; Leem, S.G.; Lin, W.C.; Sisman, B.; Busso, C. Versatile Audio-Visual "
        "Learning for Emotion Recognition. IEEE Trans. Affect. Comput. 2024, 16, 306–318."
    ),
    48: (
        "John, V.; Kawanishi, Y. Audio and Video-based Emotion Recognition using Multimodal "
        "Transformers. In Proceedings of the International Conference on Pattern Recognition "
        "(ICPR), Montreal, QC, Canada, 21–25 August 2022; pp. 2582–2588."
    ),
    49: (
        "Singh, N.; Khan, R.; Shree, R. MFCC and Prosodic Feature Extraction Techniques: A "
        "Comparative Study. Int. J. Comput. Appl. 2012, 54, 9–13."
    ),
    50: (
        "Aouani, H.; Ayed, Y.B. Speech Emotion Recognition with deep learning. In Proceedings of "
        "the 24th International Conference on Knowledge-Based and Intelligent Information & "
        "Engineering Speech Emotion Recognition with Deep Learning Systems, Verona, Italy, 16–18 "
        "September 2020; Elsevier: Amsterdam, The Netherlands, 2020; pp. 251–260."
    ),
    51: (
        "Sharma, G.; Umapathy, K.; Krishnan, S. Trends in audio signal feature extraction methods."
        " Appl. Acoust. 2020, 158, 20."
    ),
    52: (
        "Mehrish, A.; Majumder, N.; Bharadwaj, R.; Mihalcea, R.; Poria, S. A review of deep "
        "learning techniques for speech processing. Inf. Fusion 2023, 99, 101869."
    ),
    53: (
        "Lim, W.; Jang, D.; Lee, T. Speech Emotion Recognition using Convolutional Recurrent "
        "Neural Networks and Spectrograms. In Proceedings of the Asia-Pacific Signal and "
        "Information Processing Association Annual Summit and Conference (APSIPA), Jeju, Republic "
        "of Korea, 13–16 December 2016; IEEE: Bissen, Luxembourg, 2016; pp. 1–5."
    ),
    54: (
        "Li, C.; Bao, Z.; Li, L.; Zhao, Z. Exploring temporal representations by leveraging "
        "attention-based bidirectional LSTM-RNNs for multi-modal emotion recognition. Inf. Process"
        " Manag. 2020, 57, 102185."
    ),
    55: (
        "Venkateswarlu, S.C.; Jeevakala, S.R.; Kumar, N.U.; Munaswamy, P.; Pendyala, D. Emotion "
        "Recognition From Speech and Text using Long Short-Term Memory. Eng. Technol. Appl. Sci. "
        "Res. 2023, 13, 11166–11169."
    ),
    56: (
        "Shaikh, M.B.; Chai, D.; Islam, S.M.S.; Akhtar, N. Multimodal fusion for audio-image and "
        "video action recognition. Neural. Comput. Appl. 2024, 5, 5499–5513."
    ),
    57: (
        "Palash, M.; Bhargava, B. EMERSK-Explainable Multimodal Emotion Recognition with "
        "Situational Knowledge. IEEE Trans. Multimed. 2023, 26, 2785–2794."
    ),
    58: (
        "Zhang, S.; Tao, X.; Chuang, Y.; Zhao, X. Learning deep multimodal affective features for "
        "spontaneous speech emotion recognition. Speech Commun. 2021, 127, 73–81."
    ),
    59: (
        "Lakshmi, K.L.; Muthulakshmi, P.; Nithya, A.A.; Jeyavathana, R.B.; Usharani, R.; Das, "
        "N.S.; Devi, G.N.R. Recognition of emotions in speech using deep CNN and RESNET. Soft. "
        "Comput. 2023, 1–16."
    ),
    60: (
        "Udeh, C.P.; Chen, L.; Du, S.; Li, M.; Wu, M. Multimodal Facial Emotion Recognition Using "
        "Improved Convolution Neural Networks Model. J. Adv. Comput. Intell. Intell. Inform. 2023,"
        " 27, 710–719."
    ),
    61: (
        "Patil, G.; Suja, P. Emotion Recognition from 3D Videos using Optical Flow Method. In "
        "Proceedings of the International Conference on Smart Technology for Smart Nation, "
        "(SmartTechCon), Bangalore, India, 17–19 August 2017; IEEE: Bissen, Luxembourg, 2017; pp. "
        "825–829."
    ),
    62: (
        "Kumari, N.; Bhatia, R. Deep learning based efficient emotion recognition technique for "
        "facial images. Int. J. Syst. Assur. Eng. Manag. 2023, 14, 1421–1436."
    ),
    63: (
        "Alkawaz, M.H.; Mohamad, D.; Basori, A.H.; Saba, T. Blend Shape Interpolation and FACS for"
        " Realistic Avatar. 3D Res. 2015, 6, 6."
    ),
    64: (
        "Cho, J.; Hwang, H. Spatio-temporal representation of an electoencephalogram for emotion "
        "recognition using a three-dimensional convolutional neural network. Sensors 2020, 20, "
        "3491."
    ),
    65: (
        "Adegun, I.P.; Vadapalli, H.B. Facial micro-expression recognition: A machine learning "
        "approach. Sci. Afr. 2020, 8, 14."
    ),
    66: (
        "Mehta, N.; Jadhav, S. Facial Emotion recognition using Log Gabor filter and PCA Ms Neelum"
        " Mehta. In Proceedings of the International Conference on Computing Communication Control"
        " and Automation (ICCUBEA), Pune, India, 12–13 August 2016; IEEE: Bissen, Luxembourg, "
        "2016; pp. 1–5."
    ),
    67: (
        "Shi, Y.; Lv, Z.; Bi, N.; Zhang, C. An improved SIFT algorithm for robust emotion "
        "recognition under various face poses and illuminations. Neural. Comput. Appl. 2020, 32, "
        "9267–9281."
    ),
    68: (
        "Lakshmi, D.; Ponnusamy, R. Facial emotion recognition using modified HOG and LBP features"
        " with deep stacked autoencoders. Microprocess. Microsyst. 2021, 82, 103834."
    ),
    69: (
        "Schoneveld, L.; Othmani, A.; Abdelkawy, H. Leveraging recent advances in deep learning "
        "for audio-Visual emotion recognition. Pattern Recognit. Lett. 2021, 146, 1–7."
    ),
    70: (
        "Yu, C.; Zhao, X.; Zheng, Q.; Zhang, P.; You, X. Hierarchical Bilinear Pooling for "
        "Fine-Grained Visual Recognition. In Proceedings of the 15th European Conference on "
        "computer vision (ECCV), Munich, Germany, 8–14 September 2018; Volume 11220, pp. 595–610."
    ),
    71: (
        "Sahoo, S.; Routray, A. Emotion recognition from audio-visual data using rule based "
        "decision level fusion. In Proceedings of the IEEE Students’ Technol Symp TechSym 2016, "
        "Kharagpur, India, 2 October 2016; pp. 7–12."
    ),
    72: (
        "Shoumy, N.J.; Ang, L.M.; Seng, K.P.; Rahaman, D.M.M.; Zia, T. Multimodal big data "
        "affective analytics: A comprehensive survey using text, audio, visual and physiological "
        "signals. J. Netw. Comput. Appl. 2020, 149, 102447."
    ),
    73: (
        "Ortega, J.D.S.; Senoussaoui, M.; Granger, E.; Pedersoli, M.; Cardinal, P.; Koerich, A.L. "
        "Multimodal Fusion with Deep Neural Networks for Audio-Video Emotion Recognition. arXiv "
        "2019, arXiv:190703196."
    ),
    74: (
        "Njoku, J.N.; Caliwag, A.C.; Lim, W.; Kim, S.; Hwang, H.J.; Jeong, J.W. Deep Learning "
        "Based Data Fusion Methods for Multimodal Emotion Recognition. J. Korean Inst. Commun. "
        "Inf. Sci. 2022, 47, 79–87."
    ),
    75: (
        "Cimtay, Y.; Ekmekcioglu, E.; Caglar-Ozhan, S. Cross-subject multimodal emotion "
        "recognition based on hybrid fusion. IEEE Access 2020, 8, 168865–168878."
    ),
    76: (
        "Yoshino, K.; Sakti, S.; Nakamura, S. Hierarchical Tensor Fusion Network for Deception "
        "Handling Negotiation Dialog Model. In Proceedings of the 33rd Conference on Neural "
        "Information Processing Systems, Vancouver, BC, Canada, 8–14 December 2019; pp. 1–10. "
        "Available online: https://neurips.cc/virtual/2019/workshop/13200 (accessed on 10 October "
        "2025)."
    ),
    77: (
        "Krishna, D.N.; Patil, A. Multimodal Emotion Recognition using Cross-Modal Attention and "
        "1D Convolutional Neural Networks. In Proceedings of the Interspeech, Shanghai, China, "
        "25–29 October 2020; pp. 4243–4247."
    ),
    78: (
        "Praveen, R.G.; De Melo, W.C.; Ullah, N.; Aslam, H.; Zeeshan, O.; Denorme, T.; Pedersoli, "
        "M.; Koerich, A.L.; Bacon, S.; Cardinal, P.; et al. A Joint Cross-Attention Model for "
        "Audio-Visual Fusion in Dimensional Emotion Recognition. In Proceedings of the 2022 "
        "IEEE/CVF Conference on Computer Vision and Pattern Recognition Workshops (CVPRW), New "
        "Orleans, LA, USA, 19–20 June 2022; pp. 2485–2494."
    ),
    79: (
        "Zhou, S.; Wu, X.; Jiang, F.; Huang, Q.; Huang, C. Emotion Recognition from Large-Scale "
        "Video Clips with Cross-Attention and Hybrid Feature Weighting Neural Networks. Int. J. "
        "Environ. Res. Public Health 2023, 20, 1400."
    ),
    80: (
        "Lee, Y.; Yoon, S.; Jung, K. Multimodal Speech Emotion Recognition using Cross Attention "
        "with Aligned Audio and Text. In Proceedings of the Interspeech, Shanghai, China, 25–29 "
        "October 2020; ISCA: Geneva, Switzerland, 2020; pp. 2717–2721."
    ),
    81: (
        "Liu, F.; Fu, Z.; Wang, Y.; Zheng, Q. TACFN: Transformer-Based Adaptive Cross-Modal Fusion"
        " Network for Multimodal Emotion Recognition. CAAI Artif. Intell. Res. 2023, 2, 9150019."
    ),
    82: (
        "Fu, Z.; Liu, F.; Wang, H.; Qi, J.; Fu, X.; Zhou, A.; Li, Z. A cross-modal fusion network "
        "based on self-attention and residual structure for multimodal emotion recognition. arXiv "
        "2021, arXiv:2111.02172."
    ),
    83: (
        "Luna-Jiménez, C.; Kleinlein, R.; Griol, D.; Callejas, Z.; Montero, J.M.; "
        "Fernández-Martínez, F. A proposal for multimodal emotion recognition using aural "
        "transformers and action units on ravdess dataset. Appl. Sci. 2022, 12, 327."
    ),
    84: (
        "Jin, Z.; Zai, W. Audiovisual emotion recognition based on bi-layer LSTM and multi-head "
        "attention mechanism on RAVDESS dataset. J. Supercomput. 2025, 81, 31."
    ),
    85: (
        "Moorthy, S.; Moon, Y.K. Hybrid Multi-Attention Network for Audio–Visual Emotion "
        "Recognition Through Multimodal Feature Fusion. Mathematics 2025, 13, 1100."
    ),
    86: (
        "Feng, J.; Fan, X. Cross-modal Context Fusion and Adaptive Graph Convolutional Network for"
        " Multimodal Conversational Emotion Recognition. arXiv 2025, arXiv:2501.15063."
    ),
    87: (
        "Hu, D.; Chen, C.; Zhang, P.; Li, J.; Yan, Y.; Zhao, Q. A two-stage attention based "
        "modality fusion framework for multi-modal speech emotion recognition. IEICE Trans. Inf. "
        "Syst. 2021, E104D, 1391–1394."
    ),
    88: (
        "Mengara Mengara, A.G.; Moon, Y.K. CAG-MoE: Multimodal Emotion Recognition with "
        "Cross-Attention Gated Mixture of Experts. Mathematics 2025, 13, 1907."
    ),
}
