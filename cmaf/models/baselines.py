"""Baselines that share CMAF's encoders: unimodal models for now (more fusions arrive later).

Each baseline takes the same inputs as :class:`cmaf.models.CMAF` and returns a
:class:`cmaf.models.CMAFOutput`, so training, evaluation and the book treat every model alike.
Select one with ``CMAFConfig.fusion``; :func:`build_model` maps the name to the class.
"""

from __future__ import annotations

import torch
from torch import nn

from cmaf.models.audio_encoder import AudioEncoder
from cmaf.models.config import CMAFConfig
from cmaf.models.model import CMAF, CMAFOutput
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


MODELS: dict[str, type[nn.Module]] = {"cmaf": CMAF, "audio": AudioOnly, "video": VideoOnly}


def build_model(config: CMAFConfig) -> nn.Module:
    """The model ``config.fusion`` names, built from ``config``."""
    return MODELS[config.fusion](config)
