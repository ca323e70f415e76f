"""Visual encoder: ResNet-18 per frame, then a bidirectional GRU over the frame sequence.

Section 2.2 (Eqs. 2–3) and Appendix A.2: ResNet-18 with its ImageNet classification layer
removed gives one 512-d vector per 224 × 224 frame; the Bi-GRU keeps its whole output sequence.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch
import torchvision
from torch import nn

from cmaf.models.config import VisualEncoderConfig

#: torchvision's ResNet18_Weights.IMAGENET1K_V1 file name, as the torch hub cache stores it.
RESNET18_IMAGENET_FILE = "resnet18-f37072fd.pth"


def imagenet_checkpoint_path() -> Path:
    """Where torchvision keeps the ImageNet ResNet-18 weights: ``$TORCH_HOME/hub/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / RESNET18_IMAGENET_FILE


def load_imagenet_weights(backbone: nn.Module) -> Path:
    """Load torchvision's IMAGENET1K_V1 ResNet-18 weights from the local torch hub cache.

    Nothing is downloaded: a run must not depend on the network. A missing file raises
    ``FileNotFoundError``, one line naming the expected file and where to put it.
    """
    path = imagenet_checkpoint_path()
    if not path.is_file():
        torch_home = os.environ.get("TORCH_HOME", "~/.cache/torch")
        raise FileNotFoundError(
            f"ImageNet weights for ResNet-18 not found at {path}: copy torchvision's "
            f"{RESNET18_IMAGENET_FILE} into $TORCH_HOME/hub/checkpoints/ (TORCH_HOME={torch_home}),"
            " or set visual.weights to None for random initialisation (nothing is downloaded)"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: not a ResNet-18 checkpoint (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}); replace it with torchvision's {RESNET18_IMAGENET_FILE}"
        )
    return path


class VisualEncoder(nn.Module):
    """ResNet-18 frame features (Eq. 2) refined by a Bi-GRU (Eq. 3).

    The backbone's ``fc`` is replaced by the identity, so each frame yields its 512-d global
    average-pooled embedding, batch-normalised per channel (``feature_norm``, not in the paper)
    before the Bi-GRU, whose full output sequence (both directions, ``2 × gru_hidden`` = 512) is
    kept. ``freeze_backbone`` stops gradients into ResNet-18 and fixes its batch-norm statistics.
    """

    def __init__(self, config: VisualEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or VisualEncoderConfig()
        # Drawn from its own seed (config.backbone_seed), whatever was built before it.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.backbone_seed)
            backbone = torchvision.models.resnet18(weights=None)
        backbone.fc = nn.Identity()
        if config.weights == "imagenet":
            load_imagenet_weights(backbone)
        self.backbone = backbone
        if config.freeze_backbone:
            self.backbone.requires_grad_(False)
        self.feature_norm = nn.BatchNorm1d(config.backbone_dim) if config.feature_norm else None
        self.gru = self.frame_linear = None
        if config.temporal == "gru":
            self.gru = nn.GRU(
                input_size=config.backbone_dim,
                hidden_size=config.gru_hidden,
                num_layers=config.gru_layers,
                batch_first=True,
                bidirectional=True,
            )
        else:  # the cmaf-no-gru ablation: no temporal model, same output width
            self.frame_linear = nn.Linear(config.backbone_dim, config.out_dim)

    def train(self, mode: bool = True) -> VisualEncoder:
        super().train(mode)
        if self.config.freeze_backbone:
            self.backbone.eval()  # frozen batch-norm statistics
        return self

    def frame_features(self, frames: torch.Tensor) -> torch.Tensor:
        """ResNet-18 embeddings ``(N, T, 512)`` of normalised frames ``(N, T, 3, H, W)``."""
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(
                f"VisualEncoder expects frames of shape (N, T, 3, H, W), got {tuple(frames.shape)}"
            )
        n, t = frames.shape[:2]
        flat = frames.reshape(n * t, *frames.shape[2:])
        with torch.no_grad() if self.config.freeze_backbone else contextlib.nullcontext():
            features = self.backbone(flat)
        return features.reshape(n, t, -1)

    def forward(
        self, frames: torch.Tensor | None = None, frame_features: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Encode ImageNet-normalised ``frames`` ``(N, T, 3, H, W)``, or exclusively their cached
        backbone ``frame_features`` ``(N, T, 512)``, to the Bi-GRU sequence."""
        if (frames is None) == (frame_features is None):
            raise ValueError("VisualEncoder needs exactly one of frames or frame_features")
        features = self.frame_features(frames) if frames is not None else frame_features
        if features.shape[-1] != self.config.backbone_dim:
            raise ValueError(
                f"frame features must have {self.config.backbone_dim} channels, got "
                f"{tuple(features.shape)}"
            )
        if self.feature_norm is not None:
            features = self.feature_norm(features.transpose(1, 2)).transpose(1, 2)
        if self.gru is None:
            return self.frame_linear(features)
        sequence, _ = self.gru(features)
        return sequence
