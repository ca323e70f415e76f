"""Benchmarks run end to end at tiny sizes, and their arithmetic; never a timing assertion."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tucker_mac_counts_at_paper_sizes():
    tucker = _load("tucker")
    t, da, dv, (kt, ka, kv) = 60, 256, 256, (30, 128, 128)
    macs = tucker.mac_counts(t, da, dv, (kt, ka, kv))
    # literal: outer products, then the mode-2, -3 and -4 products of Algorithm A2.
    assert macs["literal"] == t * da * dv + kt * t * da * dv + kt * ka * da * dv + kt * ka * kv * dv
    # factorised: both projections, the time weighting, the contraction over time.
    assert macs["factorised"] == t * da * ka + t * dv * kv + kt * t * ka + kt * ka * t * kv
    assert macs["literal"] == 499_384_320  # ≈ 499 M
    assert macs["factorised"] == 33_653_760  # ≈ 34 M
    assert macs["literal"] / macs["factorised"] == pytest.approx(14.84, abs=0.01)


def test_tucker_mac_counts_follow_the_sizes():
    tucker = _load("tucker")
    small = tucker.mac_counts(8, 16, 16, (4, 8, 8))
    assert small == {
        "literal": 8 * 16 * 16 + 4 * 8 * 16 * 16 + 4 * 8 * 16 * 16 + 4 * 8 * 8 * 16,
        "factorised": 8 * 16 * 8 + 8 * 16 * 8 + 4 * 8 * 8 + 4 * 8 * 8 * 8,
    }


@pytest.mark.slow
def test_run_quick_reports_every_ratio(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = proc.stdout
    assert "== ratios" in out
    assert "MAC ratio literal/factorised" in out
    assert out.count("time ratio") >= 2  # forward and forward+backward
    assert out.count("memory ratio") >= 2
    assert "GEMM fraction" in out
    if (BENCHMARKS / "prepare.py").exists():
        assert "prepare (ok" in out
    assert "ratio cached / frames" in out and "ratio NHWC / NCHW" in out  # training.py
    assert "ratio freed memory kept / glibc defaults" in out
    assert "training (ok" in out
    assert "slowest stage: train" in out and "book_stages (ok" in out
    assert (tmp_path / "results.json").exists()
    assert (tmp_path / "tucker.json").exists()
    assert (tmp_path / "training.json").exists()


def test_benchmark_tables_read_the_committed_results():
    from cmaf.evaluation import benchmarks

    results = benchmarks.load_results(BENCHMARKS / "results")
    tucker = benchmarks.tucker_table(results["tucker"])
    case = results["tucker"]["cases"][0]
    assert tucker.loc[0, "time ×"] == pytest.approx(case["literal_ms"] / case["factorised_ms"])
    assert "cores" in benchmarks.machine_line(results["tucker"])
    training = benchmarks.training_table(results["training"])
    assert set(training["case"]) >= {"frames", "cached"}
    stages = benchmarks.stage_table({"a": 1.0, "b": 3.0})
    assert stages["share (%)"].tolist() == [25.0, 75.0]
    assert benchmarks.load_results(BENCHMARKS / "missing") == {}
