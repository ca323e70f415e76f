"""Turning one :class:`~cmaf.data.records.ClipRecord` into model inputs (paper Appendix A.1–A.4).

Audio (A.1): mono, 16 kHz, a 3 s window, a 128-band log-Mel spectrogram of 256 frames. Video
(A.2): 90 RGB frames of 224 × 224 sampled over the *same* window, so both modalities describe the
same stretch of time ("temporal alignment of audio and video segments", Table A1). Longer clips
are centre-cropped, shorter ones padded at the end; the book's data-pipeline page gives the
window and frame-sampling rules. Frames are cached as ``uint8`` and ImageNet-normalised when
loaded (:mod:`cmaf.data.dataset`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import torch

from cmaf.data.media import (
    check_complete,
    check_decoded,
    frame_seconds,
    frame_to_rgb,
    open_media,
    probe,
    read_audio,
)
from cmaf.data.records import ClipRecord, DataError

#: Bumped whenever the layout or meaning of a cached item changes (part of the config hash).
CACHE_FORMAT = 1

MODALITIES = ("av", "audio", "video")
FRAME_MODES = ("resize", "center_square")

#: ImageNet statistics (A.2: "normalized using ImageNet's mean and standard deviation").
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Fields that only change the cached audio / video arrays: left out of the hash of a config
# that does not produce that modality, so e.g. an audio-only cache ignores ``image_size``.
_AUDIO_FIELDS = (
    "sample_rate",
    "n_mels",
    "n_fft",
    "win_length",
    "hop_length",
    "mel_frames",
    "f_min",
    "f_max",
    "log_offset",
)
_VIDEO_FIELDS = ("num_frames", "image_size", "frame_mode", "face_crop")


@dataclass(frozen=True)
class PreprocessConfig:
    """Every setting that shapes a cached clip; defaults are the paper's (Appendix A.1–A.4).

    The choices the paper leaves open, and its one inconsistency, are explained on the book's
    data-pipeline page.

    Parameters
    ----------
    sample_rate, n_mels, win_length
        16 kHz, 128 bands, a 25 ms (400-sample) window (A.1).
    clip_seconds
        The window read from every clip (A.1/A.2: 3 s).
    n_fft
        Not in the paper: the 400-sample window zero-padded to 512 points.
    hop_length, mel_frames
        **Deviation.** A 10 ms hop and 256 frames for 3 s (A.1) cannot both hold; we keep the
        256 frames (A.4: 128 × 256) with a 188-sample (11.75 ms) hop. The pair is checked.
    f_min, f_max
        Not in the paper: the torchaudio defaults (``f_max=None`` is the Nyquist frequency).
    log_offset
        Not in the paper: the stored spectrogram is ``log(mel_power + log_offset)``.
    num_frames, image_size
        90 frames of 224 × 224 over the window (A.2); smaller sizes make CPU runs feasible.
    frame_mode
        ``"resize"`` squeezes the frame to a square, as the paper does (A.2);
        ``"center_square"`` crops its central square first.
    face_crop
        Not in the paper: crop to the face OpenCV's Haar cascade finds (``opencv-python-headless``).
    modality
        ``"av"`` (mel + frames), ``"audio"`` (mel only) or ``"video"`` (frames only).
    """

    sample_rate: int = 16000
    clip_seconds: float = 3.0
    n_mels: int = 128
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 188
    mel_frames: int = 256
    f_min: float = 0.0
    f_max: float | None = None
    log_offset: float = 1e-6
    num_frames: int = 90
    image_size: int = 224
    frame_mode: str = "resize"
    face_crop: bool = False
    modality: str = "av"

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        if self.frame_mode not in FRAME_MODES:
            raise ValueError(f"frame_mode must be one of {FRAME_MODES}, got {self.frame_mode!r}")
        if self.num_frames < 1 or self.image_size < 8:
            raise ValueError("num_frames must be >= 1 and image_size >= 8")
        expected = 1 + self.n_samples // self.hop_length  # centre-padded STFT frame count
        if self.uses_audio and expected != self.mel_frames:
            raise ValueError(
                f"hop_length {self.hop_length} gives {expected} frames for "
                f"{self.clip_seconds} s at {self.sample_rate} Hz, not mel_frames="
                f"{self.mel_frames}; use hop_length={self.n_samples // (self.mel_frames - 1)}"
            )

    @property
    def n_samples(self) -> int:
        """Samples in the audio window (48 000 for 3 s at 16 kHz)."""
        return round(self.clip_seconds * self.sample_rate)

    @property
    def uses_audio(self) -> bool:
        return self.modality in ("av", "audio")

    @property
    def uses_video(self) -> bool:
        return self.modality in ("av", "video")

    def content_fields(self) -> dict[str, object]:
        """The fields that change what is cached for this modality (what the hash covers)."""
        fields = asdict(self)
        if not self.uses_audio:
            for name in _AUDIO_FIELDS:
                fields.pop(name)
        if not self.uses_video:
            for name in _VIDEO_FIELDS:
                fields.pop(name)
        fields["cache_format"] = CACHE_FORMAT
        return fields

    def config_hash(self) -> str:
        """Stable 12-hex-digit hash of :meth:`content_fields` (names the cache directory)."""
        text = json.dumps(self.content_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> str:
        """The full config as deterministic JSON (written as ``config.json``)."""
        data = asdict(self)
        data["cache_format"] = CACHE_FORMAT
        data["config_hash"] = self.config_hash()
        return json.dumps(data, sort_keys=True, indent=2) + "\n"


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread, so cached items do not depend on the caller's thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------- audio


def _window_start(duration: float, cfg: PreprocessConfig) -> float:
    """Start (s, relative to the clip) of the centred window; 0 for short clips."""
    return max(0.0, (duration - cfg.clip_seconds) / 2.0)


def audio_source(record: ClipRecord) -> Path:
    """The file the audio is read from: ``audio_path``, else the (audio-visual) video file."""
    path = record.audio_path or record.video_path
    if path is None:
        raise DataError(f"{record.clip_id}: record has no audio or video file")
    return Path(path)


def _full_waveform(record: ClipRecord, cfg: PreprocessConfig) -> np.ndarray:
    """Mono 16 kHz samples of the whole clip (record segment), before windowing."""
    import torchaudio.functional as AF

    path = audio_source(record)
    if record.meta.get("audio_segment") == "whole":
        # IEMOCAP's per-sentence wavs are already cut: start / end apply to the video only.
        samples, rate = read_audio(path)
    else:
        samples, rate = read_audio(path, record.start, record.end)
    mono = samples.mean(axis=0, dtype=np.float32)  # downmix: average the channels
    if rate != cfg.sample_rate:
        with single_thread():
            mono = AF.resample(torch.from_numpy(mono), rate, cfg.sample_rate).numpy()
    if not np.all(np.isfinite(mono)):
        raise DataError(f"{path}: audio has non-finite samples")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _window_audio(mono: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    n = cfg.n_samples
    if len(mono) >= n:
        first = round(_window_start(len(mono) / cfg.sample_rate, cfg) * cfg.sample_rate)
        first = min(first, len(mono) - n)
        return np.ascontiguousarray(mono[first : first + n])
    out = np.zeros(n, dtype=np.float32)  # zero padding at the end
    out[: len(mono)] = mono
    return out


def load_waveform(record: ClipRecord, cfg: PreprocessConfig) -> np.ndarray:
    """Read, downmix, resample and window the audio of ``record`` (``float32 (cfg.n_samples,)``)."""
    return _window_audio(_full_waveform(record, cfg), cfg)


@functools.lru_cache(maxsize=8)
def _mel_transform(
    sample_rate: int, n_fft: int, win_length: int, hop_length: int, n_mels: int, f_min, f_max
):
    import torchaudio.transforms as T

    with warnings.catch_warnings():
        # 128 HTK bands over 257 FFT bins leave the lowest band (narrower than one 31 Hz bin)
        # empty, and torchaudio warns; that band is constant log(log_offset). n_fft=400 would
        # leave four bands empty, one reason for the 512-point FFT.
        warnings.filterwarnings("ignore", message="At least one mel filterbank")
        return T.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            power=2.0,
            center=True,
            pad_mode="reflect",
        )


def log_mel(wave: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """``float32 (cfg.n_mels, cfg.mel_frames)`` log-Mel spectrogram of a 1-D waveform.

    A waveform of another length than ``cfg.n_samples`` is windowed as by :func:`load_waveform`.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1:
        raise ValueError(f"log_mel expects a 1-D waveform, got shape {wave.shape}")
    if len(wave) != cfg.n_samples:
        wave = _window_audio(wave, cfg)
    transform = _mel_transform(
        cfg.sample_rate,
        cfg.n_fft,
        cfg.win_length,
        cfg.hop_length,
        cfg.n_mels,
        cfg.f_min,
        cfg.f_max,
    )
    with single_thread(), torch.no_grad():
        mel = transform(torch.from_numpy(np.ascontiguousarray(wave)))
        out = torch.log(mel + cfg.log_offset).numpy().astype(np.float32, copy=False)
    assert out.shape == (cfg.n_mels, cfg.mel_frames), out.shape
    return out


# --------------------------------------------------------------------------------- video


def parse_crop(text: str) -> tuple[float, float, float, float]:
    """Parse a ``"x0,y0,x1,y1"`` crop (fractions of the frame) from ``record.meta["crop"]``."""
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise DataError(f"bad crop {text!r}: expected 'x0,y0,x1,y1' fractions") from exc
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise DataError(f"bad crop {text!r}: expected 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
    return x0, y0, x1, y1


def _decode_size(
    width: int, height: int, crop: tuple[float, float, float, float] | None, cfg: PreprocessConfig
) -> tuple[int, int]:
    """Size to decode at: the final square, or (for center_square) the same height, wider."""
    side = cfg.image_size
    if cfg.frame_mode == "resize":
        return side, side
    if crop is not None:
        width = width * (crop[2] - crop[0])
        height = height * (crop[3] - crop[1])
    # Scale the shorter side to ``side`` and keep the aspect; the centre square is cut after
    # decoding, which costs far less than converting full 720p frames to RGB first.
    if width >= height:
        return max(side, round(side * width / height)), side
    return side, max(side, round(side * height / width))


def _center_square(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return np.ascontiguousarray(frames[:, y0 : y0 + side, x0 : x0 + side])


def _instants(window_start: float, cfg: PreprocessConfig) -> np.ndarray:
    """Centres of the ``cfg.num_frames`` equal slices of the window starting at ``window_start``."""
    return window_start + (np.arange(cfg.num_frames) + 0.5) * (cfg.clip_seconds / cfg.num_frames)


def sample_indices(times: np.ndarray, window_start: float, cfg: PreprocessConfig) -> np.ndarray:
    """Indices of the decoded frames on screen at ``cfg.num_frames`` instants of the window.

    Instant ``k`` is the centre of the ``k``-th equal slice of the window; the frame on screen is
    the last one whose timestamp is not after it (clipped to the first and last frames).
    """
    idx = np.searchsorted(times, _instants(window_start, cfg), side="right") - 1
    return np.clip(idx, 0, len(times) - 1)


def check_dependencies(cfg: PreprocessConfig) -> None:
    """Raise :class:`DataError` before any decoding when ``face_crop`` lacks OpenCV."""
    if cfg.face_crop and cfg.uses_video and importlib.util.find_spec("cv2") is None:
        raise DataError(
            "face_crop needs OpenCV: pip install opencv-python-headless (or turn face_crop off)"
        )


def _face_box(frames: np.ndarray) -> tuple[int, int, int, int] | None:
    """Largest face (x0, y0, x1, y1) found in the middle frame by OpenCV's Haar cascade."""
    import cv2  # checked by check_dependencies

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    grey = cv2.cvtColor(frames[len(frames) // 2], cv2.COLOR_RGB2GRAY)
    faces = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5)
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    # A square 1.4 times the detected box keeps the chin, brows and some context.
    side = int(max(w, h) * 1.4)
    cx, cy = x + w // 2, y + h // 2
    height, width = grey.shape
    side = min(side, height, width)
    x0 = int(np.clip(cx - side // 2, 0, width - side))
    y0 = int(np.clip(cy - side // 2, 0, height - side))
    return x0, y0, x0 + side, y0 + side


def _resize_frames(frames: np.ndarray, side: int) -> np.ndarray:
    import torch.nn.functional as F

    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    with single_thread():
        out = F.interpolate(tensor, size=(side, side), mode="bilinear", antialias=True)
    out = out.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return np.ascontiguousarray(out.numpy())


def decode_at_instants(
    path: Path,
    size: tuple[int, int],
    window_start: float | None,
    cfg: PreprocessConfig,
    start: float | None = None,
    end: float | None = None,
    crop: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """``read_video_frames(...)[sample_indices(...)]``, converting no other frame.

    Streaming: a decoded frame is converted to RGB (the costly resize from 720p) only if it is on
    screen at one of the instants, and decoding stops once the last instant is covered.

    Parameters
    ----------
    window_start
        Window start in seconds relative to ``start``; ``None`` centres the window on the video
        stream's own duration (container duration when the stream has none).
    start, end
        Segment of the file (seconds) the clip occupies.
    """
    check_complete(path)
    with open_media(path) as container:
        if not container.streams.video:
            raise DataError(f"{path}: no video stream in the file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frame_step = frame_seconds(stream)
        offset = start or 0.0
        if window_start is None:
            if start is not None and end is not None:
                duration = end - start
            elif stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base) - offset
            elif container.duration:
                duration = container.duration / av.time_base - offset
            else:
                duration = cfg.clip_seconds
            window_start = _window_start(duration, cfg)
        instants = _instants(offset + window_start, cfg)
        out: list[np.ndarray | None] = [None] * cfg.num_frames
        j = 0  # next instant without a frame
        held = None  # the latest decoded frame: on screen until the next one's timestamp
        held_rgb = None
        try:
            if start:
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else None
                if t is None:
                    t = (held[1] + frame_step) if held else 0.0
                if end is not None and t >= end:
                    break
                if held is not None:
                    while j < len(out) and instants[j] < t:
                        if held_rgb is None:
                            held_rgb = frame_to_rgb(held[0], size, crop)
                        out[j] = held_rgb
                        j += 1
                    if j == len(out):
                        break
                held, held_rgb = (frame, t), None
            else:  # the stream ran out before the window did: was it all there?
                decoded_end = held[1] + frame_step if held is not None else offset
                check_decoded(path, container, stream, decoded_end, frame_step, end)
        except av.error.FFmpegError as exc:
            if held is None:
                raise DataError(f"{path}: corrupt video stream ({exc})") from exc
            # A damaged last packet still leaves a usable clip (the last good frame pads the
            # rest), unless more than that is gone.
            check_decoded(path, container, stream, held[1] + frame_step, frame_step, end)
        if held is None:
            raise DataError(f"{path}: video stream decoded to no frames")
        if j < len(out):  # instants after the last frame: edge padding
            last = held_rgb if held_rgb is not None else frame_to_rgb(held[0], size, crop)
            for k in range(j, len(out)):
                out[k] = last
    return np.stack(out)


def load_frames(
    record: ClipRecord, cfg: PreprocessConfig, duration: float | None = None
) -> np.ndarray:
    """``uint8 (num_frames, image_size, image_size, 3)`` RGB frames over the clip's window.

    Parameters
    ----------
    record
        Needs ``video_path``; ``record.meta["crop"]`` (``"x0,y0,x1,y1"`` fractions) selects a
        region first (IEMOCAP's split screen).
    duration
        Clip duration that fixes the window (the audio duration in ``"av"`` mode); ``None`` uses
        the video stream's own.
    """
    check_dependencies(cfg)
    if record.video_path is None:
        raise DataError(f"{record.clip_id}: record has no video file")
    path = Path(record.video_path)
    crop = parse_crop(record.meta["crop"]) if record.meta.get("crop") else None
    if cfg.face_crop or cfg.frame_mode == "center_square":
        info = probe(path)  # the aspect ratio decides the decode size
        if not info.has_video:
            raise DataError(f"{path}: no video stream in the file")
    if cfg.face_crop:
        # Decode larger so the cascade has pixels to work with; resize after cropping.
        height = max(cfg.image_size, 360)
        size = (max(1, round(height * info.width / info.height)), height)
    elif cfg.frame_mode == "center_square":
        size = _decode_size(info.width, info.height, crop, cfg)
    else:
        size = (cfg.image_size, cfg.image_size)
    window_start = None if duration is None else _window_start(duration, cfg)
    chosen = decode_at_instants(path, size, window_start, cfg, record.start, record.end, crop)
    if cfg.face_crop:
        box = _face_box(chosen)
        if box is not None:
            x0, y0, x1, y1 = box
            chosen = chosen[:, y0:y1, x0:x1]
        else:  # no face found: fall back to the centre square rather than dropping the clip
            chosen = _center_square(chosen)
        return _resize_frames(chosen, cfg.image_size)
    if cfg.frame_mode == "center_square":
        chosen = _center_square(chosen)
    if chosen.shape[1:3] != (cfg.image_size, cfg.image_size):  # rounding in _decode_size
        chosen = _resize_frames(chosen, cfg.image_size)
    return np.ascontiguousarray(chosen, dtype=np.uint8)


# --------------------------------------------------------------------------------- both


def preprocess(record: ClipRecord, cfg: PreprocessConfig) -> dict[str, np.ndarray]:
    """All cached arrays of one clip: ``"mel"`` and/or ``"frames"``, as ``cfg.modality`` says.

    Raises
    ------
    DataError
        Unreadable, truncated or empty media, or a missing stream the modality needs.
    """
    out: dict[str, np.ndarray] = {}
    duration = None
    if cfg.uses_audio:
        mono = _full_waveform(record, cfg)
        duration = len(mono) / cfg.sample_rate
        out["mel"] = log_mel(_window_audio(mono, cfg), cfg)
    if cfg.uses_video:
        out["frames"] = load_frames(record, cfg, duration=duration)
    return out


def expected_shapes(cfg: PreprocessConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """Shape and dtype of each cached array for ``cfg`` (documentation and checks)."""
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    if cfg.uses_audio:
        shapes["mel"] = ((cfg.n_mels, cfg.mel_frames), "float32")
    if cfg.uses_video:
        side = cfg.image_size
        shapes["frames"] = ((cfg.num_frames, side, side, 3), "uint8")
    return shapes
