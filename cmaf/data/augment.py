"""Training-time augmentation (paper Table A1), applied to loaded tensors, train split only.

Table A1 lists audio pitch shifting, time stretching and background noise, and video horizontal
flip, rotation and random cropping, without parameters; the ranges below are ours.

The cache stores log-Mel spectrograms, not waveforms, so the audio augmentations work on the
spectrogram, which keeps them cheap on CPU (no phase vocoder, no re-computed STFT):

* **pitch shift** ≈ scaling the Mel-bin axis by ``2 ** (semitones / 12)`` (bilinear
  interpolation). Exact for a linear-frequency axis; on the Mel axis it shifts high bands
  correctly in proportion but slightly misplaces low ones (the Mel scale is nearly linear below
  1 kHz, logarithmic above).
* **time stretch** ≈ resampling the frame axis by a rate, then centre-cropping or padding (with
  the spectrogram's minimum, i.e. silence) back to the original frame count; the audio then no
  longer lines up frame-for-frame with the video, which is the nature of a time stretch.
* **background noise**: noise added in the power domain at a random SNR:
  ``log(exp(x) + n)`` with ``n`` an exponentially distributed periodogram (the power spectrum
  of Gaussian noise) of mean ``mean(exp(x)) / 10 ** (snr / 10)``, the same in every Mel band.
  That is not white noise, which puts more power into the wider high bands; the robustness
  sweep (:mod:`cmaf.experiments.robustness`) tests white and speech-shaped noise, which
  training never adds, and keeps each noisy clip at its clean level, which training does not
  (a noisy training clip is louder, as background noise makes a recording). The SNR range
  reaches down to -5 dB (see :class:`AugmentConfig`).

Not in Table A1: **SpecAugment-style masking** (Park et al. 2019, Interspeech), off unless
``spec_masks > 0``: a few bands of Mel bins and a few stretches of frames are set to the clip's
mean log-Mel, so the network cannot rely on any one band or moment.

Video augmentations use one random draw per clip, so every frame of a clip moves the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations run and how strongly (each one fires with probability ``p``).

    Parameters
    ----------
    pitch_shift, max_semitones
        Shift the Mel axis by a uniform amount in ``[-max_semitones, max_semitones]``.
    time_stretch, stretch_range
        Stretch rate drawn uniformly from ``stretch_range`` (``> 1`` speeds up).
    noise, snr_db
        Add noise of equal power in every Mel band at an SNR drawn uniformly from ``snr_db``
        (dB). The range reaches down to -5 dB so that the model meets loud noise in training;
        trained only on mild noise, it can read heavy test noise as a class cue (breathy
        "sad", loud high-arousal voices). The range alone does not make the robustness curves
        monotone: BatchNorm statistics averaged over these partly noisy batches also shift
        clean clips, which ``train.precise_bn`` corrects (``benchmarks/README.md``:
        ``noise_augmentation.py``, ``batchnorm_statistics.py``).
    hflip
        Mirror every frame left-right.
    rotation, max_degrees
        Rotate every frame by one angle in ``[-max_degrees, max_degrees]``.
    random_crop, crop_scale
        Crop a random square whose side is a fraction in ``crop_scale`` of the frame, resized
        back to the frame size.
    p
        Probability that each enabled augmentation is applied to a clip.
    spec_masks, mask_fraction
        SpecAugment (not in Table A1): this many frequency masks and this many time masks on
        every training clip, each of a width drawn uniformly from 0 to ``mask_fraction`` of its
        axis (0 masks: off).
    """

    pitch_shift: bool = True
    max_semitones: float = 2.0
    time_stretch: bool = True
    stretch_range: tuple[float, float] = (0.9, 1.1)
    noise: bool = True
    snr_db: tuple[float, float] = (-5.0, 30.0)  # Table A1 gives no range
    hflip: bool = True
    rotation: bool = True
    max_degrees: float = 10.0
    random_crop: bool = True
    crop_scale: tuple[float, float] = (0.8, 1.0)
    p: float = 0.5
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


def _fit(x: torch.Tensor, size: int, dim: int, fill: float) -> torch.Tensor:
    """Centre-crop or pad ``x`` along ``dim`` to ``size`` (padding with ``fill``)."""
    n = x.shape[dim]
    if n == size:
        return x
    if n > size:
        start = (n - size) // 2
        return x.narrow(dim, start, size)
    shape = list(x.shape)
    shape[dim] = size
    out = torch.full(shape, fill, dtype=x.dtype)
    start = (size - n) // 2
    out.narrow(dim, start, n).copy_(x)
    return out


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
    return _fit(out[0], frames, dim=2, fill=float(mel.min()))


def add_noise_mel(
    mel: torch.Tensor,
    snr_db: float,
    generator: torch.Generator | None = None,
    shape: torch.Tensor | None = None,
    keep_level: bool = False,
) -> torch.Tensor:
    """Add noise at ``snr_db`` to a log-power Mel spectrogram ``(..., n_mels, T)``.

    The noise is mixed in the power domain (the speech-noise cross term, zero on average, is
    dropped): each time-frequency cell gets an exponentially distributed power, the periodogram
    of Gaussian noise. ``shape`` ``(n_mels,)`` is the noise's mean power per band relative to
    its mean over bands (``None``: the same in every band, as the training augmentation uses).
    The SNR is the ratio of the clip's mean power to the noise's mean power.

    With ``keep_level`` the mixture is scaled back to the clean clip's mean power, as a
    recording's gain would be set to the talker: the SNR is unchanged, but a lower SNR no
    longer also makes the clip louder (loudness is itself an emotion cue, see
    :class:`cmaf.experiments.robustness.SweepConfig`). The log-Mel floor (``log_offset``) is
    scaled with the mixture; it is far below any cell that holds noise.
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

    ``n_masks`` bands of Mel bins and ``n_masks`` stretches of frames, each of a width drawn
    uniformly from ``0 .. max_fraction`` of its axis at a uniform position, are set to the
    clip's mean value (which is silence-neutral after any standardisation). Returns a new
    tensor.
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
