"""Tests for cmaf.data.preprocessing, cmaf.data.augment and cmaf.data.dataset (Appendix A.1–A.4)."""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from cmaf.data.augment import (
    AugmentConfig,
    augment_frames,
    augment_mel,
    pitch_shift_mel,
    random_crop_frames,
    rotate_frames,
    time_stretch_mel,
)
from cmaf.data.cache import prepare
from cmaf.data.dataset import CachedClips, load_manifest, normalize_frames
from cmaf.data.media import read_video_frames, write_av
from cmaf.data.preprocessing import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PreprocessConfig,
    decode_at_instants,
    expected_shapes,
    load_frames,
    load_waveform,
    log_mel,
    preprocess,
    sample_indices,
)
from cmaf.data.records import ClipRecord, DataError

FPS = 30  # an exact rate keeps frame times on a clean grid for the sampling checks
SMALL = PreprocessConfig(num_frames=16, image_size=32)


def _record(path: Path, clip_id: str, audio: Path | None = None, **meta: str) -> ClipRecord:
    return ClipRecord(
        "ravdess",
        clip_id,
        "happy",
        "ravdess-01",
        "ravdess-01",
        audio_path=audio or path,
        video_path=path,
        meta=dict(meta),
    )


def _numbered_clip(path: Path, seconds: float, size=(64, 36)) -> Path:
    """An mp4 whose frame ``i`` is solid grey ``2 * i`` (so a sampled frame tells its index)."""
    n = round(seconds * FPS)
    frames = np.zeros((n, size[1], size[0], 3), np.uint8)
    frames[:] = (2 * np.arange(n) % 256).astype(np.uint8)[:, None, None, None]
    t = np.arange(round(seconds * 48000)) / 48000
    audio = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return write_av(path, frames, audio, fps=Fraction(FPS), sample_rate=48000)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    out = {
        "long": _numbered_clip(root / "long.mp4", 3.6),
        "short": _numbered_clip(root / "short.mp4", 2.0),
        "longer": _numbered_clip(root / "longer.mp4", 4.2),
    }
    # 16:9 frame: red outer thirds, blue centre; left half / right half differ for crops.
    frame = np.zeros((36, 64, 3), np.uint8)
    frame[:, :, 0] = 200
    frame[:, 14:50] = (0, 0, 200)
    out["thirds"] = write_av(root / "thirds.mp4", np.repeat(frame[None], 10, 0), None, fps=FPS)
    halves = np.zeros((36, 64, 3), np.uint8)
    halves[:, :32] = (200, 0, 0)
    halves[:, 32:] = (0, 200, 0)
    out["halves"] = write_av(root / "halves.mp4", np.repeat(halves[None], 10, 0), None, fps=FPS)
    ramp = (np.arange(round(3.6 * 16000)) / 1e5).astype(np.float32)
    sf.write(root / "ramp.wav", ramp, 16000, subtype="FLOAT")
    out["ramp"] = root / "ramp.wav"
    stereo = np.stack([np.full(44100 * 2, 0.5), np.full(44100 * 2, -0.1)], 1).astype(np.float32)
    sf.write(root / "stereo.wav", stereo, 44100, subtype="FLOAT")
    out["stereo"] = root / "stereo.wav"
    return out


# --------------------------------------------------------------------------------- config


def test_paper_defaults_and_hop_deviation():
    cfg = PreprocessConfig()
    assert (cfg.sample_rate, cfg.clip_seconds, cfg.n_mels, cfg.win_length) == (16000, 3.0, 128, 400)
    assert (cfg.num_frames, cfg.image_size, cfg.mel_frames) == (90, 224, 256)
    # 10 ms hop would give 301 frames for 3 s; the 188-sample hop gives the paper's 256.
    assert 1 + 48000 // 160 == 301
    assert 1 + cfg.n_samples // cfg.hop_length == 256
    with pytest.raises(ValueError, match="hop_length"):
        PreprocessConfig(hop_length=160)
    with pytest.raises(ValueError):
        PreprocessConfig(modality="text")
    with pytest.raises(ValueError):
        PreprocessConfig(frame_mode="stretch")


def test_config_hash_is_stable_and_covers_content_fields():
    assert PreprocessConfig().config_hash() == "393a0a915c6c"  # changes mean old caches are stale
    assert PreprocessConfig().config_hash() == PreprocessConfig().config_hash()
    assert PreprocessConfig(image_size=112).config_hash() != PreprocessConfig().config_hash()
    audio = PreprocessConfig(modality="audio")
    assert audio.config_hash() != PreprocessConfig().config_hash()
    # Video settings do not change an audio-only cache, so they do not split it.
    assert PreprocessConfig(modality="audio", image_size=64).config_hash() == audio.config_hash()
    assert len(audio.config_hash()) == 12


# --------------------------------------------------------------------------------- audio


def test_load_waveform_centre_crops_long_and_pads_short(media, tmp_path):
    cfg = PreprocessConfig()
    ramp = sf.read(media["ramp"], dtype="float32")[0]
    wave = load_waveform(_record(media["ramp"], "r"), cfg)
    assert wave.dtype == np.float32 and wave.shape == (48000,)
    start = (len(ramp) - 48000) // 2  # centre crop: 0.3 s cut from each side
    np.testing.assert_array_equal(wave, ramp[start : start + 48000])

    short = tmp_path / "short.wav"
    sf.write(short, ramp[:16000], 16000, subtype="FLOAT")
    wave = load_waveform(_record(short, "s"), cfg)
    np.testing.assert_array_equal(wave[:16000], ramp[:16000])
    assert not wave[16000:].any()  # zero padding at the end


def test_load_waveform_downmixes_and_resamples(media):
    wave = load_waveform(_record(media["stereo"], "st"), PreprocessConfig())
    assert wave.shape == (48000,) and wave.dtype == np.float32
    # 2 s of a constant (0.5 + -0.1) / 2 = 0.2, resampled to 16 kHz, then zero padding.
    assert np.allclose(wave[1000:31000], 0.2, atol=1e-3)
    assert not wave[32100:].any()


@pytest.mark.parametrize("n", [48000, 16000, 60000, 1])
def test_log_mel_shape_for_any_length(n):
    cfg = PreprocessConfig()
    rng = np.random.default_rng(0)
    mel = log_mel((0.1 * rng.standard_normal(n)).astype(np.float32), cfg)
    assert mel.shape == (128, 256) and mel.dtype == np.float32
    assert np.isfinite(mel).all()
    assert mel.min() >= np.log(cfg.log_offset) - 1e-4


@pytest.mark.parametrize("clip", ["long", "short", "longer"])
def test_mel_frames_256_for_every_clip_length(media, clip):
    out = preprocess(_record(media[clip], clip), PreprocessConfig(modality="audio"))
    assert set(out) == {"mel"}
    assert out["mel"].shape == (128, 256)


# --------------------------------------------------------------------------------- video


def _frame_index(frames: np.ndarray) -> np.ndarray:
    return np.round(frames.reshape(len(frames), -1).mean(1) / 2).astype(int)


def test_frames_sample_the_same_centred_window_as_audio(media):
    cfg = PreprocessConfig(num_frames=90, image_size=32)
    frames = load_frames(_record(media["long"], "l"), cfg)
    assert frames.shape == (90, 32, 32, 3) and frames.dtype == np.uint8
    # 3.6 s clip: window starts at 0.3 s = frame 9; instant k (0.3 + (k + 0.5) / 30 s) shows
    # frame 9 + k.
    np.testing.assert_allclose(_frame_index(frames), 9 + np.arange(90), atol=1)


def test_short_clip_frames_are_edge_padded(media):
    cfg = PreprocessConfig(num_frames=90, image_size=32)
    index = _frame_index(load_frames(_record(media["short"], "s"), cfg))
    np.testing.assert_allclose(index[:60], np.arange(60), atol=1)
    np.testing.assert_allclose(index[60:], 59, atol=1)  # last frame repeated past 2 s


def test_fewer_frames_spread_uniformly(media):
    index = _frame_index(load_frames(_record(media["long"], "l"), SMALL))
    assert len(index) == 16
    steps = np.diff(index)
    assert steps.min() >= 4 and steps.max() <= 7  # 90 / 16 ≈ 5.6 frames apart
    assert 9 <= index[0] <= 12 and 93 <= index[-1] <= 99


@pytest.mark.parametrize(
    ("clip", "start", "end", "window_start"),
    [("long", None, None, 0.3), ("short", None, None, 0.0), ("longer", 0.5, 3.9, 0.2)],
)
def test_streaming_decode_matches_decode_all_then_sample(media, clip, start, end, window_start):
    cfg = PreprocessConfig(num_frames=90, image_size=32)
    frames, times = read_video_frames(media[clip], size=(32, 32), start=start, end=end)
    reference = frames[sample_indices(times - (start or 0.0), window_start, cfg)]
    streamed = decode_at_instants(media[clip], (32, 32), window_start, cfg, start, end)
    np.testing.assert_array_equal(streamed, reference)


def test_frame_modes_and_crop(media):
    resize = load_frames(
        _record(media["thirds"], "t"), PreprocessConfig(num_frames=4, image_size=32)
    )
    square = load_frames(
        _record(media["thirds"], "t"),
        PreprocessConfig(num_frames=4, image_size=32, frame_mode="center_square"),
    )
    assert resize.shape == square.shape == (4, 32, 32, 3)
    # The whole frame squeezed keeps the red thirds; the centre square is blue only.
    assert resize[0, 16, 1, 0] > 150 and resize[0, 16, 16, 2] > 150
    assert square[0, :, :, 0].max() < 60 and square[0, :, :, 2].min() > 150

    right = load_frames(_record(media["halves"], "h", crop="0.5,0,1,1"), SMALL)
    assert right[..., 1].min() > 150 and right[..., 0].max() < 60
    with pytest.raises(DataError, match="crop"):
        load_frames(_record(media["halves"], "h", crop="0.5,0,0.2,1"), SMALL)


@pytest.mark.skipif(importlib.util.find_spec("cv2") is not None, reason="OpenCV installed")
def test_face_crop_without_opencv_says_how_to_install(media):
    with pytest.raises(DataError, match="pip install opencv-python-headless"):
        load_frames(_record(media["long"], "l"), PreprocessConfig(image_size=32, face_crop=True))


def test_preprocess_keys_follow_modality(media):
    record = _record(media["long"], "l")
    for modality, keys in (("av", {"mel", "frames"}), ("audio", {"mel"}), ("video", {"frames"})):
        cfg = PreprocessConfig(num_frames=8, image_size=32, modality=modality)
        out = preprocess(record, cfg)
        assert set(out) == keys
        for name, (shape, dtype) in expected_shapes(cfg).items():
            assert out[name].shape == shape and str(out[name].dtype) == dtype


# --------------------------------------------------------------------------------- augment


def test_each_augmentation_changes_tensor_and_keeps_shape():
    gen = torch.Generator().manual_seed(0)
    mel = torch.randn(1, 128, 256, generator=gen) - 5
    frames = torch.rand(8, 3, 32, 32, generator=gen)
    assert pitch_shift_mel(mel, 2.0).shape == mel.shape
    assert not torch.equal(pitch_shift_mel(mel, 2.0), mel)
    assert not torch.equal(pitch_shift_mel(mel, -2.0), mel)
    assert time_stretch_mel(mel, 1.1).shape == mel.shape
    assert time_stretch_mel(mel, 0.9).shape == mel.shape
    assert not torch.equal(time_stretch_mel(mel, 1.1), mel)
    assert rotate_frames(frames, 10.0).shape == frames.shape
    assert not torch.equal(rotate_frames(frames, 10.0), frames)
    assert random_crop_frames(frames, 0.8, gen).shape == frames.shape
    always = AugmentConfig(p=1.0)
    for name in ("pitch_shift", "time_stretch", "noise"):
        only = AugmentConfig(**{**vars(AugmentConfig.none()), name: True, "p": 1})
        assert not torch.equal(augment_mel(mel, only, gen), mel), name
    for name in ("hflip", "rotation", "random_crop"):
        only = AugmentConfig(**{**vars(AugmentConfig.none()), name: True, "p": 1})
        assert not torch.equal(augment_frames(frames, only, gen), frames), name
    assert augment_mel(mel, always, gen).shape == mel.shape
    assert augment_frames(frames, always, gen).shape == frames.shape
    assert torch.equal(augment_mel(mel, AugmentConfig.none(), gen), mel)
    assert torch.equal(augment_frames(frames, AugmentConfig.none(), gen), frames)


# --------------------------------------------------------------------------------- dataset


@pytest.fixture(scope="module")
def cache(media, tmp_path_factory) -> Path:
    records = [_record(media[name], name) for name in ("long", "short", "longer")]
    root = tmp_path_factory.mktemp("cache")
    result = prepare(records, root, PreprocessConfig(num_frames=8, image_size=32), workers=0)
    return result.cache_dir


def test_dataset_items_and_normalisation(cache):
    data = CachedClips(cache)
    assert len(data) == 3
    item = data[0]
    assert item["clip_id"] == "long" and isinstance(item["label"], int)
    assert item["mel"].shape == (1, 128, 256) and item["mel"].dtype == torch.float32
    assert item["frames"].shape == (8, 3, 32, 32) and item["frames"].dtype == torch.float32
    with np.load(cache / load_manifest(cache)[0]["item"]) as raw:
        frames = raw["frames"]
        np.testing.assert_array_equal(item["mel"][0].numpy(), raw["mel"])
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    expected = (frames.astype(np.float32) / 255 - mean) / std  # (T, H, W, 3)
    np.testing.assert_allclose(item["frames"].permute(0, 2, 3, 1).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(normalize_frames(frames).numpy(), item["frames"].numpy())
    # The cache root works too when it holds one configuration; split ids filter.
    assert [d["clip_id"] for d in CachedClips(cache.parent, split_ids=["short"])] == ["short"]
    with pytest.raises(KeyError):
        CachedClips(cache, split_ids=["nope"])
    # Without frames (cached features replace them): the same mel, no frames decoded.
    audio_only = CachedClips(cache, frames=False)[0]
    assert "frames" not in audio_only and torch.equal(audio_only["mel"], item["mel"])


def test_augmentation_only_for_train(cache):
    evaluation = CachedClips(cache, augment=AugmentConfig(p=1.0))  # train=False ignores it
    a, b = evaluation[1], evaluation[1]
    assert torch.equal(a["mel"], b["mel"]) and torch.equal(a["frames"], b["frames"])
    torch.manual_seed(0)
    train = CachedClips(cache, train=True, augment=AugmentConfig(p=1.0))[1]
    assert train["mel"].shape == a["mel"].shape and train["frames"].shape == a["frames"].shape
    assert not torch.equal(train["mel"], a["mel"])
    assert not torch.equal(train["frames"], a["frames"])
    off = CachedClips(cache, train=True, augment=AugmentConfig.none())[1]
    assert torch.equal(off["mel"], a["mel"]) and torch.equal(off["frames"], a["frames"])
