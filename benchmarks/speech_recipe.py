"""Ablation of the ``speech`` profile's recipe on the real RAVDESS speech clips.

Run::

    .venv/bin/python benchmarks/speech_recipe.py [--root ../shared/data/ravdess-speech]
        [--folds 0,3] [--work runs/speech-recipe] [--json benchmarks/results/speech-recipe.json]

Trains the CMAF audio branch with the ``speech`` profile, then with each lever of its recipe
taken back one at a time (per-speaker normalisation, the one-cycle schedule, 20 epochs, the
64 x 128 log-Mel), with SpecAugment masks added (which the profile leaves off), and with the
whole previous recipe, on the random split
(seed 0) and the held-out folds given. Prints, per variant, the test accuracy of each run, the
mean over the held-out folds, and the difference from the full recipe. Finished runs under
``--work`` are reused. About 2 minutes per variant on two idle cores (three runs each). Not a
timed test: nothing here asserts a result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The paper's 128 x 256 log-Mel (Appendix A.1) instead of the profile's 64 x 128.
PAPER_MELS: dict[str, object] = {
    "preprocess.n_mels": 128,
    "model.audio.n_mels": 128,
    "preprocess.hop_length": 188,
    "preprocess.mel_frames": 256,
    "model.audio.mel_frames": 256,
    "model.tucker_ranks": [30, 128, 128],
}
#: Each variant: the overrides of the ``speech`` profile that take one lever back.
VARIANTS: dict[str, dict[str, object]] = {
    "speech profile": {},
    "no per-speaker norm": {"data.speaker_norm": False},
    "with SpecAugment": {"train.spec_masks": 2},
    "constant lr 1e-3": {"train.lr_schedule": "constant", "train.lr": 1e-3},
    "6 epochs": {"train.epochs": 6},
    "128 x 256 log-Mel": PAPER_MELS,
    "previous recipe": {
        "data.speaker_norm": False,
        "train.spec_masks": 0,
        "train.lr_schedule": "constant",
        "train.lr": 2e-3,
        "train.batch_size": 16,
        "train.epochs": 6,
        **PAPER_MELS,
    },
}


def _configure(overrides: dict[str, object]):
    from cmaf.training.config import ExperimentConfig, load_config

    data = load_config("speech").to_dict()
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return ExperimentConfig.from_dict(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(ROOT.parent / "shared/data/ravdess-speech"))
    parser.add_argument("--folds", default="0,3", help="held-out folds (comma-separated)")
    parser.add_argument("--work", default=str(ROOT / "runs" / "speech-recipe"))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    from cmaf.data.cache import prepare
    from cmaf.data.registry import classes_for, scan_dataset
    from cmaf.evaluation.runs import load_metrics
    from cmaf.experiments.protocols import ProtocolRun, ensure_run
    from cmaf.experiments.speech import find_root

    root = find_root(args.root)
    work = Path(args.work).resolve()
    scan = scan_dataset("ravdess", root, modality="audio")
    folds = [int(f) for f in args.folds.split(",") if f.strip()]
    caches: dict[str, Path] = {}
    results = {}
    for name, overrides in VARIANTS.items():
        config = _configure(overrides)
        # The book's speech runs use per-speaker normalisation unless a variant removes it.
        norm = bool(overrides.get("data.speaker_norm", True))
        runs = [ProtocolRun("random", 0, 0, norm)]
        runs += [ProtocolRun("held-out", f, 0, norm) for f in folds]
        key = config.preprocess.to_json()
        if key not in caches:
            caches[key] = prepare(
                scan.records,
                work / "cache",
                config.preprocess,
                workers=2,
                progress=False,
                classes=tuple(classes_for("ravdess", modality="audio")),
            ).cache_dir
        accuracies, seconds = {}, 0.0
        for run in runs:
            t0 = time.perf_counter()
            folder = work / name.replace(" ", "-") / run.name
            run_dir = ensure_run(
                run.configure(config),
                caches[key],
                folder,
                progress=False,
                log=lambda message: None,
            )
            seconds += time.perf_counter() - t0
            accuracies[run.split + ("" if run.split == "random" else f"-fold{run.fold}")] = (
                load_metrics(run_dir)["scalars"]["accuracy"]
            )
        held = [v for k, v in accuracies.items() if k.startswith("held-out")]
        results[name] = {
            "overrides": overrides,
            "accuracy": accuracies,
            "random": accuracies["random"],
            "held_out_mean": sum(held) / len(held) if held else None,
            "seconds": round(seconds, 1),
        }
        print(
            f"{name:<22} random {100 * accuracies['random']:5.1f} %  held-out mean "
            f"{100 * results[name]['held_out_mean']:5.1f} %  "
            + "  ".join(f"{k} {100 * v:.1f}" for k, v in accuracies.items() if k.startswith("held"))
            + f"  ({seconds:.0f} s)",
            flush=True,
        )
    full = results["speech profile"]
    print("\neach variant minus the speech profile (points):")
    for name, row in results.items():
        if name == "speech profile":
            continue
        print(
            f"  {name:<22} random {100 * (row['random'] - full['random']):+5.1f}   held-out "
            f"{100 * (row['held_out_mean'] - full['held_out_mean']):+5.1f}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"folds": folds, "variants": results}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
