"""``cmaf compare``: CMAF and its baselines under both protocols, same encoders, same budget.

Every model of the plan (:mod:`cmaf.models.baselines`) trains the runs of
:func:`~cmaf.experiments.protocols.protocol_runs` into ``OUT/<fusion>/<run>`` with otherwise
identical settings. ``OUT/results.csv`` has one row per (model, protocol): trainable parameters,
multiply-accumulates per clip (the frozen backbone's share apart), accuracy, macro-F1 and UA as
mean and sample std over runs, and the random-split minus held-out accuracy. Then the
random-split runs are swept with test-time corruptions (:mod:`cmaf.experiments.robustness`)
into ``OUT/robustness.csv``. Finished runs with the same config are reused.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from cmaf.arguments import int_list, optional_int_list, output_dir
from cmaf.evaluation.runs import aggregate_runs
from cmaf.experiments import Plan
from cmaf.experiments.protocols import (
    ProtocolRun,
    _same_config,
    check_folds,
    count_folds,
    ensure_run,
    protocol_runs,
)
from cmaf.experiments.robustness import SweepConfig, add_noise_level_option, run_robustness
from cmaf.models.baselines import build_model
from cmaf.models.config import FUSIONS
from cmaf.training.config import ExperimentConfig, load_config

#: Named plans. ``smoke``: tests and the CI book build. ``book`` (the ``cpu`` book): only the
#: three random-split runs its ``train`` stage makes anyway, and their sweep, which is what two
#: CPU cores afford in a build. ``full``: every model, three seeds, every held-out fold; run it
#: into a book's ``RUNS_ROOT/compare`` and the next build tables its runs too.
PLANS: dict[str, Plan] = {
    "smoke": Plan(
        ("cmaf", "audio", "video", "early"),
        folds=(0,),
        groups_per_fold=1,  # the smoke corpus has 2 actors
        sweep=SweepConfig(snr_db=(10.0, -10.0), occlusion=(1.0,), offsets=(-2, 2)),
    ),
    "book": Plan(seeds=None),
    "full": Plan(FUSIONS, seeds=(0, 1, 2), folds=None),
}


def model_cost(config: ExperimentConfig) -> tuple[int, float, float]:
    """Trainable parameters, multiply-accumulates per clip, and the backbone's share of them.

    MACs are half the FLOPs :class:`~torch.utils.flop_counter.FlopCounterMode` counts for one
    clip at inference. A frozen backbone runs once per clip into the feature cache, so its cost
    is counted once, with the frames as input, and also returned on its own (0 without video):
    every video model carries the same backbone, so the rest is what tells them apart.
    """
    model = build_model(config.model).eval()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    audio, visual = config.model.audio, config.model.visual
    mel = torch.zeros(1, 1, audio.n_mels, audio.mel_frames)
    frames = torch.zeros(1, visual.num_frames, 3, visual.image_size, visual.image_size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(mel, frames)
    backbone = 0.0
    if hasattr(model, "visual_encoder"):
        with torch.no_grad(), FlopCounterMode(display=False) as backbone_counter:
            model.visual_encoder.frame_features(frames)
        backbone = backbone_counter.get_total_flops() / 2
    return params, counter.get_total_flops() / 2, backbone


def run_compare(
    config: ExperimentConfig,
    cache_dir: str | Path,
    out: str | Path,
    fusions: Sequence[str],
    seeds: Sequence[int] = (0,),
    folds: Sequence[int] | None = (),
    *,
    reuse: Mapping[tuple[str, str], Path] | None = None,
    groups_per_fold: int | None = None,
    robustness: SweepConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Train every fusion's runs and write ``out/results.csv``; returns its path.

    The table (and the sweep) also takes in finished runs that an earlier, larger plan left in
    ``out`` with the same configuration.

    Parameters
    ----------
    folds
        Held-out folds to train (``None``: every fold the data give).
    reuse
        Finished run directories to use instead of training ``(fusion, run name)``, e.g.
        ``("cmaf", "random-seed0")``, when their ``config.json`` equals the run's.
    groups_per_fold
        Actors per held-out fold, set on the held-out runs only (``None``: the config's), so
        random-split runs keep the config they share with other stages.
    robustness
        Sweep the random-split runs into ``out/robustness.csv`` (``None``: no sweep).
    """
    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown:
        raise ValueError(f"unknown fusion(s) {unknown}; use any of {', '.join(FUSIONS)}")
    out = Path(out)
    reuse = reuse or {}
    grouped = ExperimentConfig.from_dict(config.to_dict())
    if groups_per_fold is not None:
        grouped.data.groups_per_fold = groups_per_fold
    # Checked before any run trains: a fold the data do not give would fail only after the
    # runs before it had spent their time.
    if folds is None or folds:
        folds = check_folds(folds, count_folds(grouped, cache_dir))
    planned = protocol_runs(seeds, folds)
    rows = []
    swept: dict[str, list[Path]] = {}

    def configured(fusion: str, run: ProtocolRun) -> ExperimentConfig:
        return run_config(config, fusion, run, groups_per_fold)

    def finished(fusion: str) -> dict[str, Path]:
        """Runs of ``fusion`` that an earlier, larger plan left in ``out`` with this config."""
        found = {}
        for run_dir in sorted((out / fusion).glob("*/metrics.json")):
            run = ProtocolRun.from_name(run_dir.parent.name)
            if run is not None and _same_config(run_dir.parent, configured(fusion, run)):
                found[run.name] = run_dir.parent
        return found

    for fusion in FUSIONS:
        base = run_config(config, fusion)
        run_dirs = {}
        for run in planned if fusion in fusions else ():
            earlier = reuse.get((fusion, run.name))
            if (
                earlier is not None
                and (Path(earlier) / "metrics.json").is_file()
                and _same_config(Path(earlier), configured(fusion, run))
            ):
                run_dirs[run.name] = Path(earlier)
            else:
                run_dirs[run.name] = ensure_run(
                    configured(fusion, run), cache_dir, out / fusion / run.name,
                    progress=progress, log=log,
                )  # fmt: skip
        for name, run_dir in finished(fusion).items():
            run_dirs.setdefault(name, run_dir)
        if not run_dirs:
            continue
        params, macs, backbone_macs = model_cost(base)
        by_protocol: dict[str, list[Path]] = {}
        for split in ("random", "held-out"):
            for name, run_dir in run_dirs.items():
                if ProtocolRun.from_name(name).split == split:
                    by_protocol.setdefault(split, []).append(run_dir)
        swept[fusion] = by_protocol.get("random", [])
        accuracy = {}
        for protocol, dirs in by_protocol.items():
            stats = aggregate_runs(dirs)["mean_std"]
            row = {"fusion": fusion, "protocol": protocol, "params": params, "macs": int(macs)}
            row["backbone_macs"] = int(backbone_macs)
            row["runs"] = len(dirs)
            for key in ("accuracy", "macro_f1", "ua"):
                row[f"{key}_mean"], row[f"{key}_std"] = stats[key]
            accuracy[protocol] = stats["accuracy"][0]
            rows.append(row)
        gap = accuracy.get("random", math.nan) - accuracy.get("held-out", math.nan)
        for row in rows[-len(by_protocol) :]:
            row["random_minus_held_out"] = gap
    if robustness is not None:
        run_robustness(
            {f: dirs for f, dirs in swept.items() if dirs},
            cache_dir,
            out / "robustness.csv",
            robustness,
            progress=progress,
        )
    path = out / "results.csv"
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".results.csv.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def run_config(
    config: ExperimentConfig,
    fusion: str,
    run: ProtocolRun | None = None,
    groups_per_fold: int | None = None,
) -> ExperimentConfig:
    """The config of ``fusion``'s run ``run`` in a comparison of ``config`` (a copy; without
    ``run``, the fusion's base config). The book's train stage builds its runs with it too, so
    the comparison reuses them."""
    out = ExperimentConfig.from_dict(config.to_dict())
    out.model.fusion = fusion
    out.name = f"{config.name}-{fusion}"
    if run is None:
        return out
    out = run.configure(out)
    if run.split == "held-out" and groups_per_fold is not None:
        out.data.groups_per_fold = groups_per_fold
    return out


def run_plan(
    plan: Plan,
    config: ExperimentConfig,
    cache_dir: str | Path,
    out: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    reuse: Mapping[tuple[str, str], Path] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Path:
    """:func:`run_compare` of ``plan`` on ``config``, with ``seeds`` where the plan leaves them
    to the caller."""
    return run_compare(
        plan.load(config),
        cache_dir,
        out,
        plan.models,
        plan.seeds if plan.seeds is not None else tuple(seeds),
        plan.folds,
        reuse=reuse,
        groups_per_fold=plan.groups_per_fold,
        robustness=plan.sweep,
        progress=progress,
        log=log,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command."""
    parser = subparsers.add_parser(
        "compare",
        help="train CMAF and its baselines under one protocol; write results.csv",
        description="Train each model of --fusions on a prepared cache with the same profile, "
        "seeds and splits (random split per seed, plus the --folds held-out folds), and write "
        "OUT/results.csv with parameters, MACs per clip and mean ± std of accuracy, macro-F1 "
        "and UA per protocol; then sweep the random-split runs with test-time corruptions "
        "(noise, occlusion, missing modality, offsets) into OUT/robustness.csv. Finished runs "
        "with the same config are reused; one with another config stops it with one line.",
    )
    parser.add_argument("--config", default="cpu", help="profile or JSON config (default cpu)")
    parser.add_argument(
        "--plan",
        choices=sorted(PLANS),
        help="a named plan of models, seeds, folds and sweep (smoke, book, full); "
        "--fusions/--seeds/--folds/--epochs given explicitly override it",
    )
    parser.add_argument("--cache", required=True, help="prepared cache directory")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--fusions", help="comma-separated models (default: the plan's, or cmaf,audio,video)"
    )
    parser.add_argument(
        "--seeds", type=int_list, help="comma-separated seeds (default: the plan's, or 0)"
    )
    parser.add_argument(
        "--folds",
        type=optional_int_list,
        help="comma-separated held-out folds, '' for none (default: the plan's, or none)",
    )
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument(
        "--no-robustness",
        action="store_true",
        help="skip the test-time robustness sweep of the random-split runs",
    )
    add_noise_level_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run)


def _sweep(plan: Plan, args: argparse.Namespace) -> SweepConfig | None:
    if args.no_robustness:
        return None
    sweep = plan.sweep or SweepConfig()
    return replace(sweep, keep_level=False) if args.raise_noise_level else sweep


def _run(args: argparse.Namespace) -> int:
    plan = PLANS[args.plan] if args.plan else Plan()
    fusions = args.fusions.split(",") if args.fusions else plan.models
    plan = replace(
        plan,
        models=tuple(f.strip() for f in fusions if f.strip()),
        seeds=args.seeds or plan.seeds,
        folds=args.folds if args.folds is not None else plan.folds,
        epochs=args.epochs if args.epochs is not None else plan.epochs,
        sweep=_sweep(plan, args),
    )
    try:
        config = load_config(args.config)
        output_dir(args.out, "--out")
        path = run_plan(plan, config, args.cache, args.out, progress=not args.quiet)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"cmaf compare: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def load_results(path: str | Path) -> list[dict[str, object]]:
    """Rows of ``results.csv`` with numbers parsed (see :func:`run_compare`)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key, value in row.items():
            if key not in ("fusion", "protocol"):
                row[key] = float(value) if value not in ("", "nan") else math.nan
    return rows


def fusion_margin(rows: Sequence[Mapping[str, object]], protocol: str = "random") -> dict:
    """CMAF's accuracy minus the better unimodal model's under ``protocol`` (means over runs).

    Returns ``{"cmaf", "better": "audio"|"video", "better_accuracy", "margin", "runs"}``, or
    an empty dict when one of the three models is missing.
    """
    acc = {
        r["fusion"]: (float(r["accuracy_mean"]), int(r["runs"]))
        for r in rows
        if r["protocol"] == protocol
    }
    if not {"cmaf", "audio", "video"} <= acc.keys():
        return {}
    better = max(("audio", "video"), key=lambda m: acc[m][0])
    return {
        "cmaf": acc["cmaf"][0],
        "better": better,
        "better_accuracy": acc[better][0],
        "margin": acc["cmaf"][0] - acc[better][0],
        "runs": acc["cmaf"][1],
    }


#: The synthetic corpus's design aims, checked on the ``cpu`` profile's results: each unimodal
#: model well above chance and below perfect, in 50-80 %, and the fused CMAF at least 5 points
#: above the better of them. No model may reach 100 %.
CALIBRATION_AIMS = {"unimodal_band": (0.50, 0.80), "fusion_margin": 0.05}


def calibration(
    rows: Sequence[Mapping[str, object]],
    protocol: str = "random",
    unimodal_band: tuple[float, float] = CALIBRATION_AIMS["unimodal_band"],
    min_margin: float = CALIBRATION_AIMS["fusion_margin"],
) -> list[dict[str, object]]:
    """Each design aim of the synthetic corpus against ``results.csv`` rows (means over runs).

    Returns one ``{"aim", "measured", "runs", "met"}`` per aim; ``[]`` when CMAF, audio-only or
    video-only is missing under ``protocol``.
    """
    margin = fusion_margin(rows, protocol)
    if not margin:
        return []
    low, high = unimodal_band
    by_model = {
        str(r["fusion"]): (float(r["accuracy_mean"]), int(r["runs"]))
        for r in rows
        if r["protocol"] == protocol
    }
    out = []
    for model in ("audio", "video"):
        accuracy, runs = by_model[model]
        band = f"{model}-only accuracy in {100 * low:.0f}-{100 * high:.0f} %"
        out.append(_aim(band, accuracy, runs, low <= accuracy <= high))
    above = f"CMAF at least {100 * min_margin:.0f} points above {margin['better']}-only"
    out.append(_aim(above, margin["margin"], margin["runs"], margin["margin"] >= min_margin))
    best = max(by_model, key=lambda m: by_model[m][0])
    accuracy, runs = by_model[best]
    out.append(_aim(f"no model at 100 % (best: {best})", accuracy, runs, accuracy < 1.0))
    return out


def _aim(aim: str, measured: float, runs: int, met: bool) -> dict[str, object]:
    return {"aim": aim, "measured": measured, "runs": runs, "met": met}
