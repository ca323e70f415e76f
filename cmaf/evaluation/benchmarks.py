"""Benchmark results (``benchmarks/results/*.json``) as tables, for the Performance appendix.

Each benchmark script in ``benchmarks/`` writes its figures as JSON with the machine it ran on;
these functions turn them into tables. Nothing here measures anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``), for recording where a figure was measured."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown"


def load_results(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` in ``folder`` by file stem (``{}`` when the folder is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def machine_line(result: dict[str, Any]) -> str:
    """One line naming the machine a result was measured on."""
    m = result.get("machine", {})
    cpu = m.get("cpu") or m.get("cpu_model") or "unknown CPU"
    cores = m.get("cores") or m.get("cpu_cores")
    parts = [f"{cpu}, {cores} cores" if cores else cpu]
    if m.get("torch"):
        parts.append(f"torch {m['torch']}")
    gpu = result.get("machine_cuda", {}).get("gpu")
    if gpu:
        parts.append(f"GPU {gpu}")
    return "; ".join(parts)


def tucker_table(result: dict[str, Any]):
    """Literal (Algorithms A1 + A2) vs factorised Tucker fusion: time and peak memory per case."""
    import pandas as pd

    rows = [
        {
            "batch": case["batch"],
            "mode": case["mode"],
            "literal ms": case["literal_ms"],
            "factorised ms": case["factorised_ms"],
            "time ×": case["time_ratio"],
            "literal peak MB": case["literal_peak_bytes"] / 1e6,
            "factorised peak MB": case["factorised_peak_bytes"] / 1e6,
            "memory ×": case["literal_peak_bytes"] / max(case["factorised_peak_bytes"], 1),
        }
        for case in result["cases"]
    ]
    return pd.DataFrame(rows)


def training_table(result: dict[str, Any]):
    """Training throughput (clips/s) per case, CPU and (when measured) CUDA."""
    import pandas as pd

    rows = [
        {"device": "cpu", "network": result.get("profile", "cpu"), "case": name, "clips/s": rate}
        for name, rate in result.get("cpu", {}).items()
    ]
    for profile, cases in result.get("cuda", {}).items():
        rows += [
            {"device": "cuda", "network": profile, "case": name, "clips/s": rate}
            for name, rate in cases.items()
        ]
    return pd.DataFrame(rows)


def stage_table(result: dict[str, Any]):
    """Seconds and share of each ``make book`` stage (:mod:`benchmarks.book_stages` output or a
    plain ``stages.json`` mapping)."""
    import pandas as pd

    stages = result.get("stages", result)
    total = sum(stages.values()) or 1.0
    return pd.DataFrame(
        {
            "stage": list(stages),
            "seconds": list(stages.values()),
            "share (%)": [100 * v / total for v in stages.values()],
        }
    )
