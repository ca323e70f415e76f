"""Diagnostic: does test noise hurt through the SNR, or by making a clip louder?

Run after a ``cpu`` book build (it reads the build's runs)::

    .venv/bin/python benchmarks/noise_level.py [--runs-root runs/book-cpu-synthetic]
        [--fusion audio] [--seeds 0,1,2] [--no-save]

Noise mixed into a clip at the clip's own level raises the SNR's denominator *and* the clip's
loudness: at -10 dB the mixture is 10.4 dB louder than the clean clip. Loudness is an emotion
cue (arousal), so a model may answer the louder clip with a loud emotion and get *more* of
the loud classes right as the noise grows. The robustness sweep therefore scales each noisy
clip back to its clean level by default (:class:`cmaf.experiments.robustness.SweepConfig`,
``keep_level``). This benchmark sweeps the same runs and the same noise draws both ways and
prints, per mixture, the pooled accuracy per SNR, the share of predictions that go to the
loudest classes of the synthetic voices (angry and disgust, +8 and +7 dB), and the book's
monotonicity check (largest rise between two levels, exact paired p-value). Results go to
``benchmarks/results/noise-level.json`` unless ``--no-save``. Nothing is written to the runs.
About 30 s per audio-only run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "noise-level.json"
#: The synthetic voices' loudest emotions (cmaf.data.synth_voice.PROFILES: +8 and +7 dB).
LOUD_CLASSES = ("angry", "disgust")
MIXTURES = {"level kept": True, "level raised": False}


def main(argv: list[str] | None = None) -> None:
    from cmaf.data.dataset import load_manifest, resolve_cache_dir
    from cmaf.experiments import robustness
    from cmaf.layout import BookRuns
    from cmaf.training.loop import class_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-root", default="runs/book-cpu-synthetic")
    parser.add_argument("--fusion", default="audio", help="any model that reads audio")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-save", action="store_true", help="do not write the results JSON")
    args = parser.parse_args(argv)
    root = Path(args.runs_root)
    if not (root / "cache").is_dir():
        raise SystemExit(f"{root / 'cache'}: no prepared cache (build the book first: make book)")
    cache = resolve_cache_dir(root / "cache")
    classes = class_names(cache, load_manifest(cache))
    loud = [classes.index(name) for name in LOUD_CLASSES if name in classes]
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = [BookRuns(root).random_split_run(args.fusion, seed) for seed in seeds]
    for run in runs:
        if not (run / "metrics.json").is_file():
            raise SystemExit(f"{run}: no finished run (build the book or run cmaf compare first)")

    saved = []
    for label, keep_level in MIXTURES.items():
        sweep = robustness.SweepConfig.noise_only(keep_level)
        rows = []
        for run in runs:
            rows += robustness.evaluate_run(run, cache, sweep, save=False)
        fusion = rows[0]["model"]
        checks = robustness.monotonicity(rows, {fusion: sweep.noise_kinds})
        if not checks:
            raise SystemExit(
                f"{runs[0]}: {fusion} reads no audio (--fusion must name one that does)"
            )
        print(f"{label} ({len(runs)} runs of {fusion}, {rows[0]['clips']} test clips each)")
        for check in checks:
            kind = check["kind"]
            steps = [("clean", 0.0)] + [(kind, snr) for snr in sweep.snr_db]
            accuracy, loud_share = [], []
            for step in steps:
                chosen = [r for r in rows if (r["kind"], float(r["level"])) == step]
                correct = sum(sum(r["correct"]) for r in chosen)
                predicted = np.sum([r["predicted_counts"] for r in chosen], axis=0)
                accuracy.append(correct / sum(len(r["correct"]) for r in chosen))
                loud_share.append(float(predicted[loud].sum() / predicted.sum()))
            names = ["clean"] + [f"{snr:g} dB" for snr in sweep.snr_db]
            pairs = zip(names, accuracy, strict=True)
            print(f"  {kind}: " + "  ".join(f"{n} {100 * a:.1f}" for n, a in pairs))
            print(
                f"  {kind}: predicted {'/'.join(LOUD_CLASSES)} % "
                + "  ".join(f"{100 * s:.0f}" for s in loud_share)
            )
            print(
                f"  {kind}: largest rise {100 * check['rise']:.1f} points "
                f"({check['rise_from']:g} -> {check['rise_to']:g} dB), p = {check['p']:.3g}, "
                f"monotone: {check['monotone']}"
            )
            saved.append(
                {
                    "mixture": label,
                    "fusion": fusion,
                    "kind": kind,
                    "seeds": seeds,
                    "snr_db": ["clean", *sweep.snr_db],
                    "accuracy": [round(a, 4) for a in accuracy],
                    "loud_share": [round(s, 4) for s in loud_share],
                    "rise": round(check["rise"], 4),
                    "p": check["p"],
                    "monotone": bool(check["monotone"]),
                }
            )
    if not args.no_save:
        record = {"runs_root": str(args.runs_root), "loud_classes": list(LOUD_CLASSES)}
        RESULTS.write_text(json.dumps({**record, "rows": saved}, indent=1) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
