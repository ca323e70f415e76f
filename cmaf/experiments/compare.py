"""``cmaf compare``: CMAF and its baselines under one protocol, with the same encoders and budget.

For every model named by ``--fusions`` (see :mod:`cmaf.models.baselines`), trains the runs of
:func:`cmaf.experiments.protocols.protocol_runs` (random split per seed, held-out folds per seed)
into ``OUT/<fusion>/<run>`` with otherwise identical settings, and writes ``OUT/results.csv``:
one row per (model, protocol) with trainable parameters, multiply-accumulates per clip (the
frozen backbone's share separately), the number of runs, and accuracy / macro-F1 / UA as mean
and sample std, and the gap between the random split and held-out actors. Finished runs are
reused, and so are runs named in ``reuse`` (the book passes its training stage's runs).

Then, unless switched off, the test-time robustness sweep
(:mod:`cmaf.experiments.robustness`) of every random-split run: ``OUT/robustness.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from cmaf.arguments import int_list, optional_int_list, output_dir
from cmaf.experiments.robustness import SweepConfig, add_noise_level_option, run_robustness
from cmaf.models.config import FUSIONS
from cmaf.training.config import ExperimentConfig


@dataclass(frozen=True)
class ComparePlan:
    """Which models, seeds and held-out folds a comparison trains, and its robustness sweep.

    ``seeds=None`` takes the caller's seeds (the book's ``--seeds``; ``cmaf compare``: 0);
    ``folds=None`` every held-out fold the data give; ``epochs`` overrides the profile's
    (``None`` keeps it).
    """

    fusions: tuple[str, ...]
    seeds: tuple[int, ...] | None
    folds: tuple[int, ...] | None
    epochs: int | None = None
    sweep: SweepConfig | None = field(default_factory=SweepConfig)
    groups_per_fold: int | None = None  # None: the dataset's (RAVDESS: 4 actors per fold)


#: Named plans. ``smoke``: tests and the CI book build. ``book``: what ``make book`` (``cpu``
#: profile) affords on two CPU cores within its 20 minutes: the three random-split runs its
#: ``train`` stage makes anyway, and their robustness sweep (about 2 minutes). On the ``cpu``
#: profile every further run costs 1-5 minutes there (CMAF 5.5, audio-only 3, video-only 1), so
#: held-out actors and the baselines and ablations (11 models x 3 seeds x every fold) are the
#: ``full`` plan: ``cmaf compare --plan full --out RUNS_ROOT/compare``, whose runs the next
#: ``make book`` tables too.
PLANS: dict[str, ComparePlan] = {
    "smoke": ComparePlan(
        ("cmaf", "audio", "video", "early"),
        (0,),
        (0,),
        sweep=SweepConfig(snr_db=(10.0, -10.0), occlusion=(1.0,), offsets=(-2, 2)),
        groups_per_fold=1,  # the smoke corpus has 2 actors
    ),
    "book": ComparePlan(("cmaf", "audio", "video"), None, ()),
    "full": ComparePlan(FUSIONS, (0, 1, 2), None),
}
#: The plan ``cmaf book`` runs for each profile.
BOOK_PLANS = {"smoke": "smoke", "cpu": "book", "paper": "full"}


def model_cost(config: ExperimentConfig) -> tuple[int, float, float]:
    """Trainable parameters, multiply-accumulates per clip, and the backbone's share of them.

    MACs are half the FLOPs that :class:`torch.utils.flop_counter.FlopCounterMode` counts for
    matrix products and convolutions, for one clip at inference. A frozen backbone's frames run
    once per clip into the feature cache; its cost is counted as it is spent, once, with the
    frames as input, and returned on its own as the third value (0 for audio-only models):
    every video-reading model carries the same backbone, so the rest is what tells them apart.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from cmaf.models.baselines import build_model

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

    The table (and the sweep) also takes in finished runs that an earlier, larger plan left
    in ``out`` with the same configuration, so ``cmaf compare --plan full`` into a book's
    ``RUNS_ROOT/compare`` shows up in the next ``make book``.

    Parameters
    ----------
    folds
        Held-out folds to train (``None``: every fold the data give).
    reuse
        Finished run directories to use instead of training ``(fusion, run name)``, e.g.
        ``("cmaf", "random-seed0")``; used only when their ``config.json`` equals the run's.
    groups_per_fold
        Actors (sessions) per held-out fold, set on the held-out runs only (``None``: the
        config's), so random-split runs keep the config they share with other stages.
    robustness
        Sweep every random-split run with these corruptions into ``out/robustness.csv``
        (``None``: no sweep).
    """
    from cmaf.evaluation.runs import aggregate_runs
    from cmaf.experiments.protocols import (
        ProtocolRun,
        _same_config,
        check_folds,
        count_folds,
        ensure_run,
        protocol_runs,
    )

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
    if folds is None:
        folds = range(count_folds(grouped, cache_dir))
    elif folds:
        check_folds(folds, count_folds(grouped, cache_dir))
    planned = protocol_runs(seeds, folds)
    rows = []
    swept: dict[str, list[Path]] = {}

    def configured(base: ExperimentConfig, run: ProtocolRun) -> ExperimentConfig:
        run_config = run.configure(base)
        if run.split == "held-out" and groups_per_fold is not None:
            run_config.data.groups_per_fold = groups_per_fold
        return run_config

    def finished(fusion: str, base: ExperimentConfig) -> dict[str, Path]:
        """Runs of ``fusion`` that an earlier, larger plan left in ``out`` with this config."""
        found = {}
        for run_dir in sorted((out / fusion).glob("*/metrics.json")):
            run = ProtocolRun.from_name(run_dir.parent.name)
            if run is not None and _same_config(run_dir.parent, configured(base, run)):
                found[run.name] = run_dir.parent
        return found

    for fusion in FUSIONS:
        base = ExperimentConfig.from_dict(config.to_dict())
        base.model.fusion = fusion
        base.name = f"{config.name}-{fusion}"
        run_dirs = {}
        for run in planned if fusion in fusions else ():
            earlier = reuse.get((fusion, run.name))
            if (
                earlier is not None
                and (Path(earlier) / "metrics.json").is_file()
                and _same_config(Path(earlier), configured(base, run))
            ):
                run_dirs[run.name] = Path(earlier)
            else:
                run_dirs[run.name] = ensure_run(
                    configured(base, run), cache_dir, out / fusion / run.name,
                    progress=progress, log=log,
                )  # fmt: skip
        for name, run_dir in finished(fusion, base).items():
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


def _sweep(plan: ComparePlan, args: argparse.Namespace) -> SweepConfig | None:
    if args.no_robustness:
        return None
    sweep = plan.sweep or SweepConfig()
    return replace(sweep, keep_level=False) if args.raise_noise_level else sweep


def _run(args: argparse.Namespace) -> int:
    from cmaf.training.config import load_config

    plan = PLANS[args.plan] if args.plan else ComparePlan(("cmaf", "audio", "video"), (0,), ())
    try:
        config = load_config(args.config)
        epochs = args.epochs if args.epochs is not None else plan.epochs
        if epochs is not None:
            config.train.epochs = epochs
        fusions = args.fusions.split(",") if args.fusions else plan.fusions
        output_dir(args.out, "--out")
        path = run_compare(
            config,
            args.cache,
            args.out,
            [f.strip() for f in fusions if f.strip()],
            args.seeds or plan.seeds or (0,),
            args.folds if args.folds is not None else plan.folds,
            groups_per_fold=plan.groups_per_fold,
            robustness=_sweep(plan, args),
            progress=not args.quiet,
        )
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

    Returns ``{"cmaf": ..., "better": "audio"|"video", "better_accuracy": ..., "margin": ...,
    "runs": ...}``, or an empty dict when one of the three models is missing.
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


#: The synthetic corpus's design aims, checked on the ``cpu`` profile's results (issue: data):
#: each unimodal model well above chance and below perfect, in 50-80 %, and the fused CMAF at
#: least 5 points above the better of them. No model may reach 100 %.
CALIBRATION_AIMS = {"unimodal_band": (0.50, 0.80), "fusion_margin": 0.05}


def calibration(
    rows: Sequence[Mapping[str, object]],
    protocol: str = "random",
    unimodal_band: tuple[float, float] = CALIBRATION_AIMS["unimodal_band"],
    min_margin: float = CALIBRATION_AIMS["fusion_margin"],
) -> list[dict[str, object]]:
    """Each design aim of the synthetic corpus against ``results.csv`` rows (means over runs).

    Returns one row per aim: ``{"aim", "measured", "runs", "met"}``; ``[]`` when the
    comparison lacks CMAF, audio-only or video-only under ``protocol``.
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
        out.append(
            {
                "aim": f"{model}-only accuracy in {100 * low:.0f}-{100 * high:.0f} %",
                "measured": accuracy,
                "runs": runs,
                "met": low <= accuracy <= high,
            }
        )
    out.append(
        {
            "aim": f"CMAF at least {100 * min_margin:.0f} points above {margin['better']}-only",
            "measured": margin["margin"],
            "runs": margin["runs"],
            "met": margin["margin"] >= min_margin,
        }
    )
    best = max(by_model, key=lambda m: by_model[m][0])
    out.append(
        {
            "aim": f"no model at 100 % (best: {best})",
            "measured": by_model[best][0],
            "runs": by_model[best][1],
            "met": by_model[best][0] < 1.0,
        }
    )
    return out
