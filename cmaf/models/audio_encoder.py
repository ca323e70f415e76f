"""Audio encoder: a 2-D CNN over the log-Mel spectrogram that keeps the time axis.

Section 2.2 (Eq. 1), Appendix A.1 and Table A1: kernel size 3, batch normalisation, ReLU and
3×3 max-pooling with stride 2, from a ``(N, 1, 128, 256)`` log-Mel input to a ``(N, 60, 128)``
feature sequence.
"""

from __future__ import annotations

import torch
from torch import nn

from cmaf.models.config import AudioEncoderConfig


class AudioEncoder(nn.Module):
    """2-D CNN producing ``F_audio_seq ∈ R^{T_audio × D_audio_per_step}`` (Eq. 1 / A1).

    How 60 steps come out of 256 frames (paper defaults, time axis; the frequency axis follows
    the same arithmetic, 128 -> 28 bands)::

        block 1: conv 3×3 pad 1 (256) -> BN -> ReLU -> max-pool 3×3/2 pad 1 -> 128
        block 2: conv 3×3 pad 1 (128) -> BN -> ReLU -> max-pool 3×3/2 pad 1 ->  64
        block 3: conv 3×3 pad 0                     -> BN -> ReLU            ->  62
        block 4: conv 3×3 pad 0                     -> BN -> ReLU            ->  60

    The channel × band map of each of the 60 steps (128 × 28) is then flattened and linearly
    projected to 128 features. A learned projection rather than a mean over bands keeps *where*
    in frequency the energy sits (pitch, formants), which carries much of vocal emotion.
    ``config.out_steps`` gives the output length for any input length.
    """

    def __init__(self, config: AudioEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or AudioEncoderConfig()
        blocks = []
        in_channels = 1
        for index, out_channels in enumerate(config.channels):
            pooled = index < config.pooled_blocks
            layers: list[nn.Module] = [
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    config.kernel_size,
                    padding=config.kernel_size // 2 if pooled else 0,
                    bias=False,  # followed by batch norm
                ),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
            if pooled:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            blocks.append(nn.Sequential(*layers))
            in_channels = out_channels
        # NHWC weights and inputs let oneDNN (CPU) and cuDNN (CUDA) use their faster
        # channels-last kernels, which train this encoder faster on CPU (benchmarks/training.py
        # measures it). Both must be channels-last for the fast path.
        self.blocks = nn.Sequential(*blocks).to(memory_format=torch.channels_last)
        self.project = nn.Linear(config.channels[-1] * config.out_bands, config.out_dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode ``mel`` of shape ``(N, 1, n_mels, mel_frames)`` to ``(N, out_steps, out_dim)``."""
        expected = (1, self.config.n_mels, self.config.mel_frames)
        if mel.dim() != 4 or tuple(mel.shape[1:]) != expected:
            raise ValueError(
                "AudioEncoder expects a log-Mel batch of shape "
                f"(N, {', '.join(map(str, expected))}),"
                f" got {tuple(mel.shape)}"
            )
        maps = self.blocks(mel.contiguous(memory_format=torch.channels_last))
        # maps: (N, C, bands, steps)
        n, channels, bands, steps = maps.shape
        sequence = maps.permute(0, 3, 1, 2).reshape(n, steps, channels * bands)
        return self.project(sequence)
