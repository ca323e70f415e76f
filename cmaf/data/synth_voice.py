"""Source–filter speech synthesis for the synthetic corpus (:mod:`cmaf.data.synth`).

A glottal pulse train (Rosenberg 1971) with an emotion-dependent F0 contour, spectral tilt and
aspiration noise, passed one syllable at a time through a cascade of formant resonators (Klatt
1980) set to the syllable's vowel; consonant-like onsets are noise bursts or nasal murmurs. It is
a prosodic carrier, not speech in any language. The emotion profiles follow the direction of the
effects in Scherer (1986), Banse & Scherer (1996) and Juslin & Laukka (2003), except that disgust
is given a voice close to anger's, so that the pair is separable mainly by the face. The book
page ``book/synthetic_corpus.md`` gives the details.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction

import numpy as np
from scipy import signal

from cmaf.data.ravdess import CLASSES

#: RAVDESS emotion codes (01..08) to canonical names.
EMOTIONS: dict[int, str] = dict(enumerate(CLASSES, start=1))


@dataclass(frozen=True)
class VoiceProfile:
    """Prosodic settings of one emotion at strong intensity."""

    f0_shift_st: float  # mean F0 relative to the speaker's base pitch (semitones)
    f0_range: float  # multiplier on the size of the pitch accents (1: about 3 semitones)
    contour: str  # declarative (gentle declination), fall, flat, rise (terminal) or risefall
    rate: float  # speaking-rate multiplier (> 1 faster: shorter syllables)
    loudness_db: float  # level relative to neutral speech
    tilt: float  # spectral tilt offset: > 0 steeper (darker, softer), < 0 flatter (pressed)
    breathiness: float  # aspiration-noise share of the source (0..1)
    jitter_st: float  # std of slow random F0 perturbation (semitones)
    tremor_st: float  # depth of a 5–7 Hz F0 tremor (semitones)


#: Strong-intensity profiles, keyed by RAVDESS emotion code. Directions after Banse & Scherer
#: (1996) and Juslin & Laukka (2003); magnitudes chosen so that calm/neutral and sad/calm differ
#: clearly while angry/disgust nearly coincide (see the module docstring).
PROFILES: dict[int, VoiceProfile] = {
    1: VoiceProfile(0.0, 1.0, "declarative", 1.00, 0.0, 0.00, 0.10, 0.10, 0.0),
    2: VoiceProfile(-1.5, 0.50, "flat", 0.87, -5.0, 0.30, 0.35, 0.05, 0.0),
    3: VoiceProfile(3.5, 1.70, "risefall", 1.06, 3.0, -0.30, 0.10, 0.15, 0.0),
    4: VoiceProfile(-2.5, 0.40, "fall", 0.80, -6.5, 0.42, 0.45, 0.15, 0.10),
    5: VoiceProfile(4.0, 1.50, "fall", 1.08, 8.0, -0.60, 0.00, 0.25, 0.0),
    6: VoiceProfile(6.0, 1.10, "declarative", 1.15, 2.0, -0.20, 0.25, 0.45, 0.55),
    7: VoiceProfile(3.5, 1.40, "fall", 1.05, 7.0, -0.55, 0.05, 0.25, 0.0),
    8: VoiceProfile(4.5, 2.00, "rise", 1.00, 3.0, -0.25, 0.10, 0.15, 0.0),
}

#: Vowel formants F1..F3 in Hz for an adult male (Peterson & Barney 1952); F4, F5 fixed below.
VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (270.0, 2290.0, 3010.0),
    "I": (390.0, 1990.0, 2550.0),
    "e": (530.0, 1840.0, 2480.0),
    "ae": (660.0, 1720.0, 2410.0),
    "a": (730.0, 1090.0, 2440.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
    "U": (440.0, 1020.0, 2240.0),
    "@": (500.0, 1500.0, 2500.0),
}
_F45 = (3500.0, 4500.0)
_BANDWIDTHS = (70.0, 90.0, 130.0, 180.0, 250.0)

#: The two RAVDESS statements as syllable patterns: (onset consonant, vowel, stress, relative
#: duration). Onsets: ``p`` plosive burst, ``s`` sibilant, ``f`` weak fricative, ``n`` nasal,
#: ``""`` none. Statement 01 ~ "Kids are talking by the door", 02 ~ "Dogs are sitting by the
#: door": different vowels, onsets and rhythm, so the two statements are distinct carriers.
STATEMENTS: dict[int, tuple[tuple[str, str, int, float], ...]] = {
    1: (
        ("p", "I", 1, 1.00),
        ("", "a", 0, 0.60),
        ("p", "o", 1, 1.05),
        ("p", "I", 0, 0.65),
        ("p", "a", 1, 0.95),
        ("f", "@", 0, 0.50),
        ("p", "o", 1, 1.45),
    ),
    2: (
        ("p", "o", 1, 1.10),
        ("", "a", 0, 0.55),
        ("s", "I", 1, 0.95),
        ("p", "i", 0, 0.60),
        ("n", "ae", 0, 0.70),
        ("p", "a", 1, 0.90),
        ("f", "@", 0, 0.50),
        ("p", "u", 1, 1.40),
    ),
}
_ONSET_SECONDS = {"p": 0.055, "s": 0.085, "f": 0.06, "n": 0.05, "": 0.0}
#: Seconds per relative-duration unit at rate 1: statement 01 lasts about 2.1 s.
_UNIT_SECONDS = 0.33


@dataclass(frozen=True)
class VoiceActor:
    """Speaker-specific voice settings (drawn once per actor)."""

    base_f0: float  # Hz: male ~110-130, female ~200-230
    formant_scale: float  # vocal-tract length: female ~1.15, individual +-4 %
    tilt: float  # individual voice quality offset
    rate: float  # individual speaking-rate multiplier
    loudness_db: float  # individual level offset
    breathiness: float  # individual breathiness offset


def draw_voice_actor(rng: np.random.Generator, male: bool) -> VoiceActor:
    """Draw a speaker: sex-typical base pitch and individual formant scaling."""
    return VoiceActor(
        base_f0=float(rng.uniform(110.0, 130.0) if male else rng.uniform(200.0, 230.0)),
        formant_scale=float((1.0 if male else 1.16) * rng.uniform(0.96, 1.04)),
        tilt=float(rng.uniform(-0.08, 0.08)),
        rate=float(rng.uniform(0.93, 1.07)),
        loudness_db=float(rng.uniform(-2.0, 2.0)),
        breathiness=float(rng.uniform(0.0, 0.12)),
    )


def clip_profile(emotion: int, strong: bool, normal_scale: float) -> VoiceProfile:
    """The profile of one emotion at one intensity (normal = part-way from neutral)."""
    target = PROFILES[emotion]
    if strong or emotion == 1:
        return target
    base = PROFILES[1]
    mixed = {}
    for f in fields(VoiceProfile):
        if f.name != "contour":
            a, b = getattr(base, f.name), getattr(target, f.name)
            mixed[f.name] = a + normal_scale * (b - a)
    return replace(target, **mixed)


@dataclass
class VoiceResult:
    """A synthesised utterance and its generative time courses (all at the audio rate)."""

    n_frames: int  # video frames of the clip; the audio covers exactly their duration
    audio: np.ndarray  # float32 (n,), clean speech plus a faint noise floor
    f0: np.ndarray  # Hz, the F0 contour (defined everywhere)
    voicing: np.ndarray  # 0..1, glottal excitation envelope
    mouth: np.ndarray  # 0..1, articulatory opening driven by the syllable envelope
    speech_start: float
    speech_end: float
    params: dict[str, float]


def _contour(kind: str, u: np.ndarray) -> np.ndarray:
    """Global intonation in semitones over utterance position ``u`` in [0, 1]."""
    if kind == "fall":
        return 1.0 - 4.0 * u
    if kind == "flat":
        return -0.8 * u
    if kind == "rise":
        return -1.0 * u + 7.0 * np.clip((u - 0.72) / 0.28, 0.0, 1.0) ** 2
    if kind == "risefall":
        return 2.5 * np.sin(np.pi * u) - 1.5 * u
    return 0.5 - 2.0 * u  # declarative: gentle declination


def _rosenberg(phase: np.ndarray, open_q: float = 0.45, close_q: float = 0.16) -> np.ndarray:
    """Rosenberg (1971) glottal flow for the fractional phase of each sample."""
    g = np.zeros_like(phase)
    rising = phase < open_q
    g[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / open_q))
    falling = (phase >= open_q) & (phase < open_q + close_q)
    g[falling] = np.cos(0.5 * np.pi * (phase[falling] - open_q) / close_q)
    return g


def _raised_ramp(n: int, rise: int, fall: int) -> np.ndarray:
    env = np.ones(n)
    rise, fall = min(rise, n // 2), min(fall, n // 2)
    if rise > 0:
        env[:rise] = 0.5 - 0.5 * np.cos(np.pi * np.arange(rise) / rise)
    if fall > 0:
        env[n - fall :] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fall + 1) / fall)
    return env


def _formant_filter(x: np.ndarray, formants: tuple[float, ...], sr: int) -> np.ndarray:
    """Cascade of Klatt second-order resonators with unity gain at DC."""
    y = x
    for freq, bw in zip(formants, _BANDWIDTHS, strict=False):
        if freq >= 0.45 * sr:
            continue
        r = np.exp(-np.pi * bw / sr)
        c = 2.0 * r * np.cos(2.0 * np.pi * freq / sr)
        a = [1.0, -c, r * r]
        y = signal.lfilter([1.0 - c + r * r], a, y)
    return y


def synthesize_voice(
    rng: np.random.Generator,
    actor: VoiceActor,
    profile: VoiceProfile,
    statement: int,
    clip_range: tuple[float, float],
    fps: Fraction,
    sr: int,
    lead_range: tuple[float, float],
    min_trail: float,
    jitter: float,
) -> VoiceResult:
    """Synthesise one utterance of ``statement`` and choose the clip length around it.

    The clip lasts leading silence + utterance + trailing silence, clamped to ``clip_range`` and
    rounded to whole video frames (slow, sad takes are longer, as in RAVDESS); an utterance that
    does not fit is squeezed.

    Parameters
    ----------
    rng
        The clip's generator (every random choice comes from it, so a clip is reproducible).
    clip_range
        Shortest and longest clip (s).
    fps
        Video frame rate: the audio holds exactly the samples of a whole number of frames.
    jitter
        Relative per-clip variation of the prosodic parameters (0 = every repetition identical):
        keeps a single acoustic measure from identifying the emotion perfectly.
    """
    sylls = STATEMENTS[statement]
    # Per-clip variation of the prosody around the profile.
    shift = profile.f0_shift_st + rng.normal(0.0, 1.2 * jitter / 0.15)
    rng_mult = profile.f0_range * float(np.exp(rng.normal(0.0, jitter)))
    rate = profile.rate * actor.rate * float(np.exp(rng.normal(0.0, 0.5 * jitter)))
    loud = profile.loudness_db + actor.loudness_db + rng.normal(0.0, 10.0 * jitter)
    tilt = profile.tilt + actor.tilt + rng.normal(0.0, 0.5 * jitter)
    breath = float(np.clip(profile.breathiness + actor.breathiness + rng.normal(0, jitter), 0, 0.8))

    # Syllable timing: onset consonant + vowel, durations from the pattern and the rate.
    rel = np.array([s[3] for s in sylls]) * rng.uniform(0.9, 1.1, len(sylls))
    total = rel.sum() * _UNIT_SECONDS / rate
    lead = rng.uniform(*lead_range)
    natural = lead + total + min_trail + rng.uniform(0.0, 0.35)
    n_frames = round(Fraction(min(max(natural, clip_range[0]), clip_range[1])) * fps)
    n_samples = round(Fraction(n_frames) / fps * sr)
    duration = n_samples / sr
    room = duration - min_trail - lead
    if total > room:  # short test clips: squeeze the lead first, then the speech
        lead = max(0.1 * duration, duration - min_trail - total)
        room = duration - min_trail - lead
        total = min(total, room)
    seconds = rel / rel.sum() * total
    starts = lead + np.concatenate([[0.0], np.cumsum(seconds)[:-1]])
    speech_start, speech_end = float(lead), float(lead + total)

    t = np.arange(n_samples) / sr
    u = np.clip((t - speech_start) / max(total, 1e-6), 0.0, 1.0)
    semis = np.full(n_samples, shift) + _contour(profile.contour, u)
    accent_st = 3.0 * rng_mult
    for (_, _, stress, _), s0, d in zip(sylls, starts, seconds, strict=True):
        if stress:
            centre = s0 + 0.55 * d
            semis += (
                accent_st * rng.uniform(0.7, 1.2) * np.exp(-0.5 * ((t - centre) / (0.3 * d)) ** 2)
            )
    # Slow random F0 wander (jitter in the loose, perceptual sense) and tremor.
    knots = np.arange(0.0, duration + 0.05, 0.05)
    semis += np.interp(t, knots, rng.normal(0.0, profile.jitter_st, len(knots)))
    if profile.tremor_st > 0:
        tremor_hz = rng.uniform(5.0, 7.0)
        semis += profile.tremor_st * np.sin(2 * np.pi * tremor_hz * t + rng.uniform(0, 2 * np.pi))
    f0 = actor.base_f0 * 2.0 ** (semis / 12.0)

    # Glottal source: Rosenberg flow, differentiated (lip radiation), plus aspiration noise.
    phase = np.mod(np.cumsum(f0 / sr), 1.0)
    flow = _rosenberg(phase)
    source = np.diff(flow, prepend=0.0) * (sr / (np.pi * actor.base_f0))
    aspiration = rng.standard_normal(n_samples) * (0.35 + 0.65 * flow)
    aspiration = signal.lfilter([1.0, -0.9], [1.0], aspiration) * 0.35
    source = (1.0 - breath) * source + breath * aspiration
    # Spectral tilt: one-pole low-pass; a larger pole darkens the voice (soft, sad, calm).
    pole = float(np.clip(0.6 + 0.45 * tilt, 0.15, 0.93))
    source = signal.lfilter([1.0 - pole], [1.0, -pole], source)
    source /= np.sqrt(np.mean(source**2)) + 1e-12

    out = np.zeros(n_samples)
    voicing = np.zeros(n_samples)
    mouth = np.zeros(n_samples)
    fs = actor.formant_scale
    for (onset, vowel, stress, _), s0, d in zip(sylls, starts, seconds, strict=True):
        amp = (1.0 if stress else 0.72) * rng.uniform(0.9, 1.1)
        c_len = min(_ONSET_SECONDS[onset] / max(rate, 0.5), 0.4 * d)
        i0 = int(s0 * sr + 0.5)
        ic = int((s0 + c_len) * sr + 0.5)
        i1 = min(int((s0 + d) * sr + 0.5), n_samples)
        if onset == "p":  # burst + aspiration, mouth closed then releasing
            burst = rng.standard_normal(ic - i0) * _raised_ramp(ic - i0, 8, ic - i0 - 8)
            burst = signal.lfilter([1.0, -0.95], [1.0], burst) * 0.12 * amp
            out[i0:ic] += burst
        elif onset in ("s", "f"):
            noise = rng.standard_normal(ic - i0)
            sos = signal.butter(
                2, [3800, 9000] if onset == "s" else [1200, 7000], "bandpass", fs=sr, output="sos"
            )
            level = 0.10 if onset == "s" else 0.04
            env = _raised_ramp(ic - i0, (ic - i0) // 3, (ic - i0) // 3)
            out[i0:ic] += signal.sosfilt(sos, noise) * env * level * amp / 0.35
            mouth[i0:ic] = 0.15 * env
        elif onset == "n":  # voiced nasal murmur, mouth nearly closed
            env = _raised_ramp(ic - i0, (ic - i0) // 3, (ic - i0) // 4)
            voicing[i0:ic] = np.maximum(voicing[i0:ic], 0.5 * env)
            seg = source[i0:ic] * env * 0.3 * amp
            out[i0:ic] += _formant_filter(seg, (250.0 * fs, 1200.0 * fs, 2600.0 * fs), sr)
        # The vowel: voiced, filtered by this vowel's formants (scaled by the vocal tract).
        n_v = i1 - ic
        if n_v <= 8:
            continue
        env = _raised_ramp(n_v, int(0.03 * sr), int(0.05 * sr))
        voicing[ic:i1] = np.maximum(voicing[ic:i1], env)
        tail = min(int(0.03 * sr), n_samples - i1)
        seg = np.concatenate([source[ic:i1] * env, np.zeros(tail)]) * amp
        formants = tuple(f * fs for f in VOWELS[vowel]) + tuple(f * fs for f in _F45)
        out[ic : i1 + tail] += _formant_filter(seg, formants, sr)
        # Articulatory opening: larger for open vowels (high F1), following the envelope.
        openness = float(np.clip((VOWELS[vowel][0] - 200.0) / 550.0, 0.25, 1.0))
        mouth[ic:i1] = np.maximum(mouth[ic:i1], env * openness * amp)

    # Level: neutral speech at about -26 dBFS RMS over the utterance.
    speech = out[int(speech_start * sr) : int(speech_end * sr)]
    rms = float(np.sqrt(np.mean(speech**2))) if speech.size else 1.0
    out *= 10.0 ** ((loud - 26.0) / 20.0) / (rms + 1e-12)
    out += rng.standard_normal(n_samples) * 10.0 ** (-62.0 / 20.0)  # room/microphone floor
    out = np.tanh(out * 1.2) / 1.2  # soft limiter: the loudest angry takes stay below 0 dBFS
    params = {
        "f0_base_hz": actor.base_f0,
        "f0_shift_st": float(shift),
        "f0_mean_hz": float(np.mean(f0[voicing > 0.5])) if np.any(voicing > 0.5) else 0.0,
        "accent_st": float(accent_st),
        "rate": float(rate),
        "loudness_db": float(loud),
        "tilt_pole": pole,
        "breathiness": breath,
        "formant_scale": actor.formant_scale,
    }
    return VoiceResult(
        n_frames=n_frames,
        audio=out.astype(np.float32),
        f0=f0,
        voicing=voicing,
        mouth=np.clip(mouth, 0.0, 1.0),
        speech_start=speech_start,
        speech_end=speech_end,
        params=params,
    )


def degrade_audio(
    rng: np.random.Generator,
    audio: np.ndarray,
    kind: str,
    sr: int,
    speech: slice,
    snr_db_range: tuple[float, float],
    muffle_cutoff_range: tuple[float, float],
) -> tuple[np.ndarray, dict[str, float]]:
    """Degrade the audio of one clip: ``noise`` (additive, low SNR) or ``muffle`` (low-pass).

    Returns the degraded signal and the parameters used (``snr_db`` or ``cutoff_hz``).
    """
    x = audio.astype(np.float64)
    if kind == "noise":
        snr = float(rng.uniform(*snr_db_range))
        # Pink-ish noise (one-pole shaped) masks formants and tilt more than white noise.
        noise = signal.lfilter([1.0], [1.0, -0.97], rng.standard_normal(x.size))
        noise = signal.lfilter([1.0, -0.5], [1.0], noise)
        p_speech = float(np.mean(x[speech] ** 2))
        noise *= np.sqrt(p_speech / 10.0 ** (snr / 10.0) / np.mean(noise**2))
        y = x + noise
        y /= max(1.0, float(np.max(np.abs(y))) / 0.98)
        return y.astype(np.float32), {"snr_db": snr}
    if kind == "muffle":
        cutoff = float(rng.uniform(*muffle_cutoff_range))
        sos = signal.butter(4, cutoff, "lowpass", fs=sr, output="sos")
        y = signal.sosfilt(sos, x) * 1.5
        y += rng.standard_normal(x.size) * np.sqrt(np.mean(y[speech] ** 2)) * 0.05
        return np.clip(y, -0.98, 0.98).astype(np.float32), {"cutoff_hz": cutoff}
    raise ValueError(f"unknown audio degradation {kind!r}")
