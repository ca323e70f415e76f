"""Runs trained two at a time in worker processes (the speech study's network runs)."""

from __future__ import annotations

import json

import pytest

from cmaf.experiments.protocols import ProtocolRun, ensure_runs
from cmaf.training.config import load_config


@pytest.mark.slow
def test_parallel_runs_finish_keep_order_and_are_reused(tiny_cache, tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    config = load_config("smoke")  # small for testing speed
    config.model.fusion = "audio"
    config.train.epochs = 1
    jobs = [
        (ProtocolRun("random", 0, seed).configure(config), tmp_path / f"random-seed{seed}")
        for seed in (0, 1, 2)
    ]
    lines = []
    done = ensure_runs(jobs, tiny_cache, parallel=2, progress=False, log=lines.append)
    assert done == [run_dir for _, run_dir in jobs]
    assert sum("2 runs at a time" in line for line in lines) == 3
    for config_, run_dir in jobs:
        saved = json.loads((run_dir / "config.json").read_text())
        assert saved["train"]["seed"] == config_.train.seed
        assert (run_dir / "metrics.json").is_file()
    stamps = [(d / "metrics.json").stat().st_mtime_ns for _, d in jobs]
    lines.clear()
    assert ensure_runs(jobs, tiny_cache, parallel=2, progress=False, log=lines.append) == done
    assert [(d / "metrics.json").stat().st_mtime_ns for _, d in jobs] == stamps
    assert all("reused" in line for line in lines)


def test_a_failing_run_stops_the_parallel_runs_with_its_message(tiny_cache, tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    config = load_config("smoke")
    config.data.split = "held-out"
    config.data.fold = 99  # no such fold
    jobs = [(config, tmp_path / "a"), (config, tmp_path / "b")]
    with pytest.raises(ValueError, match="fold"):
        ensure_runs(jobs, tiny_cache, parallel=2, progress=False, log=lambda m: None)
