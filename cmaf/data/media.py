"""Reading and writing audio-visual media with PyAV and soundfile.

Streams are always selected by type (``container.streams.audio[0]``), never by index: CREMA-D's
FLV files carry a data stream first. Decoding errors surface as :class:`cmaf.data.DataError`
with the file named, so callers can skip one clip and keep the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from cmaf.data.records import DataError

#: Extensions soundfile reads directly (faster and exact); everything else goes through PyAV.
SOUNDFILE_EXTENSIONS = {".wav", ".flac"}


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds (as reported by the container)."""

    duration: float | None
    has_audio: bool
    has_video: bool
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None


def _open(path: Path):
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:  # unreadable or not media at all
        raise DataError(f"{path}: cannot open media ({exc.__class__.__name__}: {exc})") from exc


def probe(path: str | Path) -> MediaInfo:
    """Describe the streams of ``path`` without decoding it."""
    path = Path(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise DataError(f"{path}: cannot read audio ({exc})") from exc
        return MediaInfo(
            duration=info.duration,
            has_audio=True,
            has_video=False,
            sample_rate=info.samplerate,
            channels=info.channels,
            audio_codec=info.subtype,
        )
    with _open(path) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        video = container.streams.video[0] if container.streams.video else None
        duration = container.duration / av.time_base if container.duration else None
        return MediaInfo(
            duration=duration,
            has_audio=audio is not None,
            has_video=video is not None,
            sample_rate=audio.codec_context.sample_rate if audio else None,
            channels=audio.codec_context.channels if audio else None,
            width=video.codec_context.width if video else None,
            height=video.codec_context.height if video else None,
            fps=float(video.average_rate) if video and video.average_rate else None,
            video_codec=video.codec_context.name if video else None,
            audio_codec=audio.codec_context.name if audio else None,
        )


def read_audio(
    path: str | Path, start: float | None = None, end: float | None = None
) -> tuple[np.ndarray, int]:
    """Decode the audio of ``path`` at its native rate.

    Parameters
    ----------
    path
        A ``.wav`` / ``.flac`` file (read by soundfile, any extra RIFF chunks ignored) or any
        container PyAV opens (``.mp4``, ``.flv``, ``.avi``); the first *audio* stream is used.
    start, end
        Optional segment in seconds.

    Returns
    -------
    samples, sample_rate
        ``float32`` array of shape ``(channels, n)`` in [-1, 1], and the native sample rate.
    """
    path = Path(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        try:
            info = sf.info(str(path))
            first = round((start or 0.0) * info.samplerate)
            last = round(end * info.samplerate) if end is not None else None
            data, rate = sf.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise DataError(f"{path}: cannot read audio ({exc})") from exc
        if data.shape[0] == 0:
            raise DataError(f"{path}: no audio samples in the requested segment")
        return np.ascontiguousarray(data.T), int(rate)

    with _open(path) as container:
        if not container.streams.audio:
            raise DataError(f"{path}: no audio stream in the file")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        chunks = []
        try:
            if start:
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                samples = frame.to_ndarray()
                if frame.format.is_planar:
                    block = samples
                else:  # packed: (1, n * channels) interleaved
                    block = samples.reshape(-1, len(frame.layout.channels)).T
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None else None
                if t0 is not None and (start is not None or end is not None):
                    n = block.shape[1]
                    times = t0 + np.arange(n) / rate
                    keep = np.ones(n, dtype=bool)
                    if start is not None:
                        keep &= times >= start
                    if end is not None:
                        keep &= times < end
                    block = block[:, keep]
                    if end is not None and t0 >= end:
                        break
                chunks.append(_to_float(block))
        except av.error.FFmpegError as exc:
            if not chunks:
                raise DataError(f"{path}: corrupt audio stream ({exc})") from exc
            # A truncated tail still leaves a usable clip: keep what decoded.
        if not chunks or sum(c.shape[1] for c in chunks) == 0:
            raise DataError(f"{path}: audio stream decoded to no samples")
        return np.concatenate(chunks, axis=1), int(rate)


def _to_float(block: np.ndarray) -> np.ndarray:
    if np.issubdtype(block.dtype, np.floating):
        return block.astype(np.float32, copy=False)
    info = np.iinfo(block.dtype)
    return (block.astype(np.float32) / max(abs(info.min), info.max)).astype(np.float32)


def read_video_frames(
    path: str | Path,
    size: tuple[int, int] | None = None,
    start: float | None = None,
    end: float | None = None,
    crop: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode every frame of the first video stream of ``path``.

    Parameters
    ----------
    size
        ``(width, height)`` to resize each frame to as it is decoded (keeps memory small for
        720p sources), or ``None`` for the native size.
    start, end
        Optional segment in seconds.
    crop
        Optional region ``(x0, y0, x1, y1)`` in fractions of the frame, applied before resizing
        (IEMOCAP keeps one half of its split-screen).

    Returns
    -------
    frames, times
        ``uint8`` array ``(T, H, W, 3)`` in RGB and the presentation time of each frame (s).
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise DataError(f"{path}: no video stream in the file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames, times = [], []
        try:
            if start:
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else len(times)
                if start is not None and t < start:
                    continue
                if end is not None and t >= end:
                    break
                if crop is not None:
                    rgb = frame.to_ndarray(format="rgb24")
                    h, w = rgb.shape[:2]
                    x0, y0, x1, y1 = crop
                    rgb = rgb[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
                    if size is not None:
                        rgb = (
                            av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                            .reformat(width=size[0], height=size[1])
                            .to_ndarray(format="rgb24")
                        )
                elif size is not None:
                    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
                else:
                    rgb = frame.to_ndarray(format="rgb24")
                frames.append(rgb)
                times.append(t)
        except av.error.FFmpegError as exc:
            if not frames:
                raise DataError(f"{path}: corrupt video stream ({exc})") from exc
        if not frames:
            raise DataError(f"{path}: video stream decoded to no frames")
        return np.stack(frames), np.asarray(times, dtype=np.float64)


def write_av(
    path: str | Path,
    frames: np.ndarray | Sequence[np.ndarray] | None,
    audio: np.ndarray | None,
    *,
    fps: Fraction | float = Fraction(30000, 1001),
    sample_rate: int = 48000,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    pix_fmt: str = "yuv420p",
    video_options: dict[str, str] | None = None,
    audio_options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames and/or audio into one container (format from the extension).

    Used by the synthetic corpus and by the tests' format-faithful fixtures, so both write
    media the same way the real datasets are distributed (RAVDESS: H.264 + AAC in MP4).

    Parameters
    ----------
    frames
        ``uint8`` RGB frames ``(T, H, W, 3)`` or ``None`` for an audio-only file.
    audio
        ``float32`` samples in [-1, 1], shape ``(n,)`` or ``(channels, n)``, or ``None``.
    video_options, audio_options
        Encoder options (FFmpeg's, e.g. ``{"preset": "superfast"}`` for libx264 or
        ``{"aac_coder": "fast"}`` for the native AAC encoder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames is None and audio is None:
        raise ValueError("write_av needs frames, audio or both")
    fps = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
    with av.open(str(path), mode="w") as container:
        vstream = astream = None
        if frames is not None:
            first = frames[0]
            vstream = container.add_stream(video_codec, rate=fps)
            vstream.height, vstream.width = first.shape[0], first.shape[1]
            vstream.pix_fmt = pix_fmt
            if video_options:
                vstream.options = dict(video_options)
        if audio is not None:
            audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
            layout = "mono" if audio.shape[0] == 1 else "stereo"
            astream = container.add_stream(audio_codec, rate=sample_rate, layout=layout)
            if audio_options:
                astream.options = dict(audio_options)
        if vstream is not None:
            for image in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
        if astream is not None:
            chunk = 1024
            for i in range(0, audio.shape[1], chunk):
                block = np.ascontiguousarray(audio[:, i : i + chunk])
                # Planar float: one row per channel.
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
                frame.sample_rate = sample_rate
                frame.pts = i
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
    return path
