"""Small, format-faithful copies of the three datasets, for tests and benchmarks (not shipped).

Each builder writes a tree laid out, named and encoded like the real distribution, only with few
and short clips of synthetic content (smooth gradients and a moving disc, tones with an envelope:
smooth images encode fast even at 720p). What is kept faithful, because loaders and decoders trip
on exactly these:

* RAVDESS: ``Actor_XX/01-..mp4`` H.264 1280x720 at 29.97 fps with 48 kHz AAC; ``03-..wav``
  16-bit 48 kHz with extra RIFF chunks around ``data`` (``bext`` before, ``LIST`` and ``_PMX``
  after, as Adobe Audition left them in the real files), some stereo; optional ``.flac`` copies
  as in our shared copy, optional ``02-`` video-only files.
* CREMA-D: ``AudioWAV`` 16 kHz mono wav; ``VideoFlash`` FLV 480x360 29.97 fps with MP3 44.1 kHz
  mono and, like the real files, a data stream *first* (a script tag FFmpeg exposes as
  ``Data: none``). The video codec is FLV1 (Sorenson H.263) because FFmpeg has no On2 VP6
  encoder; the container and stream layout are what matter to the reader.
  ``VideoDemographics.csv`` and ``processedResults/tabulatedVotes.csv`` in the official format.
* IEMOCAP: one session, one dialog: ``EmoEvaluation`` text with annotator lines, sentence wavs
  at 16 kHz, the dialog wav, and a split-screen dialog avi (MPEG-4 part 2 + PCM) whose left half
  is warm and bright and right half cool and dark, so a test can tell the crops apart.

Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

import csv
import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from cmaf.data import crema_d
from cmaf.data.media import write_av

# ---------------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------------


class _Frames(Sequence):
    """Frames computed on access: a 720p clip never sits in memory whole."""

    def __init__(self, count: int, size: tuple[int, int], hue: tuple[float, float, float]):
        self.count, (self.width, self.height) = count, size
        self.hue = np.asarray(hue, dtype=np.float32)
        y = np.linspace(0.0, 1.0, self.height, dtype=np.float32)[:, None]
        x = np.linspace(0.0, 1.0, self.width, dtype=np.float32)[None, :]
        self.x, self.y = x, y
        ramp = (0.35 + 0.4 * x + 0.25 * y)[..., None]
        self.background = (ramp * self.hue * 255.0).astype(np.uint8)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(index)
        frame = self.background.copy()
        phase = index / max(self.count, 1)
        cx, cy = 0.3 + 0.4 * phase, 0.5 + 0.15 * np.sin(2 * np.pi * phase)
        radius = 0.12
        aspect = self.width / self.height
        inside = ((self.x - cx) * aspect) ** 2 + (self.y - cy) ** 2 < radius**2
        frame[inside] = (255 - 0.5 * self.hue * 255).astype(np.uint8)
        return frame


def _tone(
    seconds: float, rate: int, freq: float, channels: int = 1, amplitude: float = 0.3
) -> np.ndarray:
    """A tone with a smooth attack and release, ``float32`` of shape ``(channels, n)``."""
    n = round(seconds * rate)
    t = np.arange(n, dtype=np.float64) / rate
    envelope = np.sin(np.pi * np.clip(t / max(seconds, 1e-9), 0, 1)) ** 0.5
    wave = amplitude * envelope * np.sin(2 * np.pi * freq * t)
    rows = [wave * (1.0 - 0.3 * c) for c in range(channels)]  # channels differ a little
    return np.stack(rows).astype(np.float32)


def _hue(rng: np.random.Generator) -> tuple[float, float, float]:
    return tuple(float(v) for v in 0.4 + 0.6 * rng.random(3))


# ---------------------------------------------------------------------------------------------
# RIFF / FLV byte-level helpers
# ---------------------------------------------------------------------------------------------


def _chunk(tag: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""  # RIFF chunks are word aligned
    return tag + struct.pack("<I", len(payload)) + payload + pad


def write_riff_wav(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    before: Sequence[tuple[bytes, bytes]] = (),
    after: Sequence[tuple[bytes, bytes]] = (),
) -> Path:
    """Write 16-bit PCM WAV by hand, with extra chunks before ``fmt`` and after ``data``.

    Parameters
    ----------
    samples
        ``float32`` in [-1, 1], shape ``(channels, n)`` or ``(n,)``.
    before, after
        ``(four-byte tag, payload)`` chunks placed before ``fmt `` and after ``data``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    channels = data.shape[0]
    pcm = np.clip(np.round(data.T * 32767.0), -32768, 32767).astype("<i2").tobytes()
    fmt = struct.pack(
        "<HHIIHH", 1, channels, sample_rate, sample_rate * 2 * channels, 2 * channels, 16
    )
    body = b"WAVE"
    body += b"".join(_chunk(tag, payload) for tag, payload in before)
    body += _chunk(b"fmt ", fmt) + _chunk(b"data", pcm)
    body += b"".join(_chunk(tag, payload) for tag, payload in after)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _bext(description: str) -> bytes:
    """A Broadcast-WAV ``bext`` payload (602 bytes fixed part, as EBU Tech 3285 v1)."""
    fields = description.encode("ascii")[:256].ljust(256, b"\0")
    fields += b"cmaf fixtures".ljust(32, b"\0") + b"".ljust(32, b"\0")
    fields += b"2026-01-01" + b"00:00:00" + struct.pack("<IIH", 0, 0, 1)
    return fields.ljust(602, b"\0")


def _list_info(software: str) -> bytes:
    text = software.encode("ascii") + b"\0"
    return b"INFO" + _chunk(b"ISFT", text)


def _amf_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x02" + struct.pack(">H", len(raw)) + raw


def _flv_tag(kind: int, payload: bytes, timestamp_ms: int = 0) -> bytes:
    header = (
        bytes([kind])
        + len(payload).to_bytes(3, "big")
        + (timestamp_ms & 0xFFFFFF).to_bytes(3, "big")
        + bytes([(timestamp_ms >> 24) & 0xFF])
        + b"\x00\x00\x00"
    )
    return header + payload + struct.pack(">I", 11 + len(payload))


def add_flv_data_stream(path: str | Path) -> Path:
    """Rewrite an FLV so that a data stream comes first and video precedes audio.

    PyAV cannot mux a data stream into FLV, so a script-data tag with a name FFmpeg does not
    know (it then opens a ``Data: none`` stream, as with the real CREMA-D files) is inserted
    after ``onMetaData``, before the first audio / video tag. The first video tag (if within
    200 ms of the start) is moved ahead of the first audio tag, so stream order is data, video,
    audio like the originals.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:3] != b"FLV":
        raise ValueError(f"{path}: not an FLV file")
    header_end = struct.unpack(">I", data[5:9])[0] + 4  # header + PreviousTagSize0
    tags, pos = [], header_end
    while pos + 11 <= len(data):
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        end = pos + 11 + size + 4
        tags.append(data[pos:end])
        pos = end
    first_av = next(i for i, tag in enumerate(tags) if tag[0] in (8, 9))
    first_video = next((i for i, tag in enumerate(tags) if tag[0] == 9), None)
    if first_video is not None and first_video > first_av:
        stamp = int.from_bytes(tags[first_video][4:7], "big")
        # The MP3 encoder delay makes the muxer start video a few ms late; a short lead of
        # video over audio in file order is harmless to demuxers.
        if stamp < 200:
            tags.insert(first_av, tags.pop(first_video))
    body = _amf_string("onCmafFixture") + b"\x03"  # name, then an AMF0 object
    body += struct.pack(">H", 6) + b"source" + _amf_string("cmaf.data.fixtures") + b"\x00\x00\x09"
    tags.insert(first_av, _flv_tag(18, body))
    path.write_bytes(data[:header_end] + b"".join(tags))
    return path


# ---------------------------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------------------------


def ravdess_name(
    modality: int, vocal: int, emotion: int, intensity: int, statement: int, rep: int, actor: int
) -> str:
    """The RAVDESS file stem for the given codes."""
    return "-".join(
        f"{v:02d}" for v in (modality, vocal, emotion, intensity, statement, rep, actor)
    )


def make_ravdess_tree(
    root: str | Path,
    actors: Sequence[int] = (1, 2),
    emotions: Sequence[int] = (1, 3, 5),
    intensities: Sequence[int] = (1, 2),
    statements: Sequence[int] = (1,),
    repetitions: Sequence[int] = (1,),
    vocal_channels: Sequence[int] = (1,),
    size: tuple[int, int] = (1280, 720),
    seconds: float = 1.0,
    fps: Fraction = Fraction(30000, 1001),
    with_av: bool = True,
    with_audio_only: bool = True,
    with_video_only: bool = False,
    audio_format: str = "wav",
    stereo: int = 1,
    seed: int = 0,
) -> list[Path]:
    """Write a RAVDESS-like tree and return the files written (sorted).

    Parameters
    ----------
    actors, emotions, intensities, statements, repetitions, vocal_channels
        Codes to combine (neutral, emotion 1, only ever gets intensity 1, as in RAVDESS).
    size, seconds, fps
        Video geometry and clip length (real: 1280x720, 3-5 s, 29.97 fps).
    with_av, with_audio_only, with_video_only
        Write the 01- mp4 (H.264 + 48 kHz AAC), the 03- audio file and / or the 02- mp4 (no
        audio) of each take.
    audio_format
        ``"wav"`` (hand-written RIFF with ``bext`` / ``LIST`` / ``_PMX`` chunks, 16-bit 48 kHz)
        or ``"flac"`` (as in the shared real copy).
    stereo
        How many of the 03- files (the first ones written) are stereo; real RAVDESS has five.
    """
    if audio_format not in ("wav", "flac"):
        raise ValueError("audio_format must be 'wav' or 'flac'")
    root = Path(root)
    rng = np.random.default_rng(seed)
    written: list[Path] = []
    stereo_left = stereo
    frame_count = max(1, round(seconds * float(fps)))
    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for vocal in vocal_channels:
            for emotion in emotions:
                for intensity in intensities:
                    if emotion == 1 and intensity == 2:
                        continue  # no strong neutral in RAVDESS
                    for statement in statements:
                        for rep in repetitions:
                            codes = (vocal, emotion, intensity, statement, rep, actor)
                            freq = 180.0 + 40.0 * emotion + 5.0 * actor + 20 * float(rng.random())
                            hue = _hue(rng)
                            mono = _tone(seconds, 48000, freq)
                            if with_av:
                                path = folder / f"{ravdess_name(1, *codes)}.mp4"
                                written.append(
                                    write_av(
                                        path,
                                        _Frames(frame_count, size, hue),
                                        mono,
                                        fps=fps,
                                        sample_rate=48000,
                                        video_options={"preset": "ultrafast"},
                                    )
                                )
                            if with_video_only:
                                path = folder / f"{ravdess_name(2, *codes)}.mp4"
                                written.append(
                                    write_av(
                                        path,
                                        _Frames(frame_count, size, hue),
                                        None,
                                        fps=fps,
                                        video_options={"preset": "ultrafast"},
                                    )
                                )
                            if with_audio_only:
                                channels = 2 if stereo_left > 0 else 1
                                stereo_left -= 1
                                samples = _tone(seconds, 48000, freq, channels=channels)
                                stem = ravdess_name(3, *codes)
                                if audio_format == "wav":
                                    path = write_riff_wav(
                                        folder / f"{stem}.wav",
                                        samples,
                                        48000,
                                        before=[(b"bext", _bext(stem))],
                                        after=[
                                            (b"LIST", _list_info("Adobe Audition CS6 (fixture)")),
                                            (b"_PMX", b"<?xpacket begin='' id='fixture'?>"),
                                        ],
                                    )
                                else:
                                    path = folder / f"{stem}.flac"
                                    sf.write(path, samples.T, 48000, subtype="PCM_16")
                                written.append(path)
    return sorted(written)


# ---------------------------------------------------------------------------------------------
# CREMA-D
# ---------------------------------------------------------------------------------------------

_VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")
_VOTE_HEADER = [
    "",
    *_VOTE_LETTERS,
    "fileName",
    "numResponses",
    "agreement",
    "emoVote",
    "meanEmoResp",
    "meanAngerResp",
    "meanDisgustResp",
    "meanFearResp",
    "meanHappyResp",
    "meanNeutralResp",
    "meanSadResp",
    "medianEmoResp",
]


def crema_d_stems(
    actors: Sequence[int], sentences: Sequence[str], emotions: Sequence[str]
) -> list[str]:
    """Stems the CREMA-D fixture writes: IEO at levels LO / MD / HI (NEU at XX), others XX."""
    stems = []
    for actor in actors:
        for sentence in sentences:
            for emotion in emotions:
                levels = ("LO", "MD", "HI") if sentence == "IEO" and emotion != "NEU" else ("XX",)
                stems.extend(f"{actor}_{sentence}_{emotion}_{level}" for level in levels)
    return stems


def make_crema_d_tree(
    root: str | Path,
    actors: Sequence[int] = (1001, 1002),
    sentences: Sequence[str] = ("DFA",),
    emotions: Sequence[str] = crema_d.EMOTION_CODES,
    seconds: float = 0.6,
    size: tuple[int, int] = (480, 360),
    fps: Fraction = Fraction(30000, 1001),
    with_audio: bool = True,
    with_video: bool = True,
    with_demographics: bool = True,
    with_votes: bool = True,
    data_stream: bool = True,
    seed: int = 0,
) -> list[Path]:
    """Write a CREMA-D-like tree and return the media files written (sorted).

    ``tabulatedVotes.csv`` gets one row per clip and rating modality (row names ``1xxxxx`` voice,
    ``2xxxxx`` face, ``3xxxxx`` multimodal). Votes are deterministic: the face and multimodal
    majority is the acted emotion; the voice majority is the acted emotion too, except that every
    third clip is a tie between the acted emotion and the next letter, and every fifth (not third)
    is voted neutral, so a test can tell acted from perceived labels.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    stems = crema_d_stems(actors, sentences, emotions)
    written: list[Path] = []
    frame_count = max(1, round(seconds * float(fps)))
    for stem in stems:
        fields = crema_d.parse_name(stem)
        freq = (
            150.0 + 30.0 * crema_d.EMOTION_CODES.index(fields["emotion"]) + 10 * float(rng.random())
        )
        hue = _hue(rng)
        if with_audio:
            path = root / crema_d.AUDIO_DIR / f"{stem}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, _tone(seconds, 16000, freq)[0], 16000, subtype="PCM_16")
            written.append(path)
        if with_video:
            path = root / crema_d.VIDEO_DIR / f"{stem}.flv"
            write_av(
                path,
                _Frames(frame_count, size, hue),
                _tone(seconds, 44100, freq),
                fps=fps,
                sample_rate=44100,
                video_codec="flv",
                audio_codec="libmp3lame",
            )
            if data_stream:
                add_flv_data_stream(path)
            written.append(path)
    if with_demographics:
        path = root / crema_d.DEMOGRAPHICS
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
            writer.writerow(crema_d.DEMOGRAPHIC_COLUMNS)
            for actor in actors:
                sex = "Male" if actor % 2 else "Female"
                writer.writerow([actor, 20 + actor % 50, sex, "Caucasian", "Not Hispanic"])
    if with_votes:
        _write_votes(root / crema_d.VOTES, stems)
    return sorted(written)


def _write_votes(path: Path, stems: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(_VOTE_HEADER)
        for digit in ("1", "2", "3"):
            for i, stem in enumerate(stems, start=1):
                acted = crema_d.parse_name(stem)["emotion"][0]
                counts = dict.fromkeys(_VOTE_LETTERS, 0)
                if digit == "1" and i % 3 == 0:
                    other = _VOTE_LETTERS[(_VOTE_LETTERS.index(acted) + 1) % 6]
                    counts[acted], counts[other] = 4, 4
                    vote = ":".join(sorted((acted, other)))
                elif digit == "1" and i % 5 == 0:
                    counts["N"], counts[acted] = 6, 2 if acted != "N" else 6
                    vote = "N"
                else:
                    counts[acted] = 8
                    vote = acted
                total = sum(counts.values())
                agreement = max(counts.values()) / max(total, 1)
                writer.writerow(
                    [
                        f"{digit}{i:05d}",
                        *counts.values(),
                        stem,
                        total,
                        agreement,
                        vote,
                        *([50.0] * 9),
                    ]
                )


# ---------------------------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------------------------

#: Default fixture dialog: (speaker sex, label code) per utterance, in time order.
IEMOCAP_UTTERANCES: tuple[tuple[str, str], ...] = (
    ("F", "neu"),
    ("M", "ang"),
    ("F", "hap"),
    ("M", "exc"),
    ("F", "xxx"),
    ("M", "fru"),
    ("F", "sad"),
    ("M", "sur"),
    ("F", "fea"),
    ("M", "dis"),
    ("F", "oth"),
)

_CATEGORY_WORDS = {
    "neu": "Neutral",
    "ang": "Anger",
    "hap": "Happiness",
    "exc": "Excited",
    "fru": "Frustration",
    "sad": "Sadness",
    "sur": "Surprise",
    "fea": "Fear",
    "dis": "Disgust",
    "oth": "Other",
    "xxx": "Neutral",
}


class _SplitFrames(_Frames):
    """Side-by-side frames: warm bright left half, cool dark right half, each with a disc."""

    def __getitem__(self, index):
        frame = super().__getitem__(index)
        half = self.width // 2
        frame[:, :half] = np.clip(
            frame[:, :half].astype(np.int16) * [1, 0.5, 0.3] + [90, 0, 0], 0, 255
        )
        frame[:, half:] = np.clip(frame[:, half:].astype(np.int16) * [0.3, 0.5, 1], 0, 255)
        return frame


def make_iemocap_tree(
    root: str | Path,
    session: int = 1,
    dialog: str | None = None,
    utterances: Sequence[tuple[str, str]] = IEMOCAP_UTTERANCES,
    utterance_seconds: float = 0.3,
    gap_seconds: float = 0.1,
    lead_seconds: float = 0.2,
    size: tuple[int, int] = (720, 480),
    fps: Fraction = Fraction(30000, 1001),
    with_video: bool = True,
    seed: int = 0,
) -> list[Path]:
    """Write one IEMOCAP session holding one dialog; return the media files written (sorted).

    Utterance ``k`` spoken by sex ``s`` gets the id ``<dialog>_<s><nnn>`` where ``nnn`` counts
    that speaker's turns, as in the real corpus. The EmoEvaluation file has the ``%`` header,
    the utterance lines and ``C-``/``A-`` annotator lines.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    dialog = dialog or f"Ses{session:02d}F_impro01"
    base = root / f"Session{session}"
    written: list[Path] = []
    rate = 16000
    turn = {"F": 0, "M": 0}
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    t = lead_seconds
    dialog_audio = []
    for sex, code in utterances:
        utt = f"{dialog}_{sex}{turn[sex]:03d}"
        turn[sex] += 1
        start, end = t, t + utterance_seconds
        freq = 200.0 + 60.0 * list(_CATEGORY_WORDS).index(code) + 10 * float(rng.random())
        tone = _tone(utterance_seconds, rate, freq)
        path = base / "sentences" / "wav" / dialog / f"{utt}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone[0], rate, subtype="PCM_16")
        written.append(path)
        dialog_audio.append((start, tone[0]))
        v, a, d = (2.0 + float(rng.integers(0, 5)) * 0.5 for _ in range(3))
        word = _CATEGORY_WORDS[code]
        lines += [
            f"[{start:.4f} - {end:.4f}]\t{utt}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
            f"C-E2:\t{word};\t()",
            f"C-E3:\t{word};\t()",
            f"C-F1:\t{word};\t(fixture)",
            f"A-E3:\tval {int(v)}; act {int(a)}; dom  {int(d)};\t()",
            f"A-F1:\tval {int(v)}; act {int(a)}; dom  {int(d)};\t()",
            "",
        ]
        t = end + gap_seconds
    total = t + lead_seconds
    evaluation = base / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    evaluation.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_text("\n".join(lines) + "\n")

    full = np.zeros(round(total * rate), dtype=np.float32)
    for start, tone in dialog_audio:
        first = round(start * rate)
        full[first : first + tone.size] += tone
    dialog_wav = base / "dialog" / "wav" / f"{dialog}.wav"
    dialog_wav.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dialog_wav, full, rate, subtype="PCM_16")
    written.append(dialog_wav)
    if with_video:
        avi = base / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
        frames = _SplitFrames(max(1, round(total * float(fps))), size, _hue(rng))
        write_av(
            avi,
            frames,
            full,
            fps=fps,
            sample_rate=rate,
            video_codec="mpeg4",
            audio_codec="pcm_s16le",
            video_options={"qscale": "4"},
        )
        written.append(avi)
    return sorted(written)


# ------------------------------------------------------------------------ small shared helpers


def tiny_cmaf_config(**overrides):
    """Small for testing speed: CMAF's architecture with small frames and widths."""
    from cmaf.models.config import AudioEncoderConfig, CMAFConfig, VisualEncoderConfig

    values = dict(
        audio=AudioEncoderConfig(n_mels=32, mel_frames=40, channels=(4, 8, 8, 8), out_dim=16),
        visual=VisualEncoderConfig(num_frames=6, image_size=32, gru_hidden=8),
        latent_dim=16,
        attention_heads=4,
        tucker_ranks=(3, 5, 6),
        fbp_dim=12,
        num_classes=5,
    )
    values.update(overrides)
    return CMAFConfig(**values)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead: it has exited, only unreaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
