"""``cmaf synth``: the embedded synthetic audio-visual emotion corpus, in RAVDESS's layout.

It lets the whole pipeline run without the licence-bound datasets, and it carries generative
ground truth (action units, mouth opening, F0, energy per video frame) that real data cannot
give. ``Actor_XX/01-01-EE-II-SS-RR-AA.mp4`` clips (60 per actor) with per-clip and per-frame
ground-truth CSVs; the same seed and configuration give the same bytes. How a clip is made,
which modality separates which classes, determinism and re-running into a folder are explained
in the book page ``book/synthetic_corpus.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops

from cmaf.data.media import write_av
from cmaf.data.synth_face import AUS, POSTURE, PROTOTYPES, FaceRenderer, draw_face_actor
from cmaf.data.synth_voice import (
    EMOTIONS,
    clip_profile,
    degrade_audio,
    draw_voice_actor,
    synthesize_voice,
)

MAX_ACTORS = 24  # RAVDESS has 24 actors; two-digit actor fields
MARKER = "synth.json"
CLIPS_CSV = "ground_truth_clips.csv"
FRAMES_CSV = "ground_truth_frames.csv"
FORMAT_VERSION = 1

_CLIP_NAME = re.compile(r"^01-01-0[1-8]-0[12]-0[12]-0[12]-\d\d\.mp4$")


class SynthError(ValueError):
    """Bad arguments or an output folder the generator must not write into (one-line message)."""


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of the synthetic corpus; changing any of them changes the corpus.

    The defaults were calibrated so that each modality alone stays well below 100 % and fusion
    helps (``book/synthetic_corpus.md``).
    """

    actors: int = 8  # 1..24, 60 clips each
    seed: int = 0  # master seed: same seed and config, same corpus
    # RAVDESS's 16:9 at a quarter of its 1280x720; the face is a close-up (FaceRenderer).
    width: int = 320
    height: int = 180
    # Shortest and longest clip (s): leading silence, utterance and trailing silence, rounded to
    # whole video frames.
    clip_seconds: tuple[float, float] = (3.0, 3.6)
    lead_seconds: tuple[float, float] = (0.45, 0.75)  # leading silence before the utterance
    min_trail_seconds: float = 0.35  # least silence after it
    fps_num: int = 30000  # 29.97 fps and 48 kHz audio, as RAVDESS
    fps_den: int = 1001
    sample_rate: int = 48000
    normal_scale: float = 0.75  # how far normal intensity goes from neutral towards strong
    au_jitter: float = 0.25  # log-normal per-clip spread of each AU's peak
    au_leak: float = 0.08  # scale of the spurious activation of AUs outside the prototype
    au_noise: float = 0.04  # frame-to-frame wobble of the AUs
    calm_lid_relax: float = 0.06  # AU43 of the calm face: below au_leak, so calm is audio-only
    voice_jitter: float = 0.08  # relative per-clip spread of the prosodic parameters
    lip_gain: float = 0.85  # how much the syllable envelope opens the mouth
    blink_rate: float = 0.3  # blinks per second
    light_jitter: float = 0.06  # per-clip spread of the lighting level and side fall-off
    light_flicker: float = 0.04  # within-clip slow variation of the lighting
    p_degrade: float = 0.35  # probability that one modality of a clip is degraded,
    p_audio_degrade: float = 0.5  # and that it is the audio (otherwise the video)
    audio_degradations: tuple[str, ...] = ("noise", "muffle")
    video_degradations: tuple[str, ...] = ("occlusion", "blur", "dark")
    snr_db: tuple[float, float] = (-8.0, 2.0)  # SNR range of "noise"
    muffle_cutoff_hz: tuple[float, float] = (250.0, 500.0)  # low-pass cut-off range of "muffle"
    blur_factor: tuple[int, int] = (6, 10)  # down/up-sampling factor range of "blur"
    dark_gain: tuple[float, float] = (0.12, 0.25)  # brightness gain range of "dark",
    dark_noise: float = 6.0  # and the std of the sensor noise added after it
    x264_preset: str = "superfast"  # fixed encoder settings (one thread: identical bytes)
    x264_crf: int = 23

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    def validate(self) -> None:
        """Raise :class:`SynthError` with one line naming the bad knob."""
        if not 1 <= self.actors <= MAX_ACTORS:
            raise SynthError(f"actors must be between 1 and {MAX_ACTORS} (got {self.actors})")
        if self.width < 32 or self.height < 18 or self.width % 2 or self.height % 2:
            raise SynthError(
                f"frame size must be even and at least 32x18 (got {self.width}x{self.height})"
            )
        lo, hi = self.clip_seconds
        if not 1.0 <= lo <= hi <= 20.0:
            raise SynthError(f"clip_seconds must satisfy 1 <= low <= high <= 20 (got {lo}, {hi})")
        if not 0.0 <= self.p_degrade <= 1.0 or not 0.0 <= self.p_audio_degrade <= 1.0:
            raise SynthError("p_degrade and p_audio_degrade must lie in [0, 1]")
        for kind in self.audio_degradations:
            if kind not in ("noise", "muffle"):
                raise SynthError(f"unknown audio degradation {kind!r} (noise, muffle)")
        for kind in self.video_degradations:
            if kind not in ("occlusion", "blur", "dark"):
                raise SynthError(f"unknown video degradation {kind!r} (occlusion, blur, dark)")

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ClipSpec:
    """The RAVDESS fields of one clip."""

    actor: int
    emotion: int
    intensity: int
    statement: int
    repetition: int

    @property
    def clip_id(self) -> str:
        return (
            f"01-01-{self.emotion:02d}-{self.intensity:02d}-{self.statement:02d}-"
            f"{self.repetition:02d}-{self.actor:02d}"
        )

    @property
    def relpath(self) -> str:
        return f"Actor_{self.actor:02d}/{self.clip_id}.mp4"


@dataclass
class SynthSummary:
    """What :func:`synthesize` did."""

    out_dir: Path
    clips: int
    frames: int
    seconds: float
    reused: bool = False
    config: SynthConfig = field(default_factory=SynthConfig)


def clip_specs(actors: int) -> list[ClipSpec]:
    """All clips of ``actors`` actors in RAVDESS order (60 per actor)."""
    specs = []
    for actor in range(1, actors + 1):
        for emotion in range(1, 9):
            for intensity in (1,) if emotion == 1 else (1, 2):
                for statement in (1, 2):
                    for repetition in (1, 2):
                        specs.append(ClipSpec(actor, emotion, intensity, statement, repetition))
    return specs


# ----------------------------------------------------------------------------- one clip

FRAME_COLUMNS = (
    "clip_id",
    "frame",
    "time_s",
    *AUS,
    "mouth_opening",
    "speech_drive",
    "f0_hz",
    "energy",
    "blink",
    "head_yaw",
    "head_pitch",
    "head_roll",
    "light_gain",
)
CLIP_COLUMNS = (
    "clip_id",
    "path",
    "actor",
    "sex",
    "emotion",
    "emotion_name",
    "intensity",
    "statement",
    "repetition",
    "n_frames",
    "duration_s",
    "n_samples",
    "speech_start_s",
    "speech_end_s",
    "f0_base_hz",
    "f0_shift_st",
    "f0_mean_hz",
    "accent_st",
    "rate",
    "loudness_db",
    "tilt_pole",
    "breathiness",
    "formant_scale",
    *(f"peak_{au}" for au in AUS),
    "degraded_modality",
    "degradation",
    "snr_db",
    "degradation_param",
    "clip_seed",
)


def _actor_rngs(seed: int, actor: int) -> tuple[np.random.Generator, np.random.Generator]:
    ss = np.random.SeedSequence(seed, spawn_key=(actor,))
    face_ss, voice_ss = ss.spawn(2)
    return np.random.default_rng(face_ss), np.random.default_rng(voice_ss)


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6f}"
    return str(value)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def make_clip(cfg: SynthConfig, spec: ClipSpec, out_dir: Path) -> tuple[list, list[list]]:
    """Generate one clip: write its mp4, return its clip row and frame rows (CSV-ready)."""
    male = spec.actor % 2 == 1
    face_rng, voice_rng = _actor_rngs(cfg.seed, spec.actor)
    face_actor = draw_face_actor(face_rng, male)
    voice_actor = draw_voice_actor(voice_rng, male)
    key = (spec.actor, spec.emotion, spec.intensity, spec.statement, spec.repetition)
    clip_ss = np.random.SeedSequence(cfg.seed, spawn_key=(*key, 1))
    clip_seed = int(clip_ss.generate_state(1)[0])
    rng = np.random.default_rng(clip_ss)
    strong = spec.intensity == 2
    sr = cfg.sample_rate
    fps = cfg.fps

    # ---- voice (it also fixes the clip length: whole frames, the matching audio samples)
    profile = clip_profile(spec.emotion, strong, cfg.normal_scale)
    voice = synthesize_voice(
        rng,
        voice_actor,
        profile,
        spec.statement,
        cfg.clip_seconds,
        fps,
        sr,
        cfg.lead_seconds,
        cfg.min_trail_seconds,
        cfg.voice_jitter,
    )
    n_frames = voice.n_frames
    n_samples = voice.audio.size
    duration = n_samples / sr

    # ---- degradation (exactly one modality, or none)
    degraded, kind, snr, dparam = "none", "none", "", ""
    if rng.random() < cfg.p_degrade:
        if rng.random() < cfg.p_audio_degrade and cfg.audio_degradations:
            degraded = "audio"
            kind = str(rng.choice(list(cfg.audio_degradations)))
        elif cfg.video_degradations:
            degraded = "video"
            kind = str(rng.choice(list(cfg.video_degradations)))
    audio = voice.audio
    speech = slice(int(voice.speech_start * sr), int(voice.speech_end * sr))
    if degraded == "audio":
        audio, info = degrade_audio(rng, audio, kind, sr, speech, cfg.snr_db, cfg.muffle_cutoff_hz)
        if "snr_db" in info:
            snr = f"{info['snr_db']:.6f}"
        else:
            dparam = f"cutoff_hz={info['cutoff_hz']:.1f}"

    # ---- per-frame generative parameters at the video timestamps
    times = np.arange(n_frames) * float(fps.denominator) / float(fps.numerator)
    edges = np.round(np.arange(n_frames + 1) * fps.denominator * sr / fps.numerator).astype(int)
    edges = np.minimum(edges, n_samples)
    clean = voice.audio.astype(np.float64)
    csum2 = np.concatenate([[0.0], np.cumsum(clean**2)])
    cmouth = np.concatenate([[0.0], np.cumsum(voice.mouth)])
    voiced = voice.voicing > 0.3
    cvoiced = np.concatenate([[0], np.cumsum(voiced)])
    cf0 = np.concatenate([[0.0], np.cumsum(np.where(voiced, voice.f0, 0.0))])
    width = np.maximum(edges[1:] - edges[:-1], 1)
    energy = np.sqrt((csum2[edges[1:]] - csum2[edges[:-1]]) / width)
    drive = (cmouth[edges[1:]] - cmouth[edges[:-1]]) / width
    nv = cvoiced[edges[1:]] - cvoiced[edges[:-1]]
    f0 = np.where(nv >= 0.5 * width, (cf0[edges[1:]] - cf0[edges[:-1]]) / np.maximum(nv, 1), 0.0)

    # ---- AUs: prototype x intensity x expressiveness x jitter, with onset/apex/offset
    proto = dict(PROTOTYPES[spec.emotion])
    if spec.emotion == 2:
        proto = {"AU43": cfg.calm_lid_relax}
    scale = (1.0 if strong else cfg.normal_scale) * face_actor.expressiveness
    peaks = {}
    for au in AUS:
        leak = abs(rng.normal(0.0, cfg.au_leak))
        amp = proto.get(au, 0.0) * scale * float(np.exp(rng.normal(0.0, cfg.au_jitter)))
        peaks[au] = float(np.clip(amp, 0.0, 1.0)), leak
    onset = voice.speech_start - rng.uniform(0.1, 0.5)
    offset = voice.speech_end + rng.uniform(0.1, 0.4)
    base = rng.uniform(0.1, 0.35)
    env = base + (1.0 - base) * _smoothstep((times - onset) / 0.35)
    env = env * (1.0 - 0.4 * _smoothstep((times - offset) / 0.6))
    au_tracks = {}
    knots = np.linspace(0.0, duration, max(4, int(duration * 3)))
    for au in AUS:
        peak, leak = peaks[au]
        wobble = np.interp(times, knots, rng.normal(0.0, cfg.au_noise, len(knots)))
        au_tracks[au] = np.clip(peak * env + leak + wobble, 0.0, 1.0)
    mouth = np.clip(
        0.55 * au_tracks["AU26"] + cfg.lip_gain * drive * (1.0 - 0.4 * au_tracks["AU23"]), 0, 1
    )

    # ---- blinks, head pose, lighting
    blink = np.zeros(n_frames)
    shape = np.array([0.5, 1.0, 0.8, 0.45, 0.15])
    t_blink = rng.exponential(1.0 / cfg.blink_rate) if cfg.blink_rate > 0 else np.inf
    while t_blink < duration:
        i = int(t_blink * float(fps))
        seg = blink[i : i + len(shape)]
        blink[i : i + len(shape)] = np.maximum(seg, shape[: len(seg)])
        t_blink += 0.3 + rng.exponential(1.0 / cfg.blink_rate)
    motion, pitch_off, yaw_off = POSTURE[spec.emotion]
    motion *= 1.0 + 0.6 * (scale - 0.6) if spec.emotion != 1 else 1.0
    ph = rng.uniform(0, 2 * np.pi, 4)
    fa = face_actor
    yaw = fa.sway_amp * motion * np.sin(2 * np.pi * fa.sway_hz * times + ph[0]) + yaw_off * env
    pitch = (
        fa.nod_amp * motion * np.sin(2 * np.pi * 1.7 * fa.sway_hz * times + ph[1])
        + pitch_off * env * scale
        + 0.02 * motion * drive  # small nods with the syllables
    )
    roll = fa.roll_amp * motion * np.sin(2 * np.pi * 0.8 * fa.sway_hz * times + ph[2])
    dx = 0.6 * yaw + rng.uniform(-0.08, 0.08)
    dy = 0.4 * pitch + rng.uniform(-0.04, 0.04)
    # Lighting only ever dims (gain <= 1), so it can be applied with 8-bit PIL operations:
    # a per-clip level with a slow flicker, and a side-to-side fall-off (light from one side).
    light = max(0.5, 1.0 - abs(rng.normal(0.0, 1.5 * cfg.light_jitter)))
    slope = min(0.6, abs(rng.normal(0.0, 2.0 * cfg.light_jitter))) * rng.choice([-1.0, 1.0])
    wave = np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * times + ph[3])
    gain = light * (1.0 - cfg.light_flicker * (0.5 + 0.5 * wave))
    occluder = None
    noise_std = 0.0
    blur = 1
    if degraded == "video":
        if kind == "occlusion":
            region = str(rng.choice(["upper", "lower"]))
            grey = int(rng.uniform(60, 200))
            occluder = (region, (grey, grey, grey - 10))
            dparam = f"region={region}"
        elif kind == "blur":
            blur = int(rng.integers(cfg.blur_factor[0], cfg.blur_factor[1] + 1))
            dparam = f"factor={blur}"
        else:
            dark = rng.uniform(*cfg.dark_gain)
            gain = gain * dark
            noise_std = cfg.dark_noise
            dparam = f"gain={dark:.3f}"
    xs = np.linspace(0.0, 1.0, cfg.width)
    falloff = 1.0 - abs(slope) * (xs if slope > 0 else 1.0 - xs)

    # ---- render and encode
    renderer = FaceRenderer(face_actor, cfg.width, cfg.height)
    frames = np.empty((n_frames, cfg.height, cfg.width, 3), dtype=np.uint8)
    small = (max(cfg.width // blur, 4), max(cfg.height // blur, 4))
    for i in range(n_frames):
        img = renderer.render(
            {au: float(au_tracks[au][i]) for au in AUS},
            *(float(track[i]) for track in (mouth, blink, yaw, pitch, roll, dx, dy)),
            occluder,
        )
        if blur > 1:
            img = img.resize(small, Image.BOX).resize((cfg.width, cfg.height), Image.BILINEAR)
        row = np.round(255.0 * gain[i] * falloff).astype(np.uint8)
        light = Image.fromarray(np.repeat(row[None, :, None], 3, axis=2)).resize(
            img.size, Image.NEAREST
        )
        img = ImageChops.multiply(img, light)  # 8-bit a * b / 255
        if noise_std > 0:  # dark degradation: sensor noise on top of the dimmed image
            pixels = np.asarray(img, dtype=np.float32)
            pixels += rng.normal(0.0, noise_std, pixels.shape).astype(np.float32)
            np.clip(pixels, 0, 255, out=frames[i], casting="unsafe")
        else:
            frames[i] = np.asarray(img)

    target = out_dir / spec.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".partial-{target.name}")
    write_av(
        partial,
        frames,
        audio,
        fps=fps,
        sample_rate=sr,
        video_options={
            "preset": cfg.x264_preset,
            "crf": str(cfg.x264_crf),
            "threads": "1",  # one thread: identical bytes whatever the machine
        },
        # FFmpeg's fast AAC coder: several times quicker than its default two-loop search,
        # which is a noticeable share of each clip's generation time.
        audio_options={"aac_coder": "fast"},
    )
    os.replace(partial, target)

    p = voice.params
    clip_row = [
        spec.clip_id,
        spec.relpath,
        spec.actor,
        "male" if male else "female",
        f"{spec.emotion:02d}",
        EMOTIONS[spec.emotion],
        "strong" if strong else "normal",
        f"{spec.statement:02d}",
        f"{spec.repetition:02d}",
        n_frames,
        _fmt(duration),
        n_samples,
        _fmt(voice.speech_start),
        _fmt(voice.speech_end),
        *(_fmt(p[k]) for k in ("f0_base_hz", "f0_shift_st", "f0_mean_hz", "accent_st", "rate")),
        *(_fmt(p[k]) for k in ("loudness_db", "tilt_pole", "breathiness", "formant_scale")),
        *(_fmt(peaks[au][0]) for au in AUS),
        degraded,
        kind,
        snr,
        dparam,
        clip_seed,
    ]
    frame_rows = [
        [
            spec.clip_id,
            i,
            _fmt(times[i]),
            *(_fmt(au_tracks[au][i]) for au in AUS),
            _fmt(mouth[i]),
            _fmt(drive[i]),
            f"{f0[i]:.3f}",
            *(_fmt(track[i]) for track in (energy, blink, yaw, pitch, roll, gain)),
        ]
        for i in range(n_frames)
    ]
    return clip_row, frame_rows


def _job(payload: tuple[SynthConfig, ClipSpec, str]) -> tuple[list, list[list]]:
    cfg, spec, out_dir = payload
    return make_clip(cfg, spec, Path(out_dir))


# ----------------------------------------------------------------------------- the corpus

README_TEXT = """# Synthetic audio-visual emotion corpus (cmaf synth)

**This corpus is synthetic.** No person was recorded: every face is a parametric 2-D drawing and
every voice a source-filter synthesis, generated by `cmaf synth` (module `cmaf.data.synth`) from
seed {seed}. It follows the layout and file naming of RAVDESS (Livingstone & Russo 2018) so the
same loader reads both, but results on it say nothing about real emotion recognition.

- Layout: `Actor_XX/01-01-EE-II-SS-RR-AA.mp4` (audio-visual speech; EE emotion 01 neutral,
  02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; II intensity 01
  normal / 02 strong, none for neutral; SS statement; RR repetition; AA actor, odd male, even
  female), {actors} actors x 60 clips = {clips} clips.
- Media: H.264 video {width}x{height} at 29.97 fps and AAC mono audio at 48 kHz per clip.
- Faces: FACS action-unit prototypes per emotion (happy AU6+12, sad AU1+4+15, surprise
  AU1+2+5+26, fear AU1+2+4+5+20+26, anger AU4+5+7+23, disgust AU9+15+16, neutral none, calm
  faintly relaxed lids), mouth opening driven by the voice's syllable envelope (lip sync), head
  motion, blinks and lighting drift.
- Voices: glottal pulses through vowel formant resonators, with emotion-dependent pitch level,
  range and contour, rate, loudness, spectral tilt, breathiness and tremor after Scherer (1986),
  Banse & Scherer (1996) and Juslin & Laukka (2003).
- By design calm vs neutral differ mainly in the voice, angry vs disgust and sad vs calm mainly
  in the face, and in some clips one modality is degraded (audio: noise at low SNR or muffling;
  video: occlusion, blur or darkness), so both modalities are needed.
- `ground_truth_clips.csv`: per clip labels, prosody, AU peaks, degradation and seed.
- `ground_truth_frames.csv`: per video frame (times equal the frame timestamps) every AU value,
  mouth opening, syllable drive, F0 (0 when unvoiced), clean-speech RMS energy, blink, head pose
  and lighting gain.
- `synth.json`: the full generating configuration; rerunning `cmaf synth` with it reproduces the
  corpus byte for byte.
"""


def _owned_files(out_dir: Path) -> list[Path]:
    owned = [out_dir / name for name in (CLIPS_CSV, FRAMES_CSV, "README.md", MARKER)]
    for actor_dir in out_dir.glob("Actor_[0-9][0-9]"):
        if actor_dir.is_dir():
            owned += [
                p
                for p in actor_dir.iterdir()
                if _CLIP_NAME.match(p.name) or p.name.startswith(".partial-")
            ]
    owned += list(out_dir.glob(".partial-*.csv"))
    return [p for p in owned if p.exists()]


def _read_marker(out_dir: Path) -> dict | None:
    try:
        data = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == "cmaf.data.synth" else None


def _write_marker(out_dir: Path, cfg: SynthConfig, complete: bool) -> None:
    data = {
        "generator": "cmaf.data.synth",
        "format_version": FORMAT_VERSION,
        "complete": complete,
        "config": cfg.to_json(),
    }
    (out_dir / MARKER).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _prepare_out_dir(out_dir: Path, cfg: SynthConfig) -> bool:
    """Check the output folder; return True when it already holds this exact corpus."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthError(f"output {out_dir} exists and is not a folder")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return False
    marker = _read_marker(out_dir)
    if marker is None:
        raise SynthError(
            f"output folder {out_dir} is not empty and holds no synth corpus ({MARKER} missing):"
            " pass a new or empty folder"
        )
    same = marker.get("config") == cfg.to_json() and marker.get("format_version") == FORMAT_VERSION
    if same and marker.get("complete"):
        expected = {spec.relpath for spec in clip_specs(cfg.actors)}
        present = {f"{p.parent.name}/{p.name}" for p in _owned_files(out_dir) if p.suffix == ".mp4"}
        if expected == present and (out_dir / FRAMES_CSV).exists():
            return True
    # An earlier synth corpus with another configuration, or an interrupted one: remove only
    # the generator's own files, then regenerate.
    for path in _owned_files(out_dir):
        path.unlink()
    for actor_dir in out_dir.glob("Actor_[0-9][0-9]"):
        if actor_dir.is_dir() and not any(actor_dir.iterdir()):
            actor_dir.rmdir()
    return False


def synthesize(
    out_dir: str | Path,
    actors: int | None = None,
    seed: int | None = None,
    workers: int = 2,
    size: tuple[int, int] | None = None,
    progress: bool = True,
    config: SynthConfig | None = None,
) -> SynthSummary:
    """Write the synthetic corpus into ``out_dir``.

    Parameters
    ----------
    out_dir
        A new or empty folder, or an earlier synth corpus: left alone if it was made with the
        same configuration, else its generator-owned files are replaced.
    actors, seed, size
        Override :class:`SynthConfig`'s ``actors``, ``seed`` and ``(width, height)``.
    workers
        Processes rendering and encoding clips in parallel (does not change the output).
    progress
        Show a tqdm progress bar on stderr.
    config
        All other knobs; defaults to ``SynthConfig()``.

    Returns
    -------
    SynthSummary
        Whether an existing identical corpus was reused, counts and elapsed seconds.

    Raises
    ------
    SynthError
        Bad arguments or an output folder that holds something else.
    """
    cfg = config or SynthConfig()
    overrides = {}
    if actors is not None:
        overrides["actors"] = int(actors)
    if seed is not None:
        overrides["seed"] = int(seed)
    if size is not None:
        overrides["width"], overrides["height"] = int(size[0]), int(size[1])
    if overrides:
        cfg = SynthConfig(**{**asdict(cfg), **overrides})
    cfg.validate()
    if workers < 1:
        raise SynthError(f"workers must be at least 1 (got {workers})")
    out_dir = Path(out_dir)
    started = time.perf_counter()
    if _prepare_out_dir(out_dir, cfg):
        with open(out_dir / CLIPS_CSV, newline="") as fh:
            n_clips = sum(1 for _ in fh) - 1
        with open(out_dir / FRAMES_CSV, newline="") as fh:
            n_frames = sum(1 for _ in fh) - 1
        return SynthSummary(out_dir, n_clips, n_frames, time.perf_counter() - started, True, cfg)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_marker(out_dir, cfg, complete=False)
    specs = clip_specs(cfg.actors)
    payloads = [(cfg, spec, str(out_dir)) for spec in specs]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(specs), unit="clip", desc="cmaf synth", file=sys.stderr)
    n_frames = 0
    # Rows are streamed to the CSVs as clips finish (imap keeps the RAVDESS order), so memory
    # stays flat for 24 actors; ``.partial`` names until complete.
    clips_part = out_dir / f".partial-{CLIPS_CSV}"
    frames_part = out_dir / f".partial-{FRAMES_CSV}"
    with (
        open(clips_part, "w", newline="") as fh_clips,
        open(frames_part, "w", newline="") as fh_frames,
    ):
        clips_writer = csv.writer(fh_clips, lineterminator="\n")
        frames_writer = csv.writer(fh_frames, lineterminator="\n")
        clips_writer.writerow(CLIP_COLUMNS)
        frames_writer.writerow(FRAME_COLUMNS)

        def consume(result: tuple[list, list[list]]) -> None:
            nonlocal n_frames
            clip_row, frame_rows = result
            clips_writer.writerow(clip_row)
            frames_writer.writerows(frame_rows)
            n_frames += len(frame_rows)
            if bar is not None:
                bar.update()

        if workers == 1:
            for payload in payloads:
                consume(_job(payload))
        else:
            # spawn, not fork: the caller may hold threads (torch, a notebook) that a forked
            # child would inherit locked; the workers' start-up costs about a second.
            with multiprocessing.get_context("spawn").Pool(min(workers, len(specs))) as pool:
                for result in pool.imap(_job, payloads, chunksize=1):
                    consume(result)
    if bar is not None:
        bar.close()
    os.replace(clips_part, out_dir / CLIPS_CSV)
    os.replace(frames_part, out_dir / FRAMES_CSV)
    (out_dir / "README.md").write_text(
        README_TEXT.format(
            seed=cfg.seed,
            actors=cfg.actors,
            clips=len(specs),
            width=cfg.width,
            height=cfg.height,
        )
    )
    _write_marker(out_dir, cfg, complete=True)
    return SynthSummary(out_dir, len(specs), n_frames, time.perf_counter() - started, False, cfg)


# ----------------------------------------------------------------------------- command line


def _parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x180, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def register(subparsers) -> None:
    """Add ``cmaf synth`` to the command line."""
    parser = subparsers.add_parser(
        "synth",
        help="write the synthetic audio-visual emotion corpus (RAVDESS layout)",
        description=(
            "Write a synthetic audio-visual emotion corpus in RAVDESS's layout and naming "
            "(Actor_XX/01-01-EE-II-SS-RR-AA.mp4, 60 clips per actor) with per-clip and per-frame "
            "ground truth CSVs. Same seed and options, same bytes."
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (new or empty)")
    parser.add_argument(
        "--actors",
        type=int,
        default=SynthConfig.actors,
        help=f"number of actors, 1..{MAX_ACTORS} (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=SynthConfig.seed, help="master seed (default %(default)s)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="parallel processes (default %(default)s)"
    )
    parser.add_argument(
        "--size",
        type=_parse_size,
        default=None,
        metavar="WxH",
        help=f"frame size (default {SynthConfig.width}x{SynthConfig.height})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        summary = synthesize(
            args.out,
            actors=args.actors,
            seed=args.seed,
            workers=args.workers,
            size=args.size,
            progress=not args.quiet,
        )
    except SynthError as exc:
        print(f"cmaf synth: error: {exc}", file=sys.stderr)
        return 2
    if summary.reused:
        print(f"{summary.out_dir}: already holds this corpus ({summary.clips} clips), nothing done")
    else:
        print(
            f"wrote {summary.clips} clips ({summary.frames} frames) to {summary.out_dir} "
            f"in {summary.seconds:.1f} s"
        )
    return 0


__all__ = [
    "AUS",
    "CLIP_COLUMNS",
    "FRAME_COLUMNS",
    "ClipSpec",
    "SynthConfig",
    "SynthError",
    "SynthSummary",
    "clip_specs",
    "make_clip",
    "synthesize",
]
