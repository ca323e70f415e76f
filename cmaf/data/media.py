"""Reading and writing audio-visual media with PyAV and soundfile.

Streams are selected by type, never by index (CREMA-D's FLV files carry a data stream first).
Decoding errors are :class:`~cmaf.data.records.DataError` naming the file, so callers can skip
one clip and keep the rest. Demuxers and decoders take a file cut short quietly, so every reader
checks it twice, before decoding (:func:`check_complete`) and after (:func:`check_decoded`), and
raises ``"{path}: truncated: ...; re-copy or re-download the file"`` on a shortfall; the book's
data-pipeline page describes both checks.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

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


def open_media(path: Path):
    """``av.open(path)``; an unreadable file is a :class:`DataError`."""
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:  # unreadable or not media at all
        raise DataError(f"{path}: cannot open media ({exc.__class__.__name__}: {exc})") from exc


# --------------------------------------------------------------------------------- truncation

#: The fix for a file cut short, ending every "truncated" message.
_REFETCH = "re-copy or re-download the file"

#: First-box types of an ISO base media file (QuickTime may open with ``wide``, ``free``, ``mdat``).
_BMFF_TYPES = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}

#: The last FLV tag starts one frame (well under this, in s) before the end onMetaData declares.
_FLV_SLACK = 0.25

#: RIFF / WAV sizes that streaming writers leave when they cannot seek back: "unknown", not 0.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)

#: A missing RIFF chunk takes at least its 8-byte header, so a RIFF size up to 8 bytes over the
#: file is the writer's error (some count the RIFF header itself), not a lost chunk.
_RIFF_SLACK = 8


def _truncated(path: Path, what: str) -> DataError:
    return DataError(f"{path}: truncated: {what}; {_REFETCH}")


def _read_at(fh: BinaryIO, offset: int, n: int) -> bytes:
    fh.seek(offset)
    return fh.read(n)


def _check_fits(path: Path, what: str, pos: int, length: int, there: int, unit="bytes") -> None:
    """Raise unless the ``length`` bytes that ``what`` at byte ``pos`` declares are there."""
    if length > there:
        raise _truncated(
            path, f"{what} at byte {pos} declares {length} {unit}, only {there} are there"
        )


def check_complete(path: str | Path) -> None:
    """Raise when ``path`` holds fewer bytes than its container declares, without decoding.

    The first bytes select the format: RIFF (WAV, AVI) chunks, ISO base media (MP4, MOV, M4A)
    top-level boxes, FLV tags (and the last tag's time against ``onMetaData``'s duration) and
    FLAC metadata blocks must end within the file. Other formats pass unchecked.

    Raises
    ------
    DataError
        ``"{path}: truncated: ..."``, saying what is declared and what is there.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] == b"RIFF":
                _check_riff(path, fh, size)
            elif head[:3] == b"FLV":
                _check_flv(path, fh, size)
            elif head[:4] == b"fLaC":
                _check_flac(path, fh, size)
            elif head[4:8] in _BMFF_TYPES:
                _check_bmff(path, fh, size)
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.__class__.__name__}: {exc})") from exc


def _check_riff(path: Path, fh: BinaryIO, size: int) -> None:
    if size < 12:
        raise _truncated(path, f"a RIFF header takes 12 bytes, the file has {size}")
    pos = 0
    while pos + 12 <= size:
        tag, declared = struct.unpack("<4sI", _read_at(fh, pos, 8))
        if tag != b"RIFF":  # what follows the last RIFF chunk is not ours to judge
            return
        end = size if declared in _UNKNOWN_SIZES else pos + 8 + declared
        chunk = pos + 12
        while chunk + 8 <= min(end, size):
            name, length = struct.unpack("<4sI", _read_at(fh, chunk, 8))
            if name == b"data" and length in _UNKNOWN_SIZES:
                return  # streamed: the samples run to the end of the file
            label = name.decode("latin-1")
            _check_fits(path, f"the {label!r} chunk", chunk, length, size - chunk - 8)
            chunk += 8 + length + (length & 1)
        # Bytes left over that cannot hold a chunk header are a header cut short, unless the
        # RIFF size says the file is complete.
        if end > size and (end - size > _RIFF_SLACK or chunk < size):
            raise _truncated(path, f"the RIFF header declares {end} bytes, the file has {size}")
        pos = end + (declared & 1)


def _check_bmff(path: Path, fh: BinaryIO, size: int) -> None:
    pos = 0
    while pos + 8 <= size:
        length, kind = struct.unpack(">I4s", _read_at(fh, pos, 8))
        if length == 1:  # a 64-bit size follows the type
            if pos + 16 > size:
                raise _truncated(path, f"the box at byte {pos} is cut inside its header")
            (length,) = struct.unpack(">Q", _read_at(fh, pos + 8, 8))
        elif length == 0:  # the box runs to the end of the file
            return
        if length < 8:  # no valid box size: malformed, not short; the demuxer says more
            return
        _check_fits(path, f"the {kind.decode('latin-1')!r} box", pos, length, size - pos)
        pos += length


def _check_flv(path: Path, fh: BinaryIO, size: int) -> None:
    header = _read_at(fh, 0, 9)
    if len(header) < 9:
        raise _truncated(path, f"an FLV header takes 9 bytes, the file has {size}")
    pos = struct.unpack(">I", header[5:9])[0] + 4  # header, then PreviousTagSize0
    duration, last_ms = None, None
    while pos < size:
        tag = _read_at(fh, pos, 11)
        if len(tag) < 11:
            raise _truncated(
                path, f"the tag at byte {pos} is cut inside its 11-byte header ({len(tag)} there)"
            )
        kind, length = tag[0] & 0x1F, int.from_bytes(tag[1:4], "big")
        _check_fits(path, "the tag", pos, length, size - pos - 11, "bytes of data")
        if kind == 18 and duration is None:
            duration = _flv_duration(_read_at(fh, pos + 11, min(length, 1 << 16)))
        elif kind in (8, 9):  # audio, video: the timestamp is 24 bits plus an extension byte
            last_ms = max(last_ms or 0, int.from_bytes(tag[7:8] + tag[4:7], "big"))
        pos += 11 + length + 4  # data, then the tag's PreviousTagSize
    # A cut on a tag boundary leaves whole tags: only their timestamps show what is missing.
    if duration and (last_ms or 0) / 1000 + _FLV_SLACK < duration:
        there = (
            "no audio or video tag"
            if last_ms is None
            else f"the last tag at {last_ms / 1000:.2f} s"
        )
        raise _truncated(path, f"onMetaData declares {duration:.2f} s, {there}")


def _flv_duration(script: bytes) -> float | None:
    """The ``duration`` (s) an FLV script tag (``onMetaData``) declares, if any."""
    # AMF0: the key as a 16-bit length and its bytes, then a number marker (0) and a double.
    at = script.find(b"\x00\x08duration\x00")
    if at < 0 or at + 19 > len(script):
        return None
    (value,) = struct.unpack(">d", script[at + 11 : at + 19])
    return value if value > 0 and value == value else None  # NaN is no duration


def _check_flac(path: Path, fh: BinaryIO, size: int) -> None:
    pos, last = 4, False
    while not last:
        block = _read_at(fh, pos, 4)
        if len(block) < 4:
            raise _truncated(path, f"the metadata block header at byte {pos} is cut")
        last, length = bool(block[0] & 0x80), int.from_bytes(block[1:4], "big")
        _check_fits(path, "the metadata block", pos, length, size - pos - 4)
        pos += 4 + length


def check_decoded(
    path: str | Path,
    container,
    stream,
    decoded_end: float,
    frame_step: float,
    end: float | None = None,
) -> None:
    """Raise when decoding a PyAV stream ran out of data short of the duration the file declares.

    Parameters
    ----------
    decoded_end
        End time (s) of the last decoded frame: its timestamp plus its duration.
    frame_step
        Duration (s) of one frame of the stream (video) or of the longest decoded audio frame.
    end
        End (s) of the segment asked for, if any: a shortfall only counts up to there.

    Notes
    -----
    Valid files decode a little short of the declared end: audio by up to three codec frames
    (the last one partial, encoder delay dropped), video by up to two; a duration only the
    container declares (FLV, AVI audio) is the longest stream's, so 0.5 s more is allowed.
    """
    base = stream.time_base
    if stream.duration is not None and base is not None:
        declared = float((stream.start_time or 0) * base + stream.duration * base)
        slack = 0.0
    elif container.duration:
        declared = ((container.start_time or 0) + container.duration) / av.time_base
        slack = 0.5
    else:
        return
    slack += (3 if stream.type == "audio" else 2) * frame_step
    wanted = declared if end is None else min(end, declared)
    if decoded_end < wanted - slack:
        segment = f" (the segment asked for ends at {end:.2f} s)" if end is not None else ""
        raise _truncated(
            Path(path),
            f"the file declares {declared:.2f} s of {stream.type}, decoding stops at "
            f"{decoded_end:.2f} s{segment}",
        )


# --------------------------------------------------------------------------------- reading


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
    with open_media(path) as container:
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
    check_complete(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        return _read_soundfile(path, start, end)

    with open_media(path) as container:
        if not container.streams.audio:
            raise DataError(f"{path}: no audio stream in the file")
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # PyAV found no usable codec parameters
            raise DataError(f"{path}: audio stream without codec parameters (damaged header)")
        rate = stream.codec_context.sample_rate
        chunks = []
        decoded_end = start or 0.0
        longest = 0  # samples in the longest decoded frame: the truncation check's unit
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
                if end is not None and t0 is not None and t0 >= end:
                    break
                n = block.shape[1]
                decoded_end = (decoded_end if t0 is None else t0) + n / rate
                longest = max(longest, n)
                if t0 is not None and (start is not None or end is not None):
                    times = t0 + np.arange(n) / rate
                    first = start if start is not None else -np.inf
                    last = end if end is not None else np.inf
                    block = block[:, (times >= first) & (times < last)]
                chunks.append(_to_float(block))
            else:
                check_decoded(path, container, stream, decoded_end, longest / rate, end)
        except av.error.FFmpegError as exc:
            if not chunks:
                raise DataError(f"{path}: corrupt audio stream ({exc})") from exc
            # A damaged last packet still leaves a usable clip, unless more than that is gone.
            check_decoded(path, container, stream, decoded_end, longest / rate, end)
        if not chunks or sum(c.shape[1] for c in chunks) == 0:
            raise DataError(f"{path}: audio stream decoded to no samples")
        return np.concatenate(chunks, axis=1), int(rate)


#: Frames per soundfile read: a decoding error then leaves at most this many uncounted.
_SOUNDFILE_BLOCK = 4096


def _read_soundfile(path: Path, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    """:func:`read_audio` for WAV / FLAC (libsndfile), checked against the declared length.

    Fewer samples than the header declares, or an error such as "lost sync", is a truncation.
    """
    try:
        with sf.SoundFile(str(path)) as fh:
            rate, declared = fh.samplerate, fh.frames
            first = round((start or 0.0) * rate)
            last = min(declared, round(end * rate) if end is not None else declared)
            if first >= last:
                raise DataError(f"{path}: no audio samples in the requested segment")
            blocks, got, failure = [], 0, None
            try:  # a seek past the end of a cut FLAC fails too: a shortfall like the rest
                if first:
                    fh.seek(first)
                while got < last - first:
                    want = min(_SOUNDFILE_BLOCK, last - first - got)
                    block = fh.read(want, dtype="float32", always_2d=True)
                    if block.shape[0] == 0:
                        break
                    blocks.append(block)
                    got += block.shape[0]
            except (sf.LibsndfileError, RuntimeError) as exc:
                failure = ": " + (str(exc).strip().splitlines() or ["read error"])[0].rstrip(".")
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DataError(f"{path}: cannot read audio ({exc})") from exc
    if got < last - first:
        raise _truncated(
            path,
            f"the header declares {declared} samples ({declared / rate:.2f} s), decoding stops "
            f"at sample {first + got} ({(first + got) / rate:.2f} s){failure or ''}",
        )
    return np.ascontiguousarray(np.concatenate(blocks).T), int(rate)


def frame_seconds(stream) -> float:
    """Duration of one frame of a PyAV video stream (1/30 s when no rate is known)."""
    # The codec's or container's nominal rate: the average over the packets that are there can
    # be far off in a damaged file.
    rate = stream.guessed_rate or stream.average_rate or 30
    return 1.0 / float(rate)


def frame_to_rgb(
    frame, size: tuple[int, int] | None, crop: tuple[float, float, float, float] | None
) -> np.ndarray:
    """A decoded video frame as ``uint8 (H, W, 3)`` RGB: cropped, then resized to ``size``."""
    if crop is None:
        if size is None:
            return frame.to_ndarray(format="rgb24")
        return frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
    rgb = frame.to_ndarray(format="rgb24")
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = crop
    rgb = np.ascontiguousarray(rgb[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)])
    if size is None:
        return rgb
    return (
        av.VideoFrame.from_ndarray(rgb, format="rgb24")
        .reformat(width=size[0], height=size[1])
        .to_ndarray(format="rgb24")
    )


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
    check_complete(path)
    with open_media(path) as container:
        if not container.streams.video:
            raise DataError(f"{path}: no video stream in the file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = frame_seconds(stream)
        frames, times = [], []
        decoded_end = start or 0.0
        try:
            if start:
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else len(times)
                if end is not None and t >= end:
                    break
                decoded_end = t + step
                if start is not None and t < start:
                    continue
                frames.append(frame_to_rgb(frame, size, crop))
                times.append(t)
            else:
                check_decoded(path, container, stream, decoded_end, step, end)
        except av.error.FFmpegError as exc:
            if not frames:
                raise DataError(f"{path}: corrupt video stream ({exc})") from exc
            check_decoded(path, container, stream, decoded_end, step, end)
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
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames and/or audio into one container (format from the extension).

    The synthetic corpus and the tests' fixtures write media with it, as the real datasets are
    distributed (RAVDESS: H.264 + AAC in MP4).

    Parameters
    ----------
    frames
        ``uint8`` RGB frames ``(T, H, W, 3)`` or ``None`` for an audio-only file.
    audio
        ``float32`` samples in [-1, 1], shape ``(n,)`` or ``(channels, n)``, or ``None``.
    video_options, audio_options
        Encoder options (FFmpeg's, e.g. ``{"preset": "superfast"}`` for libx264 or
        ``{"aac_coder": "fast"}`` for the native AAC encoder).
    container_options
        Muxer options, e.g. ``{"movflags": "faststart"}`` to put an MP4's ``moov`` index first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames is None and audio is None:
        raise ValueError("write_av needs frames, audio or both")
    fps = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
    with av.open(str(path), mode="w", options=dict(container_options or {})) as container:
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
