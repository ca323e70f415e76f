"""The real-data experiment: pooled baseline, the two protocols, and ``cmaf speech``.

The real-data tests read the shared RAVDESS speech copy beside the checkout (or
``CMAF_RAVDESS_AUDIO_ROOT``) and skip cleanly when it is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cmaf.data import ravdess
from cmaf.data.splits import Split, held_out_folds, speaker_overlap
from cmaf.experiments import protocols, speech
from cmaf.experiments.protocols import ProtocolRun, protocol_runs, run_linear_baseline
from cmaf.models.pooled import PooledLinear, mel_statistics, select_c
from cmaf.training.config import load_config

REAL_ROOT = Path(
    os.environ.get(
        "CMAF_RAVDESS_AUDIO_ROOT",
        Path(__file__).resolve().parents[1].parent / "shared/data/ravdess-speech",
    )
)
needs_real = pytest.mark.skipif(
    not REAL_ROOT.is_dir(), reason=f"real RAVDESS speech not found at {REAL_ROOT}"
)


# ----------------------------------------------------------------------------- pooled baseline


def test_mel_statistics_are_band_means_then_stds():
    mel = np.array([[1.0, 3.0], [2.0, 2.0], [0.0, 4.0]])
    np.testing.assert_allclose(mel_statistics(mel), [2, 2, 2, 1, 0, 2])
    np.testing.assert_allclose(mel_statistics(mel[None]), mel_statistics(mel))
    with pytest.raises(ValueError, match="n_mels, frames"):
        mel_statistics(np.zeros(5))


def test_pooled_linear_learns_and_keeps_every_class_column():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 6)) * 4
    labels = np.repeat([0, 2, 3], 40)  # classes 1 and 4 never occur in training
    features = centres[np.searchsorted([0, 2, 3], labels)] + rng.normal(size=(120, 6))
    features[:, 5] = 7.0  # a constant feature must not break the standardisation
    model = PooledLinear(num_classes=5, c=1.0).fit(features, labels)
    probs = model.predict_proba(features)
    assert probs.shape == (120, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert np.all(probs[:, [1, 4]] == 0)
    assert (probs.argmax(axis=1) == labels).mean() > 0.95


def test_select_c_prefers_the_best_validation_score():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    features = labels[:, None] * 2.0 + rng.normal(size=(200, 3))
    train, val = (features[:150], labels[:150]), (features[150:], labels[150:])
    best, scores = select_c(train, val, 2, grid=(1e-6, 1.0))
    assert best == 1.0 and scores[1.0] > scores[1e-6]


# ----------------------------------------------------------------------------- protocols


def test_protocol_runs_names_and_configs():
    runs = protocol_runs(seeds=(0, 1), folds=(0, 2))
    assert [r.name for r in runs] == [
        "random-seed0",
        "random-seed1",
        "held-out-fold0-seed0",
        "held-out-fold2-seed0",
        "held-out-fold0-seed1",
        "held-out-fold2-seed1",
    ]
    base = load_config("speech")
    config = ProtocolRun("held-out", 2, 1).configure(base)
    assert (config.data.split, config.data.fold, config.train.seed) == ("held-out", 2, 1)
    assert base.data.split == "random" and base.train.seed == 0  # the base is not modified
    assert ProtocolRun("random", 0, 3).configure(base).data.split_seed == 3
    normed = protocol_runs(seeds=(0,), folds=(1,), speaker_norm=(True, False))
    assert [r.name for r in normed] == [
        "random-seed0-speaker-norm",
        "random-seed0",
        "held-out-fold1-seed0-speaker-norm",
        "held-out-fold1-seed0",
    ]
    for run in normed:
        assert ProtocolRun.from_name(run.name) == run
        assert run.configure(base).data.speaker_norm is run.speaker_norm
    assert ProtocolRun.from_name("random-seed0-other") is None


def test_speech_profiles_are_the_audio_branch():
    for name in ("speech", "speech-smoke"):
        config = load_config(name)
        assert config.model.fusion == "audio" and config.preprocess.modality == "audio"
    assert tuple(load_config("speech").model.audio.channels) == (8, 16, 32, 32)


@pytest.fixture(scope="module")
def smoke_speech(tmp_path_factory):
    if not REAL_ROOT.is_dir():
        pytest.skip(f"real RAVDESS speech not found at {REAL_ROOT}")
    out = tmp_path_factory.mktemp("speech")
    path = speech.run_speech(REAL_ROOT, out, "smoke", progress=False)
    return out, json.loads(path.read_text())


@needs_real
def test_smoke_plan_trains_and_writes_run_directories(smoke_speech):
    out, summary = smoke_speech
    assert summary["plan"] == "smoke" and summary["clips"] == 480 and summary["actors"] == 8
    assert summary["runs"]["network"] == [
        "network/random-seed0-speaker-norm",
        "network/random-seed0",
        "network/held-out-fold0-seed0-speaker-norm",
        "network/held-out-fold0-seed0",
    ]
    for model in ("pooled", "egemaps"):
        assert len(summary["runs"][model]) == 2 * (1 + summary["n_folds"])
    for name in summary["runs"]["network"]:
        run = out / name
        for file in ("config.json", "split.json", "metrics.json", "run.json", "history.csv"):
            assert (run / file).is_file(), f"{run}: no {file}"
        record = json.loads((run / "run.json").read_text())
        assert record["git_commit"] and record["wall_seconds"] > 0
        assert json.loads((run / "config.json").read_text())["model"]["fusion"] == "audio"
    for model in ("pooled", "egemaps"):
        for name in summary["runs"][model]:
            record = json.loads((out / name / "run.json").read_text())
            assert record["model"] == model
            assert record["speaker_norm"] == name.endswith("-speaker-norm")


@needs_real
def test_smoke_plan_writes_the_result_table(smoke_speech):
    import pandas as pd

    out, summary = smoke_speech
    assert summary["results"] == "results.csv"
    table = pd.read_csv(out / "results.csv")
    required = ["model", "protocol", "speaker_norm", "runs", "accuracy_mean", "accuracy_std"]
    required += ["macro_f1_mean", "ua_mean"]
    assert list(table.columns[: len(speech.RESULT_COLUMNS)]) == list(speech.RESULT_COLUMNS)
    assert set(required) <= set(table.columns)
    keys = set(zip(table["model"], table["protocol"], table["speaker_norm"], strict=True))
    assert keys == {
        (m, p, n)
        for m in ("network", "egemaps", "pooled")
        for p in ("random", "held-out")
        for n in (True, False)
    }
    for column in ("accuracy_mean", "accuracy_low", "accuracy_high", "macro_f1_mean", "ua_mean"):
        assert table[column].between(0, 1).all(), column  # fractions, not percent
    assert (table["accuracy_low"] <= table["accuracy_mean"] + 1e-9).all()
    assert (table["accuracy_high"] >= table["accuracy_mean"] - 1e-9).all()
    held = table[table["protocol"] == "held-out"]
    assert (held.loc[held["model"] != "network", "runs"] == summary["n_folds"]).all()
    # The CSV holds what the runs' own metrics say.
    run = out / "egemaps" / "random-seed0"
    metrics = json.loads((run / "metrics.json").read_text())
    row = table[(table["model"] == "egemaps") & (table["protocol"] == "random")]
    row = row[~row["speaker_norm"]].iloc[0]
    assert row["accuracy_mean"] == pytest.approx(metrics["scalars"]["accuracy"], abs=1e-5)


@needs_real
def test_smoke_plan_held_out_runs_share_no_actor(smoke_speech):
    out, summary = smoke_speech
    for name in summary["runs"]["network"] + summary["runs"]["pooled"]:
        split = Split.load(out / name / "split.json")
        test = {clip.rsplit("-", 1)[1] for clip in split.test_ids}
        train = {clip.rsplit("-", 1)[1] for clip in split.train_ids + split.val_ids}
        if "held-out" in name:
            assert not test & train, f"{name}: actors {sorted(test & train)} on both sides"
        else:
            assert test & train  # the paper's random split: every test actor is also trained on


@needs_real
def test_smoke_plan_sweeps_every_network_run_under_noise(smoke_speech):
    from cmaf.experiments import robustness

    out, summary = smoke_speech
    rows = robustness.load_curves(out / summary["robustness"])
    swept = {row["run"] for row in rows}
    assert swept == {Path(name).name for name in summary["runs"]["network"]}
    kinds = {row["kind"] for row in rows}
    assert {"clean", "white-noise", "speech-noise", "missing-audio"} <= kinds
    assert not kinds & {"occlude-upper", "occlude-lower", "offset"}  # no video to corrupt
    checks = robustness.monotonicity(rows)
    assert {c["kind"] for c in checks} == {"white-noise", "speech-noise"}


@needs_real
def test_rerun_reuses_finished_runs(smoke_speech):
    out, _ = smoke_speech
    stamp = (out / "network" / "random-seed0" / "metrics.json").stat().st_mtime_ns
    egemaps = out / "egemaps" / "held-out-fold1-seed0-speaker-norm" / "metrics.json"
    stamps = egemaps.stat().st_mtime_ns
    speech.run_speech(REAL_ROOT, out, "smoke", progress=False)
    assert (out / "network" / "random-seed0" / "metrics.json").stat().st_mtime_ns == stamp
    assert egemaps.stat().st_mtime_ns == stamps


@needs_real
def test_every_real_held_out_fold_is_speaker_independent():
    records = ravdess.scan(REAL_ROOT, modality="audio").records
    folds = held_out_folds(records)
    assert len(folds) == 6
    tested = []
    for split in folds:
        assert speaker_overlap(split, records) == set()
        tested += split.test_ids
    assert sorted(tested) == sorted(r.clip_id for r in records)  # each clip tested once


@needs_real
def test_a_leaky_held_out_split_is_refused(smoke_speech, monkeypatch, tmp_path):
    _out, summary = smoke_speech
    real = protocols.make_split

    def leaky(config, records):
        split = real(config, records)
        moved = split.test_ids[0]  # one test clip also in training: its actor is on both sides
        return Split(
            name=split.name,
            train_ids=(*split.train_ids, moved),
            test_ids=split.test_ids[1:],
            protocol=split.protocol,
            val_ids=split.val_ids,
            test_groups=split.test_groups,
        )

    monkeypatch.setattr(protocols, "make_split", leaky)
    config = ProtocolRun("held-out", 0, 0).configure(load_config("speech-smoke"))
    with pytest.raises(ValueError, match=r"speaker\(s\) in both test and training"):
        run_linear_baseline(config, summary["cache_dir"], tmp_path / "leaky", {})
    assert not (tmp_path / "leaky").exists()


@pytest.mark.slow
def test_cli_names_the_missing_folder_and_the_source(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cmaf",
            "speech",
            "--root",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "zenodo.1188976" in lines[0]
