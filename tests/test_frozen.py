"""Every fusion on the same frozen encoders (chapter 8's fusion table)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from cmaf.data.splits import Split
from cmaf.evaluation import claims
from cmaf.evaluation.runs import correct_by_clip
from cmaf.experiments import frozen
from cmaf.training import train
from cmaf.training.config import load_config
from cmaf.training.predict import load_run


def _smoke(fusion: str):
    config = load_config("smoke")  # small for testing speed
    config.model.fusion = fusion
    config.train.epochs = 1
    return config


@pytest.fixture(scope="module")
def encoder_runs(tiny_cache, tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen-runs")
    return {
        0: tuple(
            train(_smoke(m), tiny_cache, root / f"{m}-seed0", progress=False)
            for m in ("audio", "video")
        )
    }


@pytest.mark.slow
def test_every_fusion_is_trained_on_the_same_frozen_features(encoder_runs, tiny_cache, tmp_path):
    monkey_epochs, frozen.EPOCHS = frozen.EPOCHS, 2
    try:
        out = frozen.run_frozen(encoder_runs, tiny_cache, tmp_path / "frozen", progress=False)
    finally:
        frozen.EPOCHS = monkey_epochs
    audio_dir, video_dir = encoder_runs[0]
    split = Split.from_json((audio_dir / "split.json").read_text())
    for fusion in frozen.FUSIONS:
        table = pd.read_csv(out / "seed0" / f"{fusion}.csv", dtype={"clip_id": str})
        assert table["clip_id"].tolist() == list(split.test_ids)
    # The audio features are exactly the audio run's encoder output (frozen, evaluation mode).
    audio_run, video_run = load_run(audio_dir, "cpu"), load_run(video_dir, "cpu")
    clips = frozen.encode_clips(audio_run, video_run, tiny_cache)
    assert clips.audio_seq.shape[1:] == (audio_run.config.model.audio.out_steps, 32)
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("seed0/*.csv")}
    frozen.run_frozen(encoder_runs, tiny_cache, out, fusions=("early",), progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.glob("seed0/*.csv")} == mtimes  # reused

    files = frozen.prediction_files(out)
    files |= {
        m: {"0": d / "predictions.csv"} for m, d in (("audio", audio_dir), ("video", video_dir))
    }
    samples = correct_by_clip(files)
    assert set(samples) == set(frozen.FUSIONS) | {"audio", "video"}
    clusters = {tuple(c) for _, c in samples.values()}
    assert len(clusters) == 1  # every model on the same clips, in the same order
    table = claims.accuracy_table(files)
    assert table["accuracy"].is_monotonic_decreasing
    assert (table["low"] <= table["accuracy"]).all() and (table["accuracy"] <= table["high"]).all()


@pytest.mark.slow
def test_changed_encoders_invalidate_the_heads(encoder_runs, tiny_cache, tmp_path):
    out = tmp_path / "frozen"
    monkey_epochs, frozen.EPOCHS = frozen.EPOCHS, 1
    try:
        frozen.run_frozen(encoder_runs, tiny_cache, out, fusions=("late",), progress=False)
        source = json.loads((out / "seed0" / "source.json").read_text())
        source["audio_checkpoint_sha256"] = "0" * 64  # as if the audio run were retrained
        (out / "seed0" / "source.json").write_text(json.dumps(source))
        (out / "seed0" / "early.csv").write_text("stale")
        frozen.run_frozen(encoder_runs, tiny_cache, out, fusions=("late",), progress=False)
    finally:
        frozen.EPOCHS = monkey_epochs
    assert not (out / "seed0" / "early.csv").exists()
    assert (
        json.loads((out / "seed0" / "source.json").read_text())["audio_checkpoint_sha256"]
        != "0" * 64
    )


def test_train_head_uses_only_the_given_sequences(monkeypatch):
    # Small for testing speed: random "encoder outputs" with a planted class signal in the
    # audio sequence; the head alone must learn it (64 training clips: batches of 16).
    monkeypatch.setattr(frozen, "BATCH_SIZE", 16)
    torch.manual_seed(0)
    config = load_config("smoke")
    model_config, train_config = config.model, config.train
    n, classes = 96, model_config.num_classes
    labels = torch.arange(n) % classes
    audio = torch.randn(n, model_config.audio.out_steps, model_config.audio.out_dim)
    audio[torch.arange(n), :, labels] += 3.0
    visual = torch.randn(n, model_config.visual.num_frames, model_config.visual.out_dim)
    ids = [f"c{i}" for i in range(n)]
    clips = frozen.EncodedClips(ids, labels, audio, visual, torch.randn(n, 4, 512))
    parts = dict(train_ids=tuple(ids[:64]), val_ids=tuple(ids[64:72]), test_ids=tuple(ids[72:]))
    split = Split(name="planted", protocol="random", **parts)
    predicted = frozen.train_head("early", model_config, train_config, clips, split, seed=0)
    assert np.mean(predicted == labels[72:].numpy()) > 0.8
