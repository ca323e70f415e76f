"""``cmaf compare``: CMAF and its baselines under one protocol, with the same encoders and budget.

For every model named by ``--fusions`` (see :mod:`cmaf.models.baselines`), trains the runs of
:func:`cmaf.training.protocols.protocol_runs` (random split per seed, held-out folds per seed)
into ``OUT/<fusion>/<run>`` with otherwise identical settings, and writes ``OUT/results.csv``:
one row per (model, protocol) with trainable parameters, multiply-accumulates per clip, the
number of runs, and accuracy / macro-F1 / UA as mean and sample std. Finished runs are reused.

The robustness sweeps and the book's comparison section build on these run directories (not
yet implemented).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from cmaf.training.config import ExperimentConfig


def model_cost(config: ExperimentConfig) -> tuple[int, float]:
    """Trainable parameters and multiply-accumulates for one clip (inference) of ``config``.

    MACs are half the FLOPs that :class:`torch.utils.flop_counter.FlopCounterMode` counts for
    matrix products and convolutions. A frozen backbone's frames run once per clip into the
    feature cache; its cost is counted as it is spent, once, with the frames as input.
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
    return params, counter.get_total_flops() / 2


def run_compare(
    config: ExperimentConfig,
    cache_dir: str | Path,
    out: str | Path,
    fusions: Sequence[str],
    seeds: Sequence[int] = (0,),
    folds: Sequence[int] = (),
    *,
    progress: bool = True,
) -> Path:
    """Train every fusion's runs and write ``out/results.csv``; returns its path."""
    from cmaf.evaluation.runs import aggregate_runs
    from cmaf.models.config import FUSIONS
    from cmaf.training.protocols import ensure_run, protocol_runs

    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown:
        raise ValueError(f"unknown fusion(s) {unknown}; use any of {', '.join(FUSIONS)}")
    out = Path(out)
    runs = protocol_runs(seeds, folds)
    rows = []
    for fusion in fusions:
        base = ExperimentConfig.from_dict(config.to_dict())
        base.model.fusion = fusion
        base.name = f"{config.name}-{fusion}"
        params, macs = model_cost(base)
        by_protocol: dict[str, list[Path]] = {}
        for run in runs:
            run_dir = ensure_run(
                run.configure(base), cache_dir, out / fusion / run.name, progress=progress
            )
            by_protocol.setdefault(run.split, []).append(run_dir)
        for protocol, dirs in by_protocol.items():
            stats = aggregate_runs(dirs)["mean_std"]
            row = {"fusion": fusion, "protocol": protocol, "params": params, "macs": int(macs)}
            row["runs"] = len(dirs)
            for key in ("accuracy", "macro_f1", "ua"):
                row[f"{key}_mean"], row[f"{key}_std"] = stats[key]
            rows.append(row)
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
        "and UA per protocol. Finished runs are reused.",
    )
    parser.add_argument("--config", default="cpu", help="profile or JSON config (default cpu)")
    parser.add_argument("--cache", required=True, help="prepared cache directory")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--fusions",
        default="cmaf,audio,video,early,late",
        help="comma-separated models (default cmaf,audio,video,early,late)",
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--folds", default="", help="comma-separated held-out folds (default none)")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_run)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _run(args: argparse.Namespace) -> int:
    from cmaf.training.config import load_config

    try:
        config = load_config(args.config)
        if args.epochs is not None:
            config.train.epochs = args.epochs
        path = run_compare(
            config,
            args.cache,
            args.out,
            [f.strip() for f in args.fusions.split(",") if f.strip()],
            _ints(args.seeds),
            _ints(args.folds),
            progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"cmaf compare: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0
