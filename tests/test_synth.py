"""Tests of the synthetic corpus (``cmaf synth``): layout, streams, ground truth, determinism, CLI.

One small corpus (one actor, the full 60 clips, 128x72 frames, ~2 s clips) is generated once per
module; a second, identical one checks determinism.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from cmaf.data import synth
from cmaf.data.media import probe, read_audio, read_video_frames
from cmaf.data.synth import SynthConfig, SynthError, synthesize

NAME = re.compile(r"^01-01-0[1-8]-0[12]-0[12]-0[12]-\d\d\.mp4$")
TINY = SynthConfig(actors=1, seed=7, width=128, height=72, clip_seconds=(1.8, 2.2))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    summary = synthesize(out, workers=2, progress=False, config=TINY)
    assert summary.clips == 60 and not summary.reused
    return out


@pytest.fixture(scope="module")
def clips(corpus) -> dict[str, dict[str, str]]:
    return {row["clip_id"]: row for row in _rows(corpus / synth.CLIPS_CSV)}


@pytest.fixture(scope="module")
def frames(corpus) -> dict[str, list[dict[str, str]]]:
    by_clip: dict[str, list[dict[str, str]]] = {}
    for row in _rows(corpus / synth.FRAMES_CSV):
        by_clip.setdefault(row["clip_id"], []).append(row)
    return by_clip


def _column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in rows])


def test_layout_matches_ravdess(corpus, clips):
    assert sorted(p.name for p in corpus.iterdir()) == [
        "Actor_01",
        "README.md",
        "ground_truth_clips.csv",
        "ground_truth_frames.csv",
        "synth.json",
    ]
    names = sorted(p.name for p in (corpus / "Actor_01").iterdir())
    assert len(names) == 60
    assert all(NAME.match(n) for n in names), names
    assert all(n.endswith("-01.mp4") for n in names)
    assert not any(n.startswith("01-01-01-02-") for n in names), "neutral has no strong intensity"
    emotions = [int(n.split("-")[2]) for n in names]
    assert emotions.count(1) == 4 and all(emotions.count(e) == 8 for e in range(2, 9))
    assert set(clips) == {n[:-4] for n in names}
    assert {row["sex"] for row in clips.values()} == {"male"}  # actor 01 is odd
    assert "synthetic" in (corpus / "README.md").read_text().lower()


def test_clip_specs_count_and_sex():
    specs = synth.clip_specs(24)
    assert len(specs) == 24 * 60 and len({s.clip_id for s in specs}) == 24 * 60
    assert specs[0].relpath == "Actor_01/01-01-01-01-01-01-01.mp4"


def test_streams_are_h264_and_aac(corpus):
    info = probe(corpus / "Actor_01" / "01-01-03-02-01-01-01.mp4")
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.fps == pytest.approx(30000 / 1001, abs=1e-3)
    assert info.sample_rate == 48000 and info.channels == 1
    assert (info.width, info.height) == (128, 72)


def test_frame_rows_match_decoded_frames(corpus, clips, frames):
    for clip_id in sorted(clips)[::7]:
        video, times = read_video_frames(corpus / clips[clip_id]["path"])
        rows = frames[clip_id]
        assert len(rows) == len(video) == int(clips[clip_id]["n_frames"])
        assert [int(r["frame"]) for r in rows] == list(range(len(rows)))
        np.testing.assert_allclose(_column(rows, "time_s"), times, atol=1e-4)
        audio, rate = read_audio(corpus / clips[clip_id]["path"])
        # AAC pads the tail; the head is aligned and the stream covers every frame.
        assert rate == 48000 and audio.shape[1] >= int(clips[clip_id]["n_samples"])


def test_mouth_opening_follows_the_audio_envelope(corpus, clips, frames):
    """Lip sync: per-frame mouth opening vs RMS of the decoded audio over that frame's interval."""
    rs = []
    for clip_id, clip in clips.items():
        if clip["degraded_modality"] == "audio":
            continue
        audio, rate = read_audio(corpus / clip["path"])
        audio = audio[0]
        t = _column(frames[clip_id], "time_s")
        edges = np.round(np.append(t, t[-1] + 1001 / 30000) * rate).astype(int)
        rms = np.array([np.sqrt(np.mean(audio[a:b] ** 2)) for a, b in itertools.pairwise(edges)])
        rs.append(np.corrcoef(_column(frames[clip_id], "mouth_opening"), rms)[0, 1])
    assert len(rs) >= 30
    assert np.median(rs) > 0.7, np.round(rs, 2)
    assert min(rs) > 0.3, np.round(rs, 2)


def test_action_units_follow_the_emotion_prototypes(clips, frames):
    def mean_au(emotion: str, au: str) -> float:
        values = [
            _column(frames[cid], au).mean()
            for cid, clip in clips.items()
            if clip["emotion_name"] == emotion
        ]
        return float(np.mean(values))

    assert mean_au("happy", "AU12") > mean_au("sad", "AU12") + 0.2
    assert mean_au("sad", "AU15") > mean_au("happy", "AU15") + 0.2
    assert mean_au("disgust", "AU9") > mean_au("angry", "AU9") + 0.3
    assert mean_au("angry", "AU4") > mean_au("disgust", "AU4") + 0.3
    assert mean_au("surprised", "AU2") > mean_au("neutral", "AU2") + 0.2
    assert mean_au("fearful", "AU20") > mean_au("surprised", "AU20") + 0.2
    # Calm and neutral share the face (audio-separable pair by design).
    for au in synth.AUS:
        assert abs(mean_au("calm", au) - mean_au("neutral", au)) < 0.1, au
    # Strong intensity scales the prototype up.
    strong = [
        float(c["peak_AU12"])
        for c in clips.values()
        if c["emotion"] == "03" and c["intensity"] == "strong"
    ]
    normal = [
        float(c["peak_AU12"])
        for c in clips.values()
        if c["emotion"] == "03" and c["intensity"] == "normal"
    ]
    assert np.mean(strong) > np.mean(normal)


def test_voice_follows_the_emotion_profiles(clips, frames):
    def mean_of(emotion: str, key: str) -> float:
        return float(
            np.mean([float(c[key]) for c in clips.values() if c["emotion_name"] == emotion])
        )

    base = float(next(iter(clips.values()))["f0_base_hz"])
    assert 110.0 <= base <= 130.0  # actor 01 is male
    assert mean_of("angry", "f0_mean_hz") > mean_of("sad", "f0_mean_hz") * 1.2
    assert mean_of("angry", "loudness_db") > mean_of("calm", "loudness_db") + 6
    assert mean_of("calm", "loudness_db") < mean_of("neutral", "loudness_db") - 2
    assert mean_of("sad", "rate") < mean_of("neutral", "rate")
    for clip_id, rows in frames.items():
        f0 = _column(rows, "f0_hz")
        voiced = f0 > 0
        assert voiced.any() and not voiced.all(), clip_id  # silence around the utterance
        assert np.all(f0[voiced] > 60.0) and np.all(f0[voiced] < 600.0)


def test_degradations_hit_one_modality(clips):
    kinds = {(c["degraded_modality"], c["degradation"]) for c in clips.values()}
    assert ("none", "none") in kinds
    assert kinds <= {
        ("none", "none"),
        ("audio", "noise"),
        ("audio", "muffle"),
        ("video", "occlusion"),
        ("video", "blur"),
        ("video", "dark"),
    }
    assert any(m == "audio" for m, _ in kinds) and any(m == "video" for m, _ in kinds)
    for c in clips.values():
        assert (c["snr_db"] != "") == (c["degradation"] == "noise")


@pytest.mark.slow
def test_same_seed_same_bytes(corpus, tmp_path):
    """A second run (one worker instead of two) gives identical CSVs, media bytes and arrays."""
    again = tmp_path / "again"
    synthesize(again, workers=1, progress=False, config=TINY)
    for name in (synth.CLIPS_CSV, synth.FRAMES_CSV, "README.md", "synth.json"):
        assert (again / name).read_bytes() == (corpus / name).read_bytes(), name
    for path in sorted((corpus / "Actor_01").iterdir()):
        assert (again / "Actor_01" / path.name).read_bytes() == path.read_bytes(), path.name
    for name in ("01-01-05-02-02-01-01.mp4", "01-01-02-01-01-02-01.mp4"):
        a1, _ = read_audio(corpus / "Actor_01" / name)
        a2, _ = read_audio(again / "Actor_01" / name)
        v1, _ = read_video_frames(corpus / "Actor_01" / name)
        v2, _ = read_video_frames(again / "Actor_01" / name)
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(v1, v2)


def test_other_seed_other_corpus():
    spec = synth.ClipSpec(1, 3, 2, 1, 1)
    cfg_a, cfg_b = TINY, dataclasses.replace(TINY, seed=8)
    # Actor traits differ between seeds; the face/voice draws are keyed by (seed, actor).
    fa, va = synth._actor_rngs(cfg_a.seed, spec.actor)
    fb, vb = synth._actor_rngs(cfg_b.seed, spec.actor)
    assert fa.random() != fb.random() and va.random() != vb.random()


def test_rerun_with_same_config_is_a_noop(corpus):
    before = {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()}
    summary = synthesize(corpus, workers=2, progress=False, config=TINY)
    assert summary.reused and summary.clips == 60
    assert before == {p: p.stat().st_mtime_ns for p in corpus.rglob("*") if p.is_file()}


def test_changed_config_removes_only_own_files(tmp_path):
    out = tmp_path / "old"
    (out / "Actor_01").mkdir(parents=True)
    (out / "Actor_01" / "01-01-01-01-01-01-01.mp4").write_bytes(b"old")
    (out / "Actor_01" / "notes.txt").write_text("keep me")
    (out / synth.CLIPS_CSV).write_text("old")
    marker = {
        "generator": "cmaf.data.synth",
        "format_version": 1,
        "complete": True,
        "config": {**TINY.to_json(), "seed": 99},
    }
    (out / synth.MARKER).write_text(json.dumps(marker))
    assert synth._prepare_out_dir(out, TINY) is False
    assert sorted(p.name for p in out.rglob("*")) == ["Actor_01", "notes.txt"]


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cmaf")
    synth.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("actors", ["0", "25", "-3"])
def test_cli_rejects_bad_actor_counts(tmp_path, capsys, actors):
    assert _cli(["synth", "--out", str(tmp_path / "x"), "--actors", actors, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "actors must be between 1 and 24" in err[0]
    assert not (tmp_path / "x").exists()


def test_cli_refuses_foreign_non_empty_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("not a corpus")
    assert _cli(["synth", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not empty" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_cli_refuses_a_file_as_output(tmp_path, capsys):
    target = tmp_path / "file.mp4"
    target.write_bytes(b"x")
    assert _cli(["synth", "--out", str(target), "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_cli_is_registered():
    from cmaf import cli

    assert "cmaf.data.synth" in cli.COMMANDS


def test_config_validation():
    with pytest.raises(SynthError, match="frame size"):
        SynthConfig(width=127, height=72).validate()
    with pytest.raises(SynthError, match="unknown video degradation"):
        SynthConfig(video_degradations=("smear",)).validate()
    with pytest.raises(SynthError, match="workers"):
        synthesize("/nonexistent-never-written", workers=0, config=TINY)
