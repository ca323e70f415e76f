"""Tests for cmaf.data.cache and ``cmaf prepare``: layout, resumability, bad inputs, exit codes."""

from __future__ import annotations

import csv
import json
import os
import pickle
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from cmaf.cli import main
from cmaf.data.cache import ITEMS, MANIFEST, PROBLEMS, prepare
from cmaf.data.media import write_av
from cmaf.data.preprocessing import PreprocessConfig, expected_shapes
from cmaf.data.records import ClipRecord

CFG = PreprocessConfig(num_frames=8, image_size=32)
REPO = Path(__file__).resolve().parents[1]


def _clip(path: Path, seconds: float, seed: int, audio: bool = True) -> Path:
    rng = np.random.default_rng(seed)
    n = round(seconds * 30)
    frames = rng.integers(0, 255, (n, 36, 64, 3), dtype=np.uint8)
    sound = (0.1 * rng.standard_normal(round(seconds * 48000))).astype(np.float32)
    return write_av(path, frames, sound if audio else None, fps=Fraction(30))


def _record(path: Path, clip_id: str, label: str = "happy", group: str = "g1") -> ClipRecord:
    return ClipRecord(
        "ravdess",
        clip_id,
        label,
        f"spk-{group}",
        group,
        audio_path=path,
        video_path=path,
        meta={"intensity": "normal", "take": clip_id},
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[ClipRecord]]:
    root = tmp_path_factory.mktemp("corpus")
    records = []
    for i in range(6):
        path = _clip(root / f"clip{i}.mp4", seconds=1.0 + 0.5 * (i % 3), seed=i)
        records.append(_record(path, f"clip{i}", ("happy", "sad")[i % 2], f"g{i % 3}"))
    return root, records


def _snapshot(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    )


def test_layout_shapes_manifest_and_rerun_does_no_work(corpus, tmp_path):
    root, records = corpus
    before = _snapshot(root)
    result = prepare(records, tmp_path, CFG, workers=0, progress=False, classes=["sad", "happy"])
    assert (result.n_processed, result.n_cached, result.n_failed) == (6, 0, 0)
    assert result.cache_dir == tmp_path / CFG.config_hash()
    assert _snapshot(root) == before  # the dataset root is only read

    config = json.loads((result.cache_dir / "config.json").read_text())
    assert config["config_hash"] == CFG.config_hash() and config["image_size"] == 32
    assert (result.cache_dir / PROBLEMS).read_text() == ""
    with open(result.manifest_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["clip_id"] for r in rows] == sorted(r.clip_id for r in records)
    assert {r["label"]: r["label_index"] for r in rows} == {"sad": "0", "happy": "1"}
    assert rows[0]["intensity"] == "normal" and rows[0]["take"] == "clip0"
    assert rows[0]["video_path"] == str(root / "clip0.mp4")
    for row in rows:
        item = result.cache_dir / row["item"]
        assert int(row["bytes"]) == item.stat().st_size
        with np.load(item) as data:
            assert sorted(data.files) == ["frames", "mel"]
            for name, (shape, dtype) in expected_shapes(CFG).items():
                assert data[name].shape == shape and str(data[name].dtype) == dtype
    assert result.bytes_per_clip == pytest.approx(sum(int(r["bytes"]) for r in rows) / 6)

    manifest = result.manifest_path.read_bytes()
    items_before = _snapshot(result.cache_dir / ITEMS)
    again = prepare(records, tmp_path, CFG, workers=0, progress=False, classes=["sad", "happy"])
    assert (again.n_processed, again.n_cached) == (0, 6)
    assert again.manifest_path.read_bytes() == manifest
    assert _snapshot(result.cache_dir / ITEMS) == items_before  # nothing rewritten


_KILL_SCRIPT = """
import os, pickle, signal, sys
import cmaf.data.cache as cache
records, cache_root, cfg, k = pickle.load(open(sys.argv[1], "rb"))
original, written = cache.write_item, []
def write_then_die(*args, **kwargs):
    info = original(*args, **kwargs)
    written.append(info)
    if len(written) == k:
        os.kill(os.getpid(), signal.SIGKILL)  # as abrupt as kill -9 from outside
    return info
cache.write_item = write_then_die
cache.prepare(records, cache_root, cfg, workers=0, progress=False)
"""


def test_killed_prepare_resumes_to_identical_manifest(corpus, tmp_path):
    _, records = corpus
    full = prepare(records, tmp_path / "full", CFG, workers=2, progress=False)
    assert full.n_processed == 6

    args = tmp_path / "args.pkl"
    args.write_bytes(pickle.dumps((records, tmp_path / "killed", CFG, 3)))
    script = tmp_path / "kill.py"
    script.write_text(_KILL_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(args)], cwd=REPO, capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    killed_dir = tmp_path / "killed" / CFG.config_hash()
    assert len(list((killed_dir / ITEMS).glob("*.npz"))) == 3
    assert not (killed_dir / MANIFEST).exists()
    # A temporary left by a writer that died mid-write is ignored, then cleaned up.
    stale = killed_dir / ITEMS / ".clip5.npz.99999999.tmp"  # no such pid
    stale.write_bytes(b"partial")

    resumed = prepare(records, tmp_path / "killed", CFG, workers=0, progress=False)
    assert (resumed.n_processed, resumed.n_cached) == (3, 3)
    assert resumed.manifest_path.read_bytes() == full.manifest_path.read_bytes()
    assert not stale.exists()
    for name in ("config.json", PROBLEMS):
        assert (killed_dir / name).read_bytes() == (full.cache_dir / name).read_bytes()


@pytest.fixture(scope="module")
def bad_corpus(corpus, tmp_path_factory) -> tuple[list[ClipRecord], dict[str, Path]]:
    root = tmp_path_factory.mktemp("bad")
    good = _clip(root / "good.mp4", 1.0, seed=7)
    truncated = root / "truncated.mp4"
    data = _clip(root / "whole.mp4", 1.0, seed=8).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    (root / "whole.mp4").unlink()
    silent = _clip(root / "silent.mp4", 1.0, seed=9, audio=False)
    empty = root / "empty.mp4"
    empty.write_bytes(b"")
    paths = {"truncated": truncated, "silent": silent, "empty": empty}
    records = [_record(good, "good")] + [_record(p, name) for name, p in paths.items()]
    return records, paths


def test_bad_media_skipped_and_listed(bad_corpus, tmp_path, capsys):
    records, paths = bad_corpus
    result = prepare(records, tmp_path, CFG, workers=0, progress=False)
    assert (result.n_processed, result.n_failed) == (1, 3)
    lines = (result.cache_dir / PROBLEMS).read_text().splitlines()
    assert len(lines) == 3
    for name, path in paths.items():
        assert any(line.startswith(f"{path}: ") for line in lines), name
    assert any("no audio stream" in line for line in lines)
    err = capsys.readouterr().err
    assert all(str(p) in err for p in paths.values())
    with open(result.manifest_path, newline="") as fh:
        assert [r["clip_id"] for r in csv.DictReader(fh)] == ["good"]
    # Video-only preparation does not need the audio stream.
    video_cfg = PreprocessConfig(num_frames=8, image_size=32, modality="video")
    video = prepare(records, tmp_path, video_cfg, workers=0, progress=False)
    assert video.n_processed == 2


def test_cli_exit_codes_and_summary(tmp_path, capsys):
    from fixtures import make_ravdess_tree

    root = tmp_path / "ravdess"
    files = make_ravdess_tree(
        root, actors=(1,), emotions=(1, 3), size=(64, 36), seconds=1.0, with_audio_only=False
    )
    assert len(files) == 3
    files[0].write_bytes(files[0].read_bytes()[:2000])  # a truncated download
    before = _snapshot(root)
    common = ["--root", str(root), "--frames", "8", "--image-size", "32", "--no-progress"]
    cache = tmp_path / "cache"
    code = main(
        ["prepare", "--dataset", "ravdess", "--cache", str(cache), *common, "--workers", "0"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "2 usable of 3" in out and "bytes per clip" in out and str(cache) in out
    assert f"{files[0]}: " in err
    assert _snapshot(root) == before

    for path in files[1:]:
        path.write_bytes(b"")  # now nothing usable remains
    code = main(["prepare", "--dataset", "ravdess", "--cache", str(tmp_path / "c2"), *common])
    assert code == 1

    assert main(["prepare", "--dataset", "nope", "--cache", str(cache), *common]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("cmaf prepare: unknown dataset 'nope'")
    missing = ["--root", str(tmp_path / "missing"), "--cache", str(cache)]
    assert main(["prepare", "--dataset", "ravdess", *missing]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_iemocap_segments_and_split_screen_crop(tmp_path):
    from fixtures import make_iemocap_tree

    from cmaf.data.registry import classes_for, scan_dataset

    root = tmp_path / "iemocap"
    make_iemocap_tree(root, size=(128, 96))
    scan = scan_dataset("iemocap", root)
    assert scan.records and all(r.start is not None and r.meta["crop"] for r in scan.records)
    result = prepare(
        scan.records, tmp_path / "cache", CFG, workers=0, progress=False,
        classes=classes_for("iemocap"),
    )  # fmt: skip
    assert result.n_usable == len(scan.records) and not result.problems
    with open(result.manifest_path, newline="") as fh:
        rows = {r["clip_id"]: r for r in csv.DictReader(fh)}
    for record in scan.records:
        with np.load(result.cache_dir / rows[record.clip_id]["item"]) as item:
            frames = item["frames"].astype(int)
        red, blue = frames[..., 0].mean(), frames[..., 2].mean()
        # The fixture tints the left speaker red and the right one blue.
        assert (red > blue) == record.meta["crop"].startswith("0,"), record.meta["crop"]


def _real_root() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared/data/ravdess-speech"
    return Path(os.environ.get("CMAF_RAVDESS_AUDIO_ROOT", default))


@pytest.mark.realdata
def test_prepare_real_ravdess_audio_two_actors(tmp_path, capsys):
    root = _real_root()
    if not root.is_dir():
        pytest.skip(f"{root} not present (set CMAF_RAVDESS_AUDIO_ROOT)")
    pytest.importorskip("cmaf.data.registry")
    cache = tmp_path / "cache"
    argv = [
        "prepare",
        "--dataset",
        "ravdess",
        "--root",
        str(root),
        "--cache",
        str(cache),
        "--modality",
        "audio",
        "--groups",
        "ravdess-01,ravdess-02",
        "--workers",
        "2",
        "--no-progress",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "120 usable of 120" in out
    cache_dir = cache / PreprocessConfig(modality="audio").config_hash()
    with open(cache_dir / MANIFEST, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120 and {r["group"] for r in rows} == {"ravdess-01", "ravdess-02"}
    assert {r["label"] for r in rows} == {
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    }
    with np.load(cache_dir / rows[0]["item"]) as item:
        assert item.files == ["mel"]
        assert item["mel"].shape == (128, 256) and item["mel"].dtype == np.float32
        assert np.isfinite(item["mel"]).all()
    assert (cache_dir / PROBLEMS).read_text() == ""
    assert main(argv) == 0
    assert "120 already cached" in capsys.readouterr().out
