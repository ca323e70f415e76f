"""Baselines and ablations that share CMAF's encoders, selected by ``CMAFConfig.fusion``.

Every model takes CMAF's inputs and returns a :class:`cmaf.models.CMAFOutput`, so training,
evaluation and the book treat them alike. Those with both modalities reuse CMAF's encoders and
projections (:func:`cmaf.models.model.encode_sequences`) and differ only in the fusion:

==================  ===========================================================================
``fusion``          model
==================  ===========================================================================
cmaf                the paper's: cross-attention, Tucker over time, FBP (:class:`CMAF`)
audio / video       one modality: its sequence pooled over time, then the head
early               early fusion: the two pooled sequences concatenated, then the head
late                late fusion: one head per modality, logits averaged
tfn                 TFN (Zadeh et al. 2017) on the pooled vectors projected to ``tfn_dim``
lmf                 LMF (Liu et al. 2018), rank ``lmf_rank``, on the pooled vectors
mutan               MUTAN / vector Tucker (Ben-younes et al. 2017) on the pooled vectors
attention-concat    CMAF's cross-attention, attended sequences pooled and concatenated (no
                    Tucker, no FBP)
cmaf-no-attention   CMAF without the cross-attention blocks (Tucker on the projections)
cmaf-no-gru         CMAF with a per-frame linear layer instead of the Bi-GRU
==================  ===========================================================================

"Pooled" is the mean over the common time axis; the baselines' sizes are ``CMAFConfig.baselines``.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from cmaf.models.audio_encoder import AudioEncoder
from cmaf.models.config import CMAFConfig
from cmaf.models.fusions import LowRankFusion, MutanFusion, TensorFusion
from cmaf.models.model import (
    CMAF,
    CMAFOutput,
    add_attention,
    add_encoders,
    encode_sequences,
    pool_sequences,
    pooled_logits,
    unimodal_logits,
)
from cmaf.models.pooling import ClassifierHead
from cmaf.models.visual_encoder import VisualEncoder


class AudioOnly(nn.Module):
    """Audio 2-D CNN -> projection -> mean over time -> dropout -> linear (no visual input)."""

    def __init__(self, config: CMAFConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CMAFConfig(fusion="audio")
        self.audio_encoder = AudioEncoder(config.audio)
        self.audio_projection = nn.Linear(config.audio.out_dim, config.latent_dim)
        self.classifier = ClassifierHead(config.latent_dim, config.num_classes, config.dropout)

    def forward(self, mel: torch.Tensor, frames=None, *, frame_features=None, **_) -> CMAFOutput:
        sequence = torch.relu(self.audio_projection(self.audio_encoder(mel)))
        return CMAFOutput(logits=self.classifier(sequence.mean(dim=1)))


class VideoOnly(nn.Module):
    """ResNet-18 + Bi-GRU -> projection -> mean over time -> dropout -> linear (no audio)."""

    def __init__(self, config: CMAFConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or CMAFConfig(fusion="video")
        self.visual_encoder = VisualEncoder(config.visual)
        self.visual_projection = nn.Linear(config.visual.out_dim, config.latent_dim)
        self.classifier = ClassifierHead(config.latent_dim, config.num_classes, config.dropout)

    def forward(
        self, mel: torch.Tensor | None = None, frames=None, *, frame_features=None, **_
    ) -> CMAFOutput:
        if frames is not None:
            frame_features = self.visual_encoder.frame_features(frames)
        sequence = self.visual_encoder(frame_features=frame_features)
        pooled = torch.relu(self.visual_projection(sequence)).mean(dim=1)
        return CMAFOutput(logits=self.classifier(pooled))


class _PooledFusion(nn.Module):
    """Both encoders, sequences pooled over time, a fusion of the two vectors, then the head;
    subclasses build the fusion (``(N, D), (N, D) -> (N, fused_dim)``) in ``_fusion``."""

    def __init__(self, config: CMAFConfig) -> None:
        super().__init__()
        self.config = config
        add_encoders(self, config)
        self.fusion, fused_dim = self._fusion(config)
        self.classifier = ClassifierHead(fused_dim, config.num_classes, config.dropout)

    def _fusion(self, config: CMAFConfig) -> tuple[nn.Module | None, int]:
        raise NotImplementedError

    def forward(self, mel, frames=None, *, frame_features=None, **_) -> CMAFOutput:
        audio_seq, visual_seq = encode_sequences(self, mel, frames, frame_features)
        audio, visual = pool_sequences(audio_seq, visual_seq)
        return CMAFOutput(
            logits=self.classifier(self.fusion(audio, visual)),
            aux_logits=pooled_logits(self, audio, visual),
        )


class _Concat(nn.Module):
    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        return torch.cat([audio, visual], dim=1)


class EarlyFusion(_PooledFusion):
    """Early (feature-level) fusion: ``[mean_t a; mean_t v]`` -> dropout -> linear."""

    def _fusion(self, config):
        return _Concat(), 2 * config.latent_dim


class LateFusion(nn.Module):
    """Late (decision-level) fusion: a head per modality, the two logit vectors averaged."""

    def __init__(self, config: CMAFConfig) -> None:
        super().__init__()
        self.config = config
        add_encoders(self, config)
        self.audio_head = ClassifierHead(config.latent_dim, config.num_classes, config.dropout)
        self.visual_head = ClassifierHead(config.latent_dim, config.num_classes, config.dropout)

    def forward(self, mel, frames=None, *, frame_features=None, **_) -> CMAFOutput:
        audio_seq, visual_seq = encode_sequences(self, mel, frames, frame_features)
        audio, visual = pool_sequences(audio_seq, visual_seq)
        audio_logits, visual_logits = self.audio_head(audio), self.visual_head(visual)
        return CMAFOutput(
            logits=(audio_logits + visual_logits) / 2,
            aux_logits=pooled_logits(self, audio, visual),
        )


class _ProjectedTensorFusion(nn.Module):
    """Project each vector to ``dim`` (ReLU), then :class:`TensorFusion`."""

    def __init__(self, in_dim: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.audio = nn.Linear(in_dim, dim)
        self.visual = nn.Linear(in_dim, dim)
        self.tfn = TensorFusion(dim, dim, hidden)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        return self.tfn(torch.relu(self.audio(audio)), torch.relu(self.visual(visual)))


class TensorFusionModel(_PooledFusion):
    """TFN on the pooled vectors, each first projected to ``baselines.tfn_dim`` (with ReLU)."""

    def _fusion(self, config):
        b = config.baselines
        return _ProjectedTensorFusion(config.latent_dim, b.tfn_dim, b.tfn_hidden), b.tfn_hidden


class LowRankFusionModel(_PooledFusion):
    """LMF of rank ``baselines.lmf_rank`` on the pooled vectors, ``baselines.lmf_dim`` wide."""

    def _fusion(self, config):
        b = config.baselines
        return LowRankFusion(config.latent_dim, config.latent_dim, b.lmf_dim, b.lmf_rank), b.lmf_dim


class MutanModel(_PooledFusion):
    """MUTAN on the pooled vectors (``baselines.mutan_dim``, rank ``baselines.mutan_rank``)."""

    def _fusion(self, config):
        b = config.baselines
        fusion = MutanFusion(
            config.latent_dim, config.latent_dim, b.mutan_dim, b.mutan_dim, b.mutan_rank
        )
        return fusion, b.mutan_dim


class AttentionConcat(nn.Module):
    """CMAF's two cross-attention blocks, then the attended sequences pooled and concatenated."""

    attend = CMAF.attend  # the same two directions as CMAF's

    def __init__(self, config: CMAFConfig) -> None:
        super().__init__()
        self.config = config
        add_encoders(self, config)
        add_attention(self, config)
        self.classifier = ClassifierHead(2 * config.latent_dim, config.num_classes, config.dropout)

    def forward(
        self, mel, frames=None, *, frame_features=None, return_attention=False, **_
    ) -> CMAFOutput:
        audio_seq, visual_seq = encode_sequences(self, mel, frames, frame_features)
        audio_att, visual_att, weights = self.attend(audio_seq, visual_seq)
        pooled = torch.cat([audio_att.mean(dim=1), visual_att.mean(dim=1)], dim=1)
        return CMAFOutput(
            logits=self.classifier(pooled),
            attention=weights if return_attention else {},
            aux_logits=unimodal_logits(self, audio_seq, visual_seq),
        )


class CMAFNoAttention(CMAF):
    """CMAF without cross-modal attention: the projected sequences go straight to Tucker."""

    def __init__(self, config: CMAFConfig | None = None) -> None:
        super().__init__(config)
        # Removed, not bypassed: no unused parameters (DDP and the gradient tests need that).
        del self.audio_attends_visual, self.visual_attends_audio

    def attend(self, audio_seq, visual_seq):
        return audio_seq, visual_seq, {}


class CMAFNoGRU(CMAF):
    """CMAF with a per-frame linear layer (same width) in place of the visual Bi-GRU."""

    def __init__(self, config: CMAFConfig | None = None) -> None:
        config = config or CMAFConfig(fusion="cmaf-no-gru")
        visual = dataclasses.replace(config.visual, temporal="linear")
        super().__init__(dataclasses.replace(config, visual=visual))


MODELS: dict[str, type[nn.Module]] = {
    "cmaf": CMAF,
    "audio": AudioOnly,
    "video": VideoOnly,
    "early": EarlyFusion,
    "late": LateFusion,
    "tfn": TensorFusionModel,
    "lmf": LowRankFusionModel,
    "mutan": MutanModel,
    "attention-concat": AttentionConcat,
    "cmaf-no-attention": CMAFNoAttention,
    "cmaf-no-gru": CMAFNoGRU,
}


def build_model(config: CMAFConfig) -> nn.Module:
    """The model ``config.fusion`` names, built from ``config``."""
    return MODELS[config.fusion](config)
