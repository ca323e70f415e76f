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
    assert (tmp_path / "results.json").exists()
    assert (tmp_path / "tucker.json").exists()
