"""Where the time of a ``make book`` goes, read from the files the build wrote.

Run after a build::

    .venv/bin/python benchmarks/book_stages.py         # runs/book-cpu-synthetic and _build
    .venv/bin/python benchmarks/book_stages.py --runs-root R --out O \
        --json benchmarks/results/book-stages.json
    .venv/bin/python benchmarks/book_stages.py --quick # a tiny fake build (the CI check)

Sources: ``RUNS_ROOT/stages.json`` (seconds per stage, written by ``cmaf book`` as each stage
ends), ``RUNS_ROOT/train/*/run.json`` (each training run's wall time), ``RUNS_ROOT/speech/
summary.json`` (the real-data stage's parts) and the papermill metadata of every executed
chapter under ``OUT/book-src/notebooks/``. A stage that reused earlier work shows only the
time it took to notice that, so time a build from scratch (``make clean``-style: remove
``RUNS_ROOT`` first) to budget it. Prints each stage's seconds and share, names the slowest,
and with ``--json`` records them with the machine. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from cmaf.evaluation.benchmarks import cpu_model


def collect(runs_root: Path, out_dir: Path) -> dict:
    """The stage split of the build that wrote ``runs_root`` and ``out_dir``."""
    stages_path = runs_root / "stages.json"
    if not stages_path.is_file():
        raise SystemExit(f"{stages_path}: missing (run `make book` first, or pass --runs-root)")
    stages = json.loads(stages_path.read_text())
    training = {}
    for run in sorted((runs_root / "train").glob("*/run.json")):
        training[run.parent.name] = json.loads(run.read_text()).get("wall_seconds")
    speech = None
    summary = runs_root / "speech" / "summary.json"
    if summary.is_file():
        speech = json.loads(summary.read_text())["seconds"]
    notebooks = {}
    for nb in sorted((out_dir / "book-src" / "notebooks").glob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        if meta.get("duration") is not None:
            notebooks[nb.stem] = round(float(meta["duration"]), 2)
    return {
        "runs_root": str(runs_root),
        "stages": stages,
        "total_seconds": round(sum(stages.values()), 2),
        "training_runs": training,
        "speech": speech,
        "notebooks": notebooks,
        "machine": {
            "cpu": cpu_model(),
            "cores": _cores(),
            "python": platform.python_version(),
        },
        "recorded": time.strftime("%Y-%m-%d"),
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def report(result: dict) -> None:
    stages, total = result["stages"], result["total_seconds"] or 1.0
    for name, seconds in stages.items():
        print(f"{name:<10} {seconds:8.1f} s  {100 * seconds / total:5.1f} %")
    print(f"{'total':<10} {total:8.1f} s  ({total / 60:.1f} min)")
    for name, seconds in result["training_runs"].items():
        print(f"  train {name:<14} {seconds or 0:8.1f} s")
    for name, seconds in (result["speech"] or {}).items():
        print(f"  speech {name:<13} {seconds:8.1f} s")
    for name, seconds in result["notebooks"].items():
        print(f"  notebook {name:<20} {seconds:6.1f} s")
    slowest = max(stages, key=stages.get)
    print(
        f"slowest stage: {slowest} ({stages[slowest]:.1f} s, "
        f"fraction {stages[slowest] / total:.2f} of the build)"
    )


def _fake_build(root: Path) -> tuple[Path, Path]:
    runs, out = root / "runs", root / "out"
    (runs / "train" / "cmaf-seed0").mkdir(parents=True)
    (runs / "stages.json").write_text(json.dumps({"corpus": 1.0, "train": 3.0, "html": 0.5}))
    (runs / "train" / "cmaf-seed0" / "run.json").write_text(json.dumps({"wall_seconds": 2.9}))
    nb_dir = out / "book-src" / "notebooks"
    nb_dir.mkdir(parents=True)
    (nb_dir / "01_x.ipynb").write_text(json.dumps({"metadata": {"papermill": {"duration": 1.5}}}))
    return runs, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-root", type=Path, default=Path("runs/book-cpu-synthetic"))
    parser.add_argument("--out", type=Path, default=Path("_build"), help="the book's OUT")
    parser.add_argument("--json", type=Path, help="write the split here")
    parser.add_argument("--quick", action="store_true", help="read a tiny fake build")
    args = parser.parse_args(argv)
    if args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            result = collect(*_fake_build(Path(tmp)))
    else:
        result = collect(args.runs_root, args.out)
    report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
