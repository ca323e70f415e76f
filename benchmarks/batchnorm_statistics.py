"""Diagnostic: do the audio encoder's BatchNorm statistics explain why test noise *helps* it?

Run after a ``cpu`` book build (it reads the build's runs)::

    .venv/bin/python benchmarks/batchnorm_statistics.py [--runs-root runs/book-cpu-synthetic]
        [--fusion audio] [--seeds 0] [--raise-noise-level]

A trained model normalises with the BatchNorm running statistics of its *training batches*, and
those were augmented: half the training clips carried added noise (Table A1;
``train.augment_snr_db``). A clean test clip is then a little off the statistics the network
expects, and a little test noise can bring it back, which would make accuracy rise under noise.
For each run this prints the test accuracy, clean and under white and speech-shaped noise at
the book's SNR steps (:mod:`cmaf.experiments.robustness`), twice: with the run's own statistics,
and with every BatchNorm layer's statistics re-estimated on the *clean* (unaugmented) training
split (a cumulative average over one pass, no gradient step; the test split is not used). If
re-estimating lifts the clean score and flattens the rise, the mismatch is part of the cause;
what rise remains is the model reading noise as a class cue. Nothing is written to the run
(the re-estimated model is swept from a temporary copy). The sweep keeps each noisy clip at its
clean level (``SweepConfig.keep_level``) unless ``--raise-noise-level``. About 1 minute per
audio-only run.

Runs trained with ``train.precise_bn`` (the ``cpu`` profile's default since this diagnostic
found the effect) already hold statistics re-estimated this way after every epoch, by the same
function (:func:`cmaf.training.loop.reestimate_batchnorm`), so both lines then agree; the
diagnostic tells something for runs trained without it. Its recorded figures
(benchmarks/README.md) come from runs trained before the option existed.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> None:
    from torch.utils.data import DataLoader

    from cmaf.data.dataset import CachedClips, resolve_cache_dir
    from cmaf.data.splits import Split
    from cmaf.experiments import robustness
    from cmaf.layout import BookRuns
    from cmaf.training.checkpoint import atomic_torch_save, load_checkpoint
    from cmaf.training.loop import reestimate_batchnorm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-root", default="runs/book-cpu-synthetic")
    parser.add_argument("--fusion", default="audio", help="a model without video input")
    parser.add_argument("--seeds", default="0")
    robustness.add_noise_level_option(parser)
    args = parser.parse_args(argv)
    root = Path(args.runs_root)
    if not (root / "cache").is_dir():
        raise SystemExit(f"{root / 'cache'}: no prepared cache (build the book first: make book)")
    cache = resolve_cache_dir(root / "cache")
    sweep = robustness.SweepConfig.noise_only(keep_level=not args.raise_noise_level)
    for seed in (int(s) for s in args.seeds.split(",")):
        run = BookRuns(root).random_split_run(args.fusion, seed)
        if not (run / "metrics.json").is_file():
            raise SystemExit(f"{run}: no finished run (build the book or run cmaf compare first)")
        config, model = robustness.load_trained(run, torch.device("cpu"))
        if hasattr(model, "visual_encoder"):
            raise SystemExit(f"{run}: --fusion must name an audio-only model")
        split = Split.from_json((run / "split.json").read_text())
        clean = CachedClips(cache, split.train_ids, train=False, frames=False)
        reestimated = copy.deepcopy(model)
        reestimate_batchnorm(reestimated, DataLoader(clean, batch_size=32), torch.device("cpu"))
        state = load_checkpoint(run / "checkpoints" / "best.pt")
        state["model"] = reestimated.state_dict()
        print(
            f"{run} ({len(split.test_ids)} test clips): accuracy % clean, then SNR dB "
            + " ".join(f"{v:g}" for v in sweep.snr_db)
        )
        # The sweep loads a run's best.pt, so the re-estimated model goes into a copy.
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / run.name
            shutil.copytree(run, fresh, ignore=shutil.ignore_patterns("robustness.*"))
            atomic_torch_save(state, fresh / "checkpoints" / "best.pt")
            for label, run_dir in (("run's statistics", run), ("re-estimated on clean", fresh)):
                rows = robustness.evaluate_run(run_dir, cache, sweep, save=False)
                summary = robustness.summarize(rows)
                for kind in sweep.noise_kinds:
                    points = robustness.curve(summary, config.model.fusion, kind)
                    curve = " ".join(f"{100 * v:5.1f}" for _, v in points)
                    print(f"  {label:22s} {kind:12s} {curve}")


if __name__ == "__main__":
    main()
