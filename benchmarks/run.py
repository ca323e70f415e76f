"""Run every benchmark in ``benchmarks/`` and print every ratio it reports.

Run::

    .venv/bin/python benchmarks/run.py --quick              # tiny sizes, under a minute
    .venv/bin/python benchmarks/run.py --out benchmarks/results

Each benchmark runs as its own subprocess (``--quick`` passed through), its output streamed as
it comes; the lines that report a ratio are collected and printed together at the end. With
``--out DIR`` each benchmark's JSON (for those that accept ``--json``) and its full output go to
``DIR/<name>.json`` / ``DIR/<name>.log``, and a summary to ``DIR/results.json``. Exit status 1
if any benchmark failed. Benchmarks are never timed tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# In the order they run; a listed benchmark whose file is missing is skipped.
BENCHMARKS = ("tucker", "prepare", "training", "book_stages")


def _reports_ratio(line: str) -> bool:
    """A line stating a ratio, a fraction of a reference rate or a goal."""
    return any(word in line.lower() for word in ("ratio", "fraction", "goal"))


def _accepts_json(script: Path) -> bool:
    return "--json" in script.read_text()


def run_one(name: str, quick: bool, out: Path | None) -> dict:
    script = HERE / f"{name}.py"
    cmd = [sys.executable, str(script)]
    if quick:
        cmd.append("--quick")
    json_path = None
    if out is not None and _accepts_json(script):
        json_path = out / f"{name}.json"
        cmd += ["--json", str(json_path)]
    print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line.rstrip("\n"))
    returncode = proc.wait()
    seconds = time.perf_counter() - t0
    if out is not None:
        (out / f"{name}.log").write_text("\n".join(lines) + "\n")
    return {
        "name": name,
        "command": cmd[1:],
        "returncode": returncode,
        "seconds": seconds,
        "ratio_lines": [line.strip() for line in lines if _reports_ratio(line)],
        "json": str(json_path) if json_path and json_path.exists() else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (under a minute)")
    parser.add_argument("--out", type=Path, help="write results.json and per-benchmark files")
    args = parser.parse_args(argv)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        args.out = args.out.resolve()

    results = [
        run_one(name, args.quick, args.out) for name in BENCHMARKS if (HERE / f"{name}.py").exists()
    ]

    print("\n== ratios")
    for res in results:
        status = "ok" if res["returncode"] == 0 else f"FAILED (exit {res['returncode']})"
        print(f"{res['name']} ({status}, {res['seconds']:.1f} s):")
        for line in res["ratio_lines"] or ["(no ratio reported)"]:
            print(f"  {line}")
    if args.out is not None:
        summary = {"quick": args.quick, "python": sys.version.split()[0], "benchmarks": results}
        (args.out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {args.out / 'results.json'}")
    return 0 if all(res["returncode"] == 0 for res in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
