"""Experiment configuration: model + preprocessing + data + training, and the named profiles.

Two profiles share one architecture:

* ``paper`` — the paper's settings (Appendix A, Table A1): 90 frames of 224 px, ImageNet weights,
  batch 128, Adam, weight decay 1e-4, dropout 0.5. For a GPU and real data.
* ``cpu`` — the same network, scaled so the embedded synthetic corpus trains in minutes on two
  CPU cores. Every deviation is one entry of :data:`CPU_DEVIATIONS`, with its reason;
  ``cmaf config --diff paper cpu`` prints them.

A ``smoke`` profile (tiny, one epoch) exists for tests and the book's CI build only. The
``speech`` and ``speech-smoke`` profiles train the audio branch alone on audio-only data (the
real RAVDESS speech clips; see :mod:`cmaf.experiments.speech`).

Configs load from JSON files or profile names; unknown keys and wrong types fail with one line
naming the key (see :meth:`ExperimentConfig.from_dict`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmaf.data.augment import AugmentConfig
from cmaf.data.preprocessing import PreprocessConfig
from cmaf.models.config import CMAFConfig, _coerce, _from_dict

#: ``TrainConfig.lr_schedule`` values.
LR_SCHEDULES = ("constant", "one-cycle")


@dataclass
class TrainConfig:
    """Optimisation settings (Table A1 where the paper gives them)."""

    epochs: int = 50  # Table A1: 50–100
    batch_size: int = 128  # Table A1
    lr: float = 1e-4  # Table A1: 1e-4 to 1e-3
    weight_decay: float = 1e-4  # Table A1
    # Not given by the paper: the validation share carved out of the training split. The
    # reported checkpoint is the epoch with the best validation macro-F1; test never selects.
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"  # "auto" = CUDA, then MPS, then CPU
    bf16: bool = True  # bf16 autocast, on CUDA only
    num_workers: int = 2  # DataLoader worker processes (0 = load in the main process)
    augment: bool = True  # Table A1 augmentations on the training split
    # Not given by the paper (Table A1: "background noise"): the SNR range of the training
    # noise, recorded here so that a run's config.json says which range trained it.
    augment_snr_db: tuple[float, float] = AugmentConfig.snr_db
    # Not in the paper (which fine-tunes ResNet-18 end to end): freeze the backbone and cache its
    # per-frame features once, which makes CPU training feasible.
    frozen_features: bool = False
    # Not in the paper ("precise BN"): after every epoch, before validation, re-estimate each
    # training BatchNorm layer's running statistics on the clean (unaugmented) training clips,
    # so validation, test and best.pt normalise with the statistics of clean inputs rather than
    # of the partly noisy training batches. False: the paper's (PyTorch's running average).
    precise_bn: bool = False
    # Not given by the paper: "constant" keeps train.lr throughout; "one-cycle" (Smith & Topin
    # 2019) warms up to train.lr over the first 20 % of the steps, then anneals to near zero.
    lr_schedule: str = "constant"
    # Not in the paper: SpecAugment masks (Park et al. 2019), this many frequency and this
    # many time masks on every training log-Mel (0 = off; cmaf.data.augment.mask_mel).
    spec_masks: int = 0
    attention_samples: int = 8  # test clips whose attention maps are saved
    bootstrap: int = 1000  # resamples for the 95 % intervals

    def validate(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"config: train.{name} must be >= 1")
        if not 0 < self.lr < 1:
            raise ValueError(f"config: train.lr={self.lr} must lie in (0, 1)")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("config: train.val_fraction must lie in [0, 1)")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith(
            "cuda:"
        ):
            raise ValueError(f"config: train.device={self.device!r}: use auto, cpu, cuda or mps")
        if self.num_workers < 0:
            raise ValueError("config: train.num_workers must be >= 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"config: train.lr_schedule={self.lr_schedule!r}: use one of "
                + ", ".join(LR_SCHEDULES)
            )
        if self.spec_masks < 0:
            raise ValueError("config: train.spec_masks must be >= 0")
        if len(self.augment_snr_db) != 2 or self.augment_snr_db[0] > self.augment_snr_db[1]:
            raise ValueError(
                f"config: train.augment_snr_db={list(self.augment_snr_db)} must be [low, high] "
                "with low <= high (dB)"
            )


@dataclass
class DataConfig:
    """Which data, and which evaluation protocol."""

    dataset: str = "ravdess"
    # "random": the paper's random stratified 80:20 split (Table A1); "held-out": held-out
    # actor folds (RAVDESS 4 actors per fold, IEMOCAP one session), which the paper does not use.
    split: str = "random"
    fold: int = 0  # which held-out fold
    # Actors (IEMOCAP: sessions) per held-out fold; None = the dataset's default (RAVDESS 4,
    # i.e. 6 folds; IEMOCAP 1 session; CREMA-D 5 folds).
    groups_per_fold: int | None = None
    test_fraction: float = 0.2  # Table A1: 80:20
    split_seed: int = 0
    # Not in the paper: standardise each clip's log-Mel per Mel band with the mean and standard
    # deviation of its own speaker's clips, all of them, test clips included; no labels are
    # read (cmaf.data.speaker_norm).
    speaker_norm: bool = False

    def validate(self) -> None:
        if self.split not in ("random", "held-out"):
            raise ValueError(f"config: data.split={self.split!r}: use 'random' or 'held-out'")
        if not 0 < self.test_fraction < 1:
            raise ValueError("config: data.test_fraction must lie in (0, 1)")
        if self.fold < 0:
            raise ValueError("config: data.fold must be >= 0")


@dataclass
class ExperimentConfig:
    """Everything one training run needs, resolved and saved as ``config.json`` in the run."""

    name: str = "paper"
    model: CMAFConfig = field(default_factory=CMAFConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        """Check every part and that preprocessing produces what the model expects."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        p, m = self.preprocess, self.model
        pairs = {
            "n_mels": (p.n_mels, m.audio.n_mels),
            "mel_frames": (p.mel_frames, m.audio.mel_frames),
            "num_frames": (p.num_frames, m.visual.num_frames),
            "image_size": (p.image_size, m.visual.image_size),
        }
        if self.data.speaker_norm and p.modality == "video":
            raise ValueError(
                "config: data.speaker_norm standardises the log-Mel; preprocess.modality "
                "'video' has none"
            )
        if self.train.frozen_features and not m.visual.freeze_backbone:
            raise ValueError(
                "config: train.frozen_features needs model.visual.freeze_backbone = true "
                "(cached features are only valid for a backbone that does not change)"
            )
        # Unimodal models read either kind of cache; every fusion model needs both modalities.
        needs = {"audio": ("av", "audio"), "video": ("av", "video")}.get(m.fusion, ("av",))
        if p.modality not in needs:
            raise ValueError(
                f"config: model.fusion={m.fusion!r} needs preprocess.modality in {needs}, "
                f"got {p.modality!r}"
            )
        for name, (prep, model) in pairs.items():
            if prep != model:
                raise ValueError(
                    f"config: preprocess.{name}={prep} but the model expects {model}; "
                    "set both to the same value"
                )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Strict loading: unknown keys and wrong types raise one-line ``ValueError``."""
        data = dict(data)
        prep = data.pop("preprocess", {})
        config = _from_dict(cls, data, prefix="")
        if prep:
            known = {f.name for f in dataclasses.fields(PreprocessConfig)}
            unknown = sorted(set(prep) - known)
            if unknown:
                raise ValueError(
                    "config: unknown key(s) "
                    + ", ".join("preprocess." + k for k in unknown)
                    + f"; valid keys here: {', '.join(sorted(known))}"
                )
            hints = {f.name: f.type for f in dataclasses.fields(PreprocessConfig)}
            values = {}
            for key, value in prep.items():
                hint = {"int": int, "float": float, "str": str, "bool": bool}.get(hints[key])
                values[key] = _coerce(hint, value, "preprocess." + key) if hint else value
            try:
                config.preprocess = PreprocessConfig(**values)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"config: preprocess: {exc}") from exc
        config.validate()
        return config


def _apply(base: ExperimentConfig, changes: dict[str, tuple[Any, str]], name: str):
    data = base.to_dict()
    for dotted, (value, _reason) in changes.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        if leaf not in node:
            raise KeyError(f"profile {name}: {dotted} is not a config field")
        node[leaf] = list(value) if isinstance(value, tuple) else value
    data["name"] = name
    return ExperimentConfig.from_dict(data)


def paper_config() -> ExperimentConfig:
    """The paper's settings (Appendix A, Table A1), with ImageNet weights."""
    config = ExperimentConfig(name="paper")
    config.model.visual.weights = "imagenet"  # Section 2.2: ImageNet-pretrained ResNet-18
    return config


#: The ``cpu`` profile: each deviation from ``paper``, with its reason.
CPU_DEVIATIONS: dict[str, tuple[Any, str]] = {
    "model.visual.weights": (
        None,
        "ImageNet weights cannot be downloaded here; random initialisation",
    ),
    "model.visual.num_frames": (16, "90 frames per clip are too slow to encode on 2 CPU cores"),
    "preprocess.num_frames": (16, "matches model.visual.num_frames"),
    "model.visual.image_size": (64, "ResNet-18 runs ~3x faster at 64 px than at 112 px on CPU"),
    "preprocess.image_size": (64, "matches model.visual.image_size"),
    "preprocess.frame_mode": (
        "center_square",
        "at 64 px, squeezing a 16:9 frame (A.2) leaves the centred face ~20 px wide; the centre "
        "square keeps it undistorted and ~1.8x wider, so the frozen backbone's features keep "
        "the expression",
    ),
    "model.visual.freeze_backbone": (True, "fine-tuning ResNet-18 every epoch is too slow on CPU"),
    "train.frozen_features": (True, "so the frozen backbone's features are cached once"),
    "preprocess.n_mels": (
        64,
        "with the hop below, a quarter of the audio CNN's pixels, which dominate a training step "
        "on CPU (benchmarks/training.py); 64 bands are common for speech emotion CNNs",
    ),
    "model.audio.n_mels": (64, "matches preprocess.n_mels"),
    "preprocess.hop_length": (376, "23.5 ms: 128 frames over the same 3 s window"),
    "preprocess.mel_frames": (128, "1 + 48000 // 376; the encoder then emits 28 steps, not 60"),
    "model.audio.mel_frames": (128, "matches preprocess.mel_frames"),
    "model.tucker_ranks": (
        (28, 128, 128),
        "the time rank may not exceed the audio encoder's 28 steps (Table A1: 30 of 60)",
    ),
    "model.audio.channels": (
        (16, 32, 64, 64),
        "the audio CNN dominates the per-clip cost on CPU; half the widths, ~4x fewer MACs",
    ),
    "model.fbp_factors": (1, "halves the pooling cost; the Tucker core is unchanged"),
    "model.fbp_time_mixtures": (2, "halves the pooling cost again"),
    "model.unimodal_aux_weight": (
        0.5,
        "trained end to end from scratch in 20 epochs, CMAF's encoders learn poorly through the "
        "multiplicative Tucker + FBP readout (below either unimodal model), although the same "
        "readout learns well on the frozen encoders of the unimodal runs "
        "(benchmarks/frozen_readout.py); an auxiliary cross-entropy per modality (training "
        "only) trains the encoders directly. Applies to every model with both encoders",
    ),
    "train.precise_bn": (
        True,
        "half the training clips carry added noise (the Table A1 augmentation), and the audio "
        "CNN's BatchNorm statistics, averaged over those batches, fit clean test clips worse "
        "than noisy ones, so mild test noise could raise accuracy; re-estimating them on the "
        "clean training clips after every epoch removes most of that "
        "(benchmarks/batchnorm_statistics.py)",
    ),
    "data.test_fraction": (
        0.25,
        "the book's synthetic corpus (10 actors, 600 clips) then has 150 test clips, so one "
        "seed's 95 % accuracy interval is within +-8 points at any accuracy (80:20: 120, +-9)",
    ),
    "train.epochs": (20, "the small synthetic corpus converges well before 50 epochs"),
    "train.batch_size": (32, "a 600-clip corpus gives only 3 steps per epoch at batch 128"),
    "train.lr": (1e-3, "upper end of Table A1's range: fewer epochs"),
}

#: The profiles built on ``cpu`` that keep the paper's 80:20 split.
_CPU_NETWORK = {key: value for key, value in CPU_DEVIATIONS.items() if key != "data.test_fraction"}

#: The ``smoke`` profile (tests and the CI book build): tiny and fast, not for results.
SMOKE_DEVIATIONS: dict[str, tuple[Any, str]] = {
    **_CPU_NETWORK,
    "model.visual.num_frames": (4, "smoke test"),
    "preprocess.num_frames": (4, "smoke test"),
    "model.visual.image_size": (32, "smoke test"),
    "preprocess.image_size": (32, "smoke test"),
    "model.latent_dim": (32, "smoke test"),
    "model.tucker_ranks": ((6, 8, 8), "smoke test"),
    "model.fbp_dim": (32, "smoke test"),
    "model.visual.gru_hidden": (16, "smoke test"),
    "model.audio.channels": ((8, 16, 16, 16), "smoke test"),
    "model.audio.out_dim": (32, "smoke test"),
    "train.epochs": (1, "smoke test"),
    "train.batch_size": (8, "smoke test"),
    "train.num_workers": (0, "smoke test"),
    "train.bootstrap": (50, "smoke test"),
}

#: The ``speech`` profile: the CMAF audio branch alone on RAVDESS's audio-only speech clips
#: (``cmaf speech``, the book's real-data chapter), on top of the ``cpu`` profile.
SPEECH_DEVIATIONS: dict[str, tuple[Any, str]] = {
    **_CPU_NETWORK,
    "model.fusion": ("audio", "the real RAVDESS copy here is audio only: the audio branch alone"),
    "preprocess.modality": ("audio", "log-Mel only; there are no frames"),
    "model.audio.channels": (
        (8, 16, 32, 32),
        "quarter widths of the paper-sized blocks: 1152 training clips need little capacity, "
        "and the runs must fit the book's budget",
    ),
    "train.lr_schedule": (
        "one-cycle",
        "warm-up then annealing: trains a small CNN to a good optimum in a fixed, short budget",
    ),
    "train.lr": (3e-3, "the one-cycle peak (Table A1's range ends at 1e-3)"),
    "train.augment": (
        False,
        "in a 20-epoch budget the small CNN underfits rather than overfits, and augmentation "
        "(Table A1's, or SpecAugment masks, train.spec_masks) lowers its accuracy "
        "(benchmarks/speech_recipe.py)",
    ),
    "train.precise_bn": (
        False,
        "train.augment is off, so the running statistics already come from clean clips",
    ),
    "train.epochs": (20, "with the one-cycle schedule; the checkpoint is chosen on validation"),
}

#: The ``speech-smoke`` profile: the smoke network on audio only (tests, CI book build).
SPEECH_SMOKE_DEVIATIONS: dict[str, tuple[Any, str]] = {
    **SMOKE_DEVIATIONS,
    **{
        key: SPEECH_DEVIATIONS[key]
        for key in (
            "model.fusion",
            "preprocess.modality",
            "preprocess.n_mels",
            "model.audio.n_mels",
            "preprocess.hop_length",
            "preprocess.mel_frames",
            "model.audio.mel_frames",
            "train.lr_schedule",
        )
    },
}

PROFILES = {
    "paper": lambda: paper_config(),
    "cpu": lambda: _apply(paper_config(), CPU_DEVIATIONS, "cpu"),
    "smoke": lambda: _apply(paper_config(), SMOKE_DEVIATIONS, "smoke"),
    "speech": lambda: _apply(paper_config(), SPEECH_DEVIATIONS, "speech"),
    "speech-smoke": lambda: _apply(paper_config(), SPEECH_SMOKE_DEVIATIONS, "speech-smoke"),
}
_REASONS = {
    "paper": {},
    "cpu": CPU_DEVIATIONS,
    "smoke": SMOKE_DEVIATIONS,
    "speech": SPEECH_DEVIATIONS,
    "speech-smoke": SPEECH_SMOKE_DEVIATIONS,
}


def load_config(name_or_path: str | Path) -> ExperimentConfig:
    """A named profile (``paper``, ``cpu``, ``smoke``) or a JSON file of an ExperimentConfig.

    A JSON file may hold ``{"base": "cpu", ...overrides}`` to start from a profile.
    """
    text = str(name_or_path)
    if text in PROFILES:
        return PROFILES[text]()
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"config {text!r}: neither a profile ({', '.join(PROFILES)}) nor a JSON file"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: holds a JSON {type(data).__name__}, not an object; a config is an object "
            'such as {"base": "cpu", "train": {"epochs": 5}} (see `cmaf config cpu`)'
        )
    base = data.pop("base", None)
    if base is None:
        return ExperimentConfig.from_dict(data)
    if base not in PROFILES:
        raise ValueError(f"{path}: base {base!r} is not a profile ({', '.join(PROFILES)})")
    merged = _merge(PROFILES[base]().to_dict(), data, path)
    return ExperimentConfig.from_dict(merged)


def _merge(base: dict[str, Any], overrides: dict[str, Any], path: Path) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, path)
        else:
            merged[key] = value
    return merged


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def diff_configs(first: str, second: str) -> list[tuple[str, Any, Any, str]]:
    """Fields that differ between two profiles: ``(field, first value, second value, reason)``."""
    a = flatten(load_config(first).to_dict())
    b = flatten(load_config(second).to_dict())
    reasons = {**_REASONS.get(first, {}), **_REASONS.get(second, {})}
    rows = []
    for key in sorted(set(a) | set(b)):
        if key == "name" or a.get(key) == b.get(key):
            continue
        reason = reasons.get(key, (None, ""))[1]
        rows.append((key, a.get(key), b.get(key), reason))
    return rows
