"""Model configuration: dataclasses whose defaults are the paper's dimensions.

Every value the paper gives (Appendix A, Table A1, Appendix B) is the default; every value it
leaves open, or that we change, says so in a comment. ``CMAFConfig.from_dict`` is strict:
unknown keys and wrong types fail with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

#: Model names ``CMAFConfig.fusion`` accepts (see :mod:`cmaf.models.baselines`).
FUSIONS = (
    "cmaf",
    "audio",
    "video",
    "early",
    "late",
    "tfn",
    "lmf",
    "mutan",
    "attention-concat",
    "cmaf-no-attention",
    "cmaf-no-gru",
)
#: ``VisualEncoderConfig.temporal`` values: the paper's Bi-GRU, or a per-frame linear layer.
TEMPORAL_MODELS = ("gru", "linear")


def audio_output_steps(mel_frames: int, pooled_blocks: int = 2, valid_blocks: int = 2) -> int:
    """Number of time steps the audio encoder emits for ``mel_frames`` input frames.

    A pooled block (padded 3×3 convolution, 3×3 max-pool with stride 2 and padding 1) maps
    ``t -> floor((t - 1) / 2) + 1``, a valid block (unpadded 3×3 convolution) ``t -> t - 2``:
    256 -> 128 -> 64 -> 62 -> 60, the paper's ``T_common = 60``. The frequency axis shrinks
    the same way (128 -> 28 bands).
    """
    steps = mel_frames
    for _ in range(pooled_blocks):
        steps = (steps - 1) // 2 + 1
    return steps - 2 * valid_blocks


@dataclass
class AudioEncoderConfig:
    """2-D CNN over the log-Mel spectrogram (Section 2.2, Appendix A.1, Table A1)."""

    n_mels: int = 128  # Appendix A.1: 128 Mel bands
    mel_frames: int = 256  # Appendix A.1/A.4: 256 time frames
    # Not given by the paper: channel widths of the convolution blocks, one per block; the first
    # `pooled_blocks` blocks max-pool (3×3, stride 2, Table A1), the rest are unpadded 3×3
    # convolutions, which is how 256 frames become the paper's 60 steps.
    channels: tuple[int, ...] = (32, 64, 128, 128)
    pooled_blocks: int = 2  # not given by the paper (see audio_output_steps)
    kernel_size: int = 3  # Table A1: kernel size 3
    out_dim: int = 128  # Table A1 / Appendix A.4: 60 × 128 audio sequence

    @property
    def valid_blocks(self) -> int:
        return len(self.channels) - self.pooled_blocks

    @property
    def out_steps(self) -> int:
        return audio_output_steps(self.mel_frames, self.pooled_blocks, self.valid_blocks)

    @property
    def out_bands(self) -> int:
        return audio_output_steps(self.n_mels, self.pooled_blocks, self.valid_blocks)


@dataclass
class VisualEncoderConfig:
    """ResNet-18 per frame, then a bidirectional GRU over the frames (Appendix A.2)."""

    num_frames: int = 90  # Appendix A.2: 90 frames per 3 s clip
    image_size: int = 224  # Appendix A.2: 224 × 224 RGB
    backbone_dim: int = 512  # ResNet-18's global-average-pool width (fixed by the backbone)
    # The paper fine-tunes ImageNet weights; they cannot be downloaded here, so the offline
    # default is random initialisation. Use "imagenet" when the torch hub cache holds them.
    weights: str | None = None
    # The paper gives the Bi-GRU no width; 256 per direction keeps its 512-d output equal to
    # ResNet-18's feature width (Appendix A.4: 90 × 512 visual sequence).
    gru_hidden: int = 256
    gru_layers: int = 1  # not given by the paper
    freeze_backbone: bool = False  # the paper fine-tunes end to end
    # Not in the paper: batch-normalise the 512 backbone features per channel before the Bi-GRU;
    # frame features share a large common component and vary little between clips
    # (replication notes, chapter 9, note 9).
    feature_norm: bool = True
    # Not in the paper: the seed of a randomly initialised backbone (weights=None), apart from
    # the training seed, so every model and seed of a build gets the same random ResNet-18 (and
    # with a frozen backbone the same frame features, computed once per build).
    backbone_seed: int = 0
    # "gru": the paper's Bi-GRU over the frames; "linear": a per-frame linear layer of the same
    # output width (the cmaf-no-gru ablation, cmaf.models.baselines).
    temporal: str = "gru"

    @property
    def out_dim(self) -> int:
        return 2 * self.gru_hidden


@dataclass
class BaselineConfig:
    """Sizes of the fusion baselines (:mod:`cmaf.models.baselines`); none are in the paper.

    Each fusion layer gets a parameter count of the order of CMAF's FBP readout; TFN projects
    each pooled vector to ``tfn_dim`` first because its outer product has ``(tfn_dim + 1)^2``
    entries.
    """

    tfn_dim: int = 32  # (32 + 1)^2 = 1089 outer-product features
    tfn_hidden: int = 128
    lmf_rank: int = 4  # Liu et al. (2018) use ranks 1-16
    lmf_dim: int = 128
    mutan_dim: int = 256
    mutan_rank: int = 5  # Ben-younes et al. (2017): R = 5


@dataclass
class CMAFConfig:
    """The whole Cross-Modal Attention Fusion network (Figures 2–3, Appendices A–B).

    ``latent_dim`` is the common projection width of both modalities, ``tucker_ranks`` the core
    ranks ``(K_time, K_audio, K_image)``, ``fbp_factors`` MFB's ``k`` and ``fbp_time_mixtures``
    FBP's ``R``. The paper's head has 7 classes (Appendix A.4) although RAVDESS has 8 emotions
    and CREMA-D 6; we size it to the dataset (8 = RAVDESS by default).
    """

    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    visual: VisualEncoderConfig = field(default_factory=VisualEncoderConfig)
    latent_dim: int = 256  # Appendix A.3
    attention_heads: int = 4  # Appendix A.3, Table A1
    attention_dropout: float = 0.0  # not given by the paper
    tucker_ranks: tuple[int, int, int] = (30, 128, 128)  # Appendix B
    fbp_dim: int = 512  # Appendix A.4: N × 512
    fbp_factors: int = 2  # not given by the paper (MFB's k)
    fbp_time_mixtures: int = 4  # not given by the paper
    dropout: float = 0.5  # Table A1
    # Not in the paper: weight of auxiliary unimodal losses during training. When > 0, every
    # model with both encoders gets one classifier per modality on its pooled projected
    # sequence, and training adds weight × the mean of their cross-entropies to the loss (the
    # heads are not used at test time). 0 = the paper's single loss on the fused output.
    unimodal_aux_weight: float = 0.0
    num_classes: int = 8  # paper: 7 (Appendix A.4); RAVDESS has 8 emotions
    # Which model: "cmaf" (the paper's) or a baseline or ablation sharing its encoders (one of
    # FUSIONS); see cmaf.models.baselines.
    fusion: str = "cmaf"
    baselines: BaselineConfig = field(default_factory=BaselineConfig)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def time_steps(self) -> int:
        """``T_common``: the audio step count, which the visual sequence is resampled to."""
        return self.audio.out_steps

    def validate(self) -> None:
        """Raise ``ValueError`` (one line naming the field) when the dimensions cannot work."""
        a, v = self.audio, self.visual
        positive = {
            "audio.n_mels": a.n_mels,
            "audio.mel_frames": a.mel_frames,
            "audio.out_dim": a.out_dim,
            "audio.kernel_size": a.kernel_size,
            "visual.num_frames": v.num_frames,
            "visual.image_size": v.image_size,
            "visual.gru_hidden": v.gru_hidden,
            "visual.gru_layers": v.gru_layers,
            "latent_dim": self.latent_dim,
            "attention_heads": self.attention_heads,
            "fbp_dim": self.fbp_dim,
            "fbp_factors": self.fbp_factors,
            "fbp_time_mixtures": self.fbp_time_mixtures,
            "num_classes": self.num_classes,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"config: {name} must be a positive integer, got {value!r}")
        if not a.channels or any(not isinstance(c, int) or c < 1 for c in a.channels):
            raise ValueError(f"config: audio.channels must be positive integers, got {a.channels}")
        if not 0 <= a.pooled_blocks <= len(a.channels):
            raise ValueError(
                f"config: audio.pooled_blocks={a.pooled_blocks} must lie in 0..{len(a.channels)}"
                " (the number of convolution blocks)"
            )
        if a.kernel_size % 2 != 1:
            raise ValueError(f"config: audio.kernel_size must be odd, got {a.kernel_size}")
        if a.out_steps < 1 or a.out_bands < 1:
            raise ValueError(
                f"config: a {a.n_mels} × {a.mel_frames} log-Mel input is too small for "
                f"{len(a.channels)} convolution blocks ({a.out_bands} bands × {a.out_steps} "
                "steps left); use a larger input or fewer blocks"
            )
        if v.weights not in (None, "imagenet"):
            raise ValueError(
                f"config: visual.weights must be None or 'imagenet', got {v.weights!r}"
            )
        if v.image_size < 32:
            raise ValueError(f"config: visual.image_size={v.image_size} is below ResNet-18's 32")
        if self.latent_dim % self.attention_heads:
            raise ValueError(
                f"config: latent_dim={self.latent_dim} is not divisible by "
                f"attention_heads={self.attention_heads}"
            )
        if len(self.tucker_ranks) != 3:
            raise ValueError(f"config: tucker_ranks needs 3 ranks, got {self.tucker_ranks}")
        modes = (self.time_steps, self.latent_dim, self.latent_dim)
        for name, rank, mode in zip(
            ("time", "audio", "visual"), self.tucker_ranks, modes, strict=True
        ):
            if not isinstance(rank, int) or not 1 <= rank <= mode:
                raise ValueError(
                    f"config: Tucker {name} rank {rank} must lie in 1..{mode} (the size of the "
                    f"{name} mode it compresses)"
                )
        if v.temporal not in TEMPORAL_MODELS:
            raise ValueError(
                f"config: visual.temporal={v.temporal!r}: use one of {', '.join(TEMPORAL_MODELS)}"
            )
        for name, value in dataclasses.asdict(self.baselines).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"config: baselines.{name} must be a positive integer, got {value!r}"
                )
        if self.fusion not in FUSIONS:
            raise ValueError(f"config: fusion={self.fusion!r}: use one of {', '.join(FUSIONS)}")
        if not 0.0 <= self.unimodal_aux_weight < float("inf"):  # also rejects NaN
            raise ValueError("config: unimodal_aux_weight must be >= 0")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError("config: dropout and attention_dropout must lie in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CMAFConfig:
        """Build a config from nested dicts (JSON / YAML), rejecting unknown keys and bad types."""
        return _from_dict(cls, data, prefix="")


def _from_dict(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(
            f"config: {prefix or 'config'} must be a mapping, got {type(data).__name__}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(
            f"config: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"valid keys here: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, prefix + name)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, prefix=key + ".")
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ValueError:
                continue
        raise ValueError(f"config: {key} has the wrong type ({type(value).__name__}: {value!r})")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"config: {key} must be a list, got {value!r}")
        args = typing.get_args(hint)
        item = args[0]
        return tuple(_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool):
        if type(value) is not hint:
            raise ValueError(
                f"config: {key} must be {hint.__name__}, got {type(value).__name__} ({value!r})"
            )
        return value
    return value
