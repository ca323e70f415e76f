"""The complete Cross-Modal Attention Fusion network (Figures 2–3, Appendix A.4)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from cmaf.models.attention import CrossModalAttention, align_time
from cmaf.models.audio_encoder import AudioEncoder
from cmaf.models.config import CMAFConfig
from cmaf.models.pooling import ClassifierHead
from cmaf.models.tucker_fbp import TuckerFBP
from cmaf.models.visual_encoder import VisualEncoder


@dataclass
class CMAFOutput:
    """What a forward pass returns: ``logits`` ``(N, num_classes)``; when asked, ``attention``
    (per-head weights ``(N, heads, 60, 60)``, ``"audio_to_visual"`` with rows = audio steps and
    ``"visual_to_audio"``) and ``stages`` (every block's output, in order); in training, the
    auxiliary unimodal heads' ``aux_logits``."""

    logits: torch.Tensor
    attention: dict[str, torch.Tensor] = field(default_factory=dict)
    stages: dict[str, torch.Tensor] = field(default_factory=dict)
    aux_logits: dict[str, torch.Tensor] = field(default_factory=dict)

    def attention_mean(self, direction: str) -> torch.Tensor:
        """Head-averaged weights ``(N, 60, 60)`` for ``direction``."""
        return self.attention[direction].mean(dim=1)


def add_encoders(module: nn.Module, config: CMAFConfig) -> None:
    """Give ``module`` CMAF's two encoders and their projections to ``latent_dim`` (what
    :func:`encode_sequences` reads), and the auxiliary unimodal heads when they are asked for."""
    module.audio_encoder = AudioEncoder(config.audio)
    module.visual_encoder = VisualEncoder(config.visual)
    module.audio_projection = nn.Linear(config.audio.out_dim, config.latent_dim)
    module.visual_projection = nn.Linear(config.visual.out_dim, config.latent_dim)
    if config.unimodal_aux_weight > 0:
        module.aux_heads = nn.ModuleDict(
            {
                name: ClassifierHead(config.latent_dim, config.num_classes, config.dropout)
                for name in ("audio", "visual")
            }
        )


def add_attention(module: nn.Module, config: CMAFConfig) -> None:
    """Give ``module`` the two cross-modal attention blocks (Eqs. 4-5, Appendix A.3)."""
    sizes = (config.latent_dim, config.attention_heads, config.attention_dropout)
    module.audio_attends_visual = CrossModalAttention(*sizes)
    module.visual_attends_audio = CrossModalAttention(*sizes)


def pool_sequences(
    audio_seq: torch.Tensor, visual_seq: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each ``(N, T, D)`` sequence as one ``(N, D)`` vector: ReLU, then the mean over time."""
    return torch.relu(audio_seq).mean(dim=1), torch.relu(visual_seq).mean(dim=1)


def pooled_logits(
    module: nn.Module, audio: torch.Tensor, visual: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The auxiliary unimodal heads' logits from pooled ``(N, latent_dim)`` vectors; ``{}``
    without heads (``unimodal_aux_weight = 0``) or in eval mode, as they only shape training."""
    heads = getattr(module, "aux_heads", None)
    if heads is None or not module.training:
        return {}
    return {"audio": heads["audio"](audio), "visual": heads["visual"](visual)}


def unimodal_logits(
    module: nn.Module, audio_seq: torch.Tensor, visual_seq: torch.Tensor
) -> dict[str, torch.Tensor]:
    """:func:`pooled_logits` of the projected sequences ``(N, T, latent_dim)``, pooled as the
    unimodal models pool theirs (ReLU, mean over time)."""
    return pooled_logits(module, *pool_sequences(audio_seq, visual_seq))


def encode_sequences(
    module: nn.Module,
    mel: torch.Tensor,
    frames: torch.Tensor | None = None,
    frame_features: torch.Tensor | None = None,
    keep=lambda name, value: value,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both modalities as ``(N, T_common, latent_dim)`` sequences (Eqs. 1-3, Appendix A.3).

    Audio CNN and visual backbone (or cached ``frame_features``) + Bi-GRU, each projected to
    ``latent_dim``; the visual sequence is resampled to the audio's ``T_common`` steps.
    ``keep(name, tensor)`` sees every intermediate (CMAF's ``return_stages``).
    """
    if mel.shape[0] != (frames if frames is not None else frame_features).shape[0]:
        raise ValueError("mel and frames must hold the same number of clips")
    audio_seq = keep("audio_encoder", module.audio_encoder(mel))
    if frames is not None:
        frame_features = module.visual_encoder.frame_features(frames)
    keep("visual_backbone", frame_features)
    visual_seq = keep("visual_gru", module.visual_encoder(frame_features=frame_features))
    audio_seq = keep("audio_projection", module.audio_projection(audio_seq))
    visual_seq = keep("visual_projection", module.visual_projection(visual_seq))
    visual_seq = keep("temporal_alignment", align_time(visual_seq, audio_seq.shape[1]))
    return audio_seq, visual_seq


class CMAF(nn.Module):
    """Audio 2-D CNN + ResNet-18/Bi-GRU, cross-modal attention, Tucker fusion, FBP, classifier.

    Data flow at the paper's dimensions (Appendix A.4)::

        log-Mel (N,1,128,256) -> AudioEncoder -> (N,60,128) -> Linear -> (N,60,256)
        frames (N,90,3,224,224) -> ResNet-18 -> (N,90,512) -> Bi-GRU -> (N,90,512)
                                 -> Linear -> (N,90,256) -> interpolate -> (N,60,256)
        audio queries visual  -> (N,60,256)   visual queries audio -> (N,60,256)
        TuckerFBP: Tucker core (N,30,128,128), not formed, read by FBP -> (N,512)
                                 -> dropout -> Linear -> (N,C)

    The head (``tucker_fbp``, :class:`~cmaf.models.tucker_fbp.TuckerFBP`) computes FBP's
    ``(N, 512)`` from the two sequences without forming the core; the core is formed only for
    ``return_stages``. The default ``config`` is the paper's network with an 8-class head.
    """

    def __init__(self, config: CMAFConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CMAFConfig()
        add_encoders(self, config)
        add_attention(self, config)
        tucker_fbp = TuckerFBP(
            config.time_steps,
            config.latent_dim,
            config.latent_dim,
            config.tucker_ranks,
            config.fbp_dim,
            config.fbp_factors,
            config.fbp_time_mixtures,
        )
        # The head's two parts are registered here under the names they have always had, so
        # checkpoints keep their keys (tucker.*, pooling.*). The head itself is kept out of
        # the module tree: as a child it would save every parameter a second time under
        # tucker_fbp.*. It holds no state of its own, only these two modules.
        self.tucker, self.pooling = tucker_fbp.tucker, tucker_fbp.fbp
        object.__setattr__(self, "tucker_fbp", tucker_fbp)
        self.classifier = ClassifierHead(config.fbp_dim, config.num_classes, config.dropout)

    def forward(
        self,
        mel: torch.Tensor,
        frames: torch.Tensor | None = None,
        *,
        frame_features: torch.Tensor | None = None,
        return_attention: bool = False,
        return_stages: bool = False,
    ) -> CMAFOutput:
        """Classify log-Mels ``(N, 1, n_mels, mel_frames)`` with ImageNet-normalised
        ``frames`` ``(N, T_image, 3, H, W)``, or their ResNet-18 ``frame_features``
        ``(N, T_image, 512)``; optionally also return the attention maps or every stage."""
        stages: dict[str, torch.Tensor] = {}

        def keep(name: str, value: torch.Tensor) -> torch.Tensor:
            if return_stages:
                stages[name] = value
            return value

        audio_seq, visual_seq = encode_sequences(self, mel, frames, frame_features, keep)
        aux = unimodal_logits(self, audio_seq, visual_seq)
        audio_att, visual_att, weights = self.attend(audio_seq, visual_seq)
        keep("audio_attends_visual", audio_att)
        keep("visual_attends_audio", visual_att)
        if return_stages:
            # Formed only to be shown: the head below does not go through the core.
            keep("tucker_core", self.tucker_fbp.core(audio_att, visual_att))
        fused = keep("fbp", self.tucker_fbp(audio_att, visual_att))
        logits = keep("classifier", self.classifier(fused))
        attention = weights if return_attention else {}
        return CMAFOutput(logits=logits, attention=attention, stages=stages, aux_logits=aux)

    def attend(
        self, audio_seq: torch.Tensor, visual_seq: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Both cross-attention directions (Eqs. 4-5): enriched sequences and their maps."""
        audio_att, audio_weights = self.audio_attends_visual(audio_seq, visual_seq)
        visual_att, visual_weights = self.visual_attends_audio(visual_seq, audio_seq)
        weights = {"audio_to_visual": audio_weights, "visual_to_audio": visual_weights}
        return audio_att, visual_att, weights

    def block_parameters(self) -> dict[str, int]:
        """Parameter count of each block, in data-flow order."""
        blocks = {
            "audio_encoder": self.audio_encoder,
            "visual_backbone": self.visual_encoder.backbone,
            "visual_gru": [self.visual_encoder.feature_norm, self.visual_encoder.gru],
            "audio_projection": self.audio_projection,
            "visual_projection": self.visual_projection,
            "temporal_alignment": None,
            "audio_attends_visual": self.audio_attends_visual,
            "visual_attends_audio": self.visual_attends_audio,
            "tucker_core": self.tucker,
            "fbp": self.pooling,
            "classifier": self.classifier,
        }

        def count(modules) -> int:
            modules = modules if isinstance(modules, list) else [modules]
            return sum(p.numel() for m in modules if m is not None for p in m.parameters())

        return {name: count(modules) for name, modules in blocks.items()}
