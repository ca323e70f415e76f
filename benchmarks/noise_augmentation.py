"""Benchmark: does the training noise's SNR range decide whether audio-only curves fall?

Run after a ``cpu`` book build (it trains on the build's prepared cache)::

    .venv/bin/python benchmarks/noise_augmentation.py [--runs-root runs/book-cpu-synthetic]
        [--seeds 0,1,2] [--ranges 10:30,-5:30] [--out runs/noise-augmentation]
        [--raise-noise-level]

For each range of training-noise SNRs (``train.augment_snr_db``; default: 10 to 30 dB, our
first choice, and -5 to 30 dB, the ``cpu`` profile's now) it trains the ``cpu`` profile's
audio-only model on the random split of every seed, sweeps its test clips with white and
speech-shaped noise at the book's SNR steps (:mod:`cmaf.experiments.robustness`), and prints
per range the mean accuracy at each SNR and the book's monotonicity check (largest rise between
two levels and the smallest p-value of the paired sign test). Finished runs in ``--out`` are
reused; one trained with another config (an older ``cpu`` profile) stops the script with one
line rather than being mixed in. About 3 minutes per run on two idle cores (six runs: 20
minutes). The sweep keeps each noisy clip at its clean level (``SweepConfig.keep_level``);
``--raise-noise-level`` sweeps the loudness-raising mixture instead. Writes
``benchmarks/results/noise-augmentation.json`` (or ``noise-augmentation-raised.json``) unless
``--no-save``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "noise-augmentation.json"
RESULTS_RAISED = RESULTS.with_name("noise-augmentation-raised.json")


def _range(text: str) -> tuple[float, float]:
    low, high = (float(v) for v in text.split(":"))
    return low, high


def main(argv: list[str] | None = None) -> int:
    from cmaf.data.dataset import load_manifest, resolve_cache_dir
    from cmaf.experiments import robustness
    from cmaf.experiments.protocols import ProtocolRun, ensure_run
    from cmaf.training.config import load_config
    from cmaf.training.loop import class_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-root", default="runs/book-cpu-synthetic")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--ranges", default="10:30,-5:30", help="low:high dB, comma-separated")
    parser.add_argument("--epochs", type=int, help="override train.epochs (for a quick look)")
    parser.add_argument("--out", default="runs/noise-augmentation")
    parser.add_argument("--no-save", action="store_true")
    robustness.add_noise_level_option(parser)
    args = parser.parse_args(argv)

    cache = Path(args.runs_root) / "cache"
    if not cache.is_dir():
        print(f"no prepared cache at {cache}: build the book first (make book)", file=sys.stderr)
        return 2
    cache = resolve_cache_dir(cache)
    classes = class_names(cache, load_manifest(cache))
    keep_level = not args.raise_noise_level
    sweep = robustness.SweepConfig.noise_only(keep_level)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for snr_range in (_range(r) for r in args.ranges.split(",")):
        label = f"{snr_range[0]:g}:{snr_range[1]:g}"
        rows = []
        for seed in seeds:
            config = load_config("cpu")
            config.model.fusion = "audio"
            config.model.num_classes = len(classes)
            config.train.augment_snr_db = snr_range
            if args.epochs is not None:
                config.train.epochs = args.epochs
            run = ProtocolRun("random", 0, seed)
            run_dir = Path(args.out) / f"snr{label}" / run.name
            try:
                ensure_run(run.configure(config), cache, run_dir, progress=False)
            except ValueError as exc:  # e.g. a run trained before train.precise_bn
                raise SystemExit(f"{exc} (or pass another --out)") from exc
            rows += robustness.evaluate_run(run_dir, cache, sweep)
        summary = robustness.summarize(rows)
        checks = {c["kind"]: c for c in robustness.monotonicity(rows, {"audio": sweep.noise_kinds})}
        for kind in sweep.noise_kinds:
            points = robustness.curve(summary, "audio", kind)
            check = checks[kind]
            results.append(
                {
                    "train_snr_db": list(snr_range),
                    "kind": kind,
                    "seeds": seeds,
                    "snr_db": ["clean", *sweep.snr_db],
                    "accuracy": [round(v, 4) for _, v in points],
                    "rise": round(check["rise"], 4),
                    "p": check["p"],
                    "monotone": bool(check["monotone"]),
                }
            )
            curve = " ".join(f"{100 * v:5.1f}" for _, v in points)
            print(
                f"train noise {label:>6} dB  {kind:12}  clean..{sweep.snr_db[-1]:g} dB: {curve}  "
                f"largest rise {100 * check['rise']:4.1f} pts, p = {check['p']:.2g}, "
                f"monotone: {check['monotone']}"
            )
    if not args.no_save:
        saved = {
            "runs_root": str(args.runs_root),
            "keep_level": keep_level,
            "precise_bn": load_config("cpu").train.precise_bn,
            "rows": results,
        }
        path = RESULTS if keep_level else RESULTS_RAISED
        path.write_text(json.dumps(saved, indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
