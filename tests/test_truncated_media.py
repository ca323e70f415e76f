"""Files cut short (an interrupted copy or download) are rejected, never cached as good clips.

Each format is cut at several points, inside the data and on a structural boundary (box, chunk,
tag), and every reader must raise a one-line ``"{path}: truncated: ...; re-copy or re-download
the file"`` :class:`DataError`; the intact files, with the quirks real files have (extra and
odd-sized RIFF chunks, a streamed WAV's unknown sizes, segments past the end), must still read.
"""

from __future__ import annotations

import csv
import struct
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures import write_riff_wav

from cmaf.data.cache import PROBLEMS, prepare
from cmaf.data.media import check_complete, read_audio, read_video_frames, write_av
from cmaf.data.preprocessing import decode_at_instants
from cmaf.data.records import ClipRecord, DataError
from cmaf.training.config import load_config

CFG = load_config("smoke").preprocess
RATE = 48000


def _frames(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (n, 64, 64, 3), dtype=np.uint8)


def _tone(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)


def _boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the top-level boxes of an MP4 (32-bit sizes only)."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        out.append((kind, pos, size))
        pos += size
    return out


def _cut(src: Path, dst: Path, n: int) -> Path:
    dst.write_bytes(src.read_bytes()[:n])
    return dst


def _assert_truncated(read, path: Path, *args, **kwargs) -> str:
    """``read(path, *args, **kwargs)`` raises the one-line "truncated" error naming ``path``."""
    with pytest.raises(DataError) as exc:
        read(path, *args, **kwargs)
    message = str(exc.value)
    assert message.startswith(f"{path}: truncated: "), message
    assert "\n" not in message and "re-download" in message
    return message


def _decode_instants(path: Path):
    return decode_at_instants(path, (32, 32), None, CFG)


@pytest.fixture(scope="module")
def faststart(tmp_path_factory) -> Path:
    """1 s of 64x64 H.264 + AAC with its ``moov`` index before ``mdat``, as the probe made it."""
    path = tmp_path_factory.mktemp("mp4") / "faststart.mp4"
    write_av(
        path,
        _frames(30, seed=0),
        _tone(1.0),
        fps=Fraction(30),
        video_options={"preset": "ultrafast"},
        container_options={"movflags": "faststart"},
    )
    kinds = [kind for kind, _, _ in _boxes(path.read_bytes())]
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    return path


CUTS = {"10%": 0.10, "50%": 0.50, "97%": 0.97, "all but 100 bytes": -100}


def _cut_point(size: int, where: float) -> int:
    return size + int(where) if where < 0 else int(size * where)


@pytest.mark.parametrize("where", CUTS.values(), ids=CUTS.keys())
def test_faststart_mp4_cut_anywhere_is_truncated(faststart, tmp_path, where):
    cut = _cut(faststart, tmp_path / "cut.mp4", _cut_point(faststart.stat().st_size, where))
    message = _assert_truncated(check_complete, cut)
    assert "'mdat' box" in message
    _assert_truncated(read_audio, cut)
    _assert_truncated(read_video_frames, cut, size=(32, 32))
    _assert_truncated(_decode_instants, cut)


def test_mp4_cut_on_a_box_boundary_fails_the_decode_check(faststart, tmp_path):
    # Cut right before mdat: every box left is whole, only the durations tell.
    [mdat] = [pos for kind, pos, _ in _boxes(faststart.read_bytes()) if kind == b"mdat"]
    cut = _cut(faststart, tmp_path / "boundary.mp4", mdat)
    check_complete(cut)
    assert "decoding stops at" in _assert_truncated(read_audio, cut)
    _assert_truncated(read_video_frames, cut)
    _assert_truncated(_decode_instants, cut)


def test_intact_mp4_reads_including_segments_past_the_end(faststart):
    check_complete(faststart)
    audio, rate = read_audio(faststart)
    assert rate == RATE and audio.shape[1] >= RATE
    frames, _ = read_video_frames(faststart, size=(32, 32))
    assert len(frames) == 30
    assert _decode_instants(faststart).shape == (CFG.num_frames, 32, 32, 3)
    # A segment reaching past the declared end (as IEMOCAP's annotations can) is no shortfall.
    assert read_audio(faststart, 0.5, 5.0)[0].shape[1] > 0.45 * RATE
    assert len(read_video_frames(faststart, start=0.5, end=5.0)[0]) == 15
    assert decode_at_instants(faststart, (32, 32), None, CFG, 0.5, 5.0).shape[0] == CFG.num_frames


def _record(path: Path, clip_id: str) -> ClipRecord:
    return ClipRecord(
        "ravdess", clip_id, "happy", "spk-1", "1", audio_path=path, video_path=path, meta={}
    )


def test_prepare_lists_cut_files_in_problems_not_in_manifest(faststart, tmp_path):
    size = faststart.stat().st_size
    cuts = {
        name: _cut(faststart, tmp_path / f"cut{i}.mp4", _cut_point(size, where))
        for i, (name, where) in enumerate(CUTS.items())
    }
    records = [_record(faststart, "good")] + [
        _record(path, f"cut{i}") for i, path in enumerate(cuts.values())
    ]
    # Video alone goes through decode_at_instants, not the audio reader.
    for cfg in (CFG, replace(CFG, modality="video")):
        result = prepare(records, tmp_path / "cache", cfg, workers=0, progress=False)
        lines = (result.cache_dir / PROBLEMS).read_text().splitlines()
        assert len(lines) == len(cuts)
        for path in cuts.values():
            assert any(line.startswith(f"{path}: truncated: ") for line in lines), lines
        with open(result.manifest_path, newline="") as fh:
            assert [row["clip_id"] for row in csv.DictReader(fh)] == ["good"]


# --------------------------------------------------------------------------------- RIFF


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    """16-bit WAV with chunks before and after ``data``, one of them odd-sized (padded)."""
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    info = b"INFO" + b"ISFT" + struct.pack("<I", 5) + b"test\x00" + b"\x00"
    write_riff_wav(
        path,
        _tone(0.5, 16000),
        16000,
        before=[(b"bext", b"x" * 21)],
        after=[(b"LIST", info), (b"_PMX", b"odd")],
    )
    return path


def test_intact_wav_with_extra_and_odd_chunks_reads(wav):
    check_complete(wav)
    audio, rate = read_audio(wav)
    assert rate == 16000 and audio.shape == (1, 8000)
    assert np.allclose(audio[0], _tone(0.5, 16000), atol=1e-4)


def _data_chunk(path: Path) -> tuple[int, int]:
    """Offset of the ``data`` payload and its size."""
    data = path.read_bytes()
    at = data.index(b"data")
    return at + 8, struct.unpack("<I", data[at + 4 : at + 8])[0]


@pytest.mark.parametrize("where", [0.02, 0.25, 0.5, 0.99], ids=lambda w: f"data {w:.0%}")
def test_wav_cut_inside_data_is_truncated(wav, tmp_path, where):
    start, length = _data_chunk(wav)
    cut = _cut(wav, tmp_path / "cut.wav", start + int(length * where))
    message = _assert_truncated(read_audio, cut)
    assert f"'data' chunk at byte {start - 8} declares {length} bytes" in message
    _assert_truncated(read_audio, cut, 0.0, 0.1)  # even a segment still there


@pytest.mark.parametrize("back", [2, 9, 20], ids=lambda b: f"last {b} bytes")
def test_wav_cut_in_trailing_chunks_is_truncated(wav, tmp_path, back):
    cut = _cut(wav, tmp_path / "cut.wav", wav.stat().st_size - back)
    _assert_truncated(read_audio, cut)


def test_wav_cut_in_its_header_is_truncated(wav, tmp_path):
    for n in (10, 30, 60):
        cut = _cut(wav, tmp_path / f"cut{n}.wav", n)
        _assert_truncated(read_audio, cut)


def test_streamed_wav_unknown_sizes_are_not_truncation(wav, tmp_path):
    data = bytearray(wav.read_bytes())
    start, _ = _data_chunk(wav)
    data[4:8] = data[start - 4 : start] = struct.pack("<I", 0xFFFFFFFF)
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    check_complete(streamed)
    # A RIFF size that counts its own 8-byte header (a writer's slip) is no shortfall either.
    data = bytearray(wav.read_bytes())
    data[4:8] = struct.pack("<I", len(data))
    sloppy = tmp_path / "sloppy.wav"
    sloppy.write_bytes(bytes(data))
    check_complete(sloppy)
    assert read_audio(sloppy)[0].shape == (1, 8000)


def test_avi_cut_is_truncated(tmp_path):
    path = write_av(
        tmp_path / "clip.avi",
        _frames(15, seed=1),
        _tone(0.5, 16000),
        fps=Fraction(30),
        sample_rate=16000,
        video_codec="mpeg4",
        audio_codec="pcm_s16le",
    )
    assert read_audio(path)[0].shape[1] == 8000
    for where in (0.3, 0.9):
        cut = _cut(path, tmp_path / "cut.avi", int(path.stat().st_size * where))
        _assert_truncated(read_audio, cut, 0.0, 0.1)
        _assert_truncated(_decode_instants, cut)


# --------------------------------------------------------------------------------- FLAC, FLV


@pytest.fixture(scope="module")
def flac(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flac") / "clip.flac"
    noise = np.random.default_rng(2).standard_normal(RATE).astype(np.float32)
    sf.write(path, 0.1 * noise + _tone(1.0), RATE, subtype="PCM_16")
    return path


def test_intact_flac_reads(flac):
    check_complete(flac)
    assert read_audio(flac)[0].shape == (1, RATE)


@pytest.mark.parametrize("where", [0.001, 0.1, 0.5, 0.97, -3], ids=str)
def test_flac_cut_is_truncated(flac, tmp_path, where):
    cut = _cut(flac, tmp_path / "cut.flac", _cut_point(flac.stat().st_size, where))
    _assert_truncated(read_audio, cut)


def test_flac_segment_before_the_cut_reads_one_past_it_is_truncated(flac, tmp_path):
    # Only the frames that decode tell how much of a FLAC is there, so a segment inside them is
    # whole; one reaching past them is not.
    cut = _cut(flac, tmp_path / "half.flac", flac.stat().st_size // 2)
    assert read_audio(cut, 0.1, 0.2)[0].shape == (1, RATE // 10)
    message = _assert_truncated(read_audio, cut, 0.6, 0.9)
    assert f"declares {RATE} samples (1.00 s)" in message
    _assert_truncated(read_audio, cut, 0.1, 0.9)


@pytest.fixture(scope="module")
def flv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flv") / "clip.flv"
    return write_av(
        path,
        _frames(30, seed=3),
        _tone(1.0, 44100),
        fps=Fraction(30),
        sample_rate=44100,
        video_codec="flv",
        audio_codec="libmp3lame",
    )


def _flv_tag_ends(path: Path) -> list[int]:
    data = path.read_bytes()
    pos, ends = struct.unpack(">I", data[5:9])[0] + 4, []
    while pos + 11 <= len(data):
        pos += 11 + int.from_bytes(data[pos + 1 : pos + 4], "big") + 4
        ends.append(pos)
    return ends


def test_flv_cut_inside_a_tag_or_between_tags_is_truncated(flv, tmp_path):
    check_complete(flv)
    read_audio(flv)
    assert len(_decode_instants(flv)) == CFG.num_frames
    ends = _flv_tag_ends(flv)
    boundary = ends[len(ends) // 2]
    for n in (int(flv.stat().st_size * 0.5), boundary, boundary + 5):
        cut = _cut(flv, tmp_path / f"cut{n}.flv", n)
        _assert_truncated(read_audio, cut)
        _assert_truncated(_decode_instants, cut)
