"""Training-time augmentation (paper Table A1), applied to loaded tensors, train split only.

Table A1 lists audio pitch shifting, time stretching and background noise, and video horizontal
flip, rotation and random cropping, without parameters; the ranges are ours. The cache stores
log-Mel spectrograms, so the audio augmentations approximate their waveform counterparts on the
spectrogram (cheap on CPU, no phase vocoder):

* **pitch shift**: scale the Mel-bin axis by ``2 ** (semitones / 12)`` (exact on a linear
  frequency axis; on the Mel axis the low bands are slightly misplaced);
* **time stretch**: resample the frame axis, then centre-crop or pad with silence back to the
  original length (the audio no longer lines up frame-for-frame with the video);
* **background noise**: noise of equal mean power in every Mel band, mixed in the power domain
  at a random SNR (:func:`add_noise_mel`).

Not in Table A1 and off by default: SpecAugment-style masking (Park et al. 2019). Video
augmentations use one random draw per clip, so every frame of a clip moves the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run and how strongly; each enabled one fires with probability ``p``."""

    pitch_shift: bool = True  # by a uniform amount in [-max_semitones, max_semitones]
    max_semitones: float = 2.0
    time_stretch: bool = True  # at a rate drawn uniformly from stretch_range (> 1 speeds up)
    stretch_range: tuple[float, float] = (0.9, 1.1)
    # Noise of equal power in every Mel band at an SNR (dB) drawn uniformly from snr_db (Table
    # A1 gives no range). It reaches down to -5 dB so that the model meets loud noise in
    # training; trained only on mild noise, it can read heavy test noise as a class cue
    # (benchmarks/README.md: noise_augmentation.py; the shift this causes in BatchNorm
    # statistics is corrected by train.precise_bn).
    noise: bool = True
    snr_db: tuple[float, float] = (-5.0, 30.0)
    hflip: bool = True  # mirror every frame left-right
    rotation: bool = True  # every frame by one angle in [-max_degrees, max_degrees]
    max_degrees: float = 10.0
    # Crop a random square whose side is a fraction in crop_scale of the frame, resized back.
    random_crop: bool = True
    crop_scale: tuple[float, float] = (0.8, 1.0)
    p: float = 0.5
    # SpecAugment (not in Table A1): this many frequency and time masks on every training clip,
    # each up to mask_fraction of its axis wide (0: off).
    spec_masks: int = 0
    mask_fraction: float = 0.125

    @classmethod
    def none(cls) -> AugmentConfig:
        """Every augmentation switched off."""
        return cls(
            pitch_shift=False,
            time_stretch=False,
            noise=False,
            hflip=False,
            rotation=False,
            random_crop=False,
        )


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _fires(p: float, generator: torch.Generator | None) -> bool:
    return torch.rand((), generator=generator).item() < p


def pitch_shift_mel(mel: torch.Tensor, semitones: float) -> torch.Tensor:
    """Approximate pitch shift of a ``(C, n_mels, T)`` log-Mel by scaling the Mel axis."""
    _, n_mels, frames = mel.shape
    scaled = max(1, round(n_mels * 2.0 ** (semitones / 12.0)))
    out = F.interpolate(mel[None], size=(scaled, frames), mode="bilinear", align_corners=False)[0]
    # Keep the low bands in place: crop or pad at the top (high frequencies) only.
    if scaled >= n_mels:
        return out[:, :n_mels]
    pad = torch.full((mel.shape[0], n_mels - scaled, frames), float(mel.min()), dtype=mel.dtype)
    return torch.cat([out, pad], dim=1)


def time_stretch_mel(mel: torch.Tensor, rate: float) -> torch.Tensor:
    """Approximate time stretch of a ``(C, n_mels, T)`` log-Mel by resampling the frame axis."""
    _, n_mels, frames = mel.shape
    stretched = max(1, round(frames / rate))
    out = F.interpolate(mel[None], size=(n_mels, stretched), mode="bilinear", align_corners=False)
    # Back to ``frames``: centre-crop, or centre-pad with the minimum (silence).
    if stretched >= frames:
        start = (stretched - frames) // 2
        return out[0, :, :, start : start + frames]
    left = (frames - stretched) // 2
    return F.pad(out[0], (left, frames - stretched - left), value=float(mel.min()))


def add_noise_mel(
    mel: torch.Tensor,
    snr_db: float,
    generator: torch.Generator | None = None,
    shape: torch.Tensor | None = None,
    keep_level: bool = False,
) -> torch.Tensor:
    """Add noise at ``snr_db`` to a log-power Mel spectrogram ``(..., n_mels, T)``.

    Each cell gets an exponentially distributed noise power (the periodogram of Gaussian noise),
    added in the power domain; the SNR is the ratio of the clip's mean power to the noise's.

    Parameters
    ----------
    shape
        ``(n_mels,)`` mean noise power per band relative to its mean over bands (``None``: the
        same in every band, as in training).
    keep_level
        Scale the mixture back to the clean clip's mean power, so that a lower SNR does not
        also make the clip louder (loudness is an emotion cue).
    """
    power = mel.exp()
    level = power.mean() / (10.0 ** (snr_db / 10.0))
    noise = torch.empty_like(power).exponential_(1.0, generator=generator) * level
    if shape is not None:
        noise = noise * (shape / shape.mean()).to(power.dtype)[:, None]
    mixture = power + noise
    if keep_level:
        mixture = mixture * (power.mean() / mixture.mean())
    return mixture.log()


def augment_mel(
    mel: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply the enabled audio augmentations to a ``(C, n_mels, T)`` log-Mel tensor."""
    if cfg.pitch_shift and _fires(cfg.p, generator):
        mel = pitch_shift_mel(mel, _uniform(-cfg.max_semitones, cfg.max_semitones, generator))
    if cfg.time_stretch and _fires(cfg.p, generator):
        mel = time_stretch_mel(mel, _uniform(*cfg.stretch_range, generator))
    if cfg.noise and _fires(cfg.p, generator):
        mel = add_noise_mel(mel, _uniform(*cfg.snr_db, generator), generator)
    if cfg.spec_masks > 0:
        mel = mask_mel(mel, cfg.spec_masks, cfg.mask_fraction, generator)
    return mel.contiguous()


def mask_mel(
    mel: torch.Tensor,
    n_masks: int,
    max_fraction: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """SpecAugment's frequency and time masking of a ``(C, n_mels, T)`` log-Mel tensor.

    ``n_masks`` bands of Mel bins and ``n_masks`` stretches of frames, each up to
    ``max_fraction`` of its axis wide at a uniform position, are set to the clip's mean.
    """
    out = mel.clone()
    fill = float(mel.mean())
    for axis in (1, 2):
        size = mel.shape[axis]
        widest = int(size * max_fraction)
        for _ in range(n_masks):
            width = int(torch.randint(0, widest + 1, (), generator=generator))
            start = int(torch.randint(0, size - width + 1, (), generator=generator))
            out.narrow(axis, start, width).fill_(fill)
    return out


def rotate_frames(frames: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate ``(T, 3, H, W)`` frames about their centre (corners filled with zeros)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=frames.dtype)
    grid = F.affine_grid(
        theta.expand(frames.shape[0], 2, 3), list(frames.shape), align_corners=False
    )
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_crop_frames(
    frames: torch.Tensor, scale: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Crop one random square of side ``scale * min(H, W)`` from every frame; resize back."""
    _, _, height, width = frames.shape
    side = max(1, round(min(height, width) * scale))
    y0 = int(torch.randint(0, height - side + 1, (), generator=generator))
    x0 = int(torch.randint(0, width - side + 1, (), generator=generator))
    crop = frames[:, :, y0 : y0 + side, x0 : x0 + side]
    if (side, side) == (height, width):
        return crop
    return F.interpolate(crop, size=(height, width), mode="bilinear", align_corners=False)


def augment_frames(
    frames: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply the enabled video augmentations to ``(T, 3, H, W)`` float frames in [0, 1]."""
    if cfg.hflip and _fires(cfg.p, generator):
        frames = frames.flip(-1)
    if cfg.rotation and _fires(cfg.p, generator):
        frames = rotate_frames(frames, _uniform(-cfg.max_degrees, cfg.max_degrees, generator))
    if cfg.random_crop and _fires(cfg.p, generator):
        frames = random_crop_frames(frames, _uniform(*cfg.crop_scale, generator), generator)
    return frames.contiguous()
