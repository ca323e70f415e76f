"""``cmaf train``, ``cmaf evaluate`` and ``cmaf config``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cmaf.arguments import UsageError, one_line, output_file
from cmaf.data.dataset import load_manifest
from cmaf.evaluation.runs import aggregate_runs, format_aggregate, run_dir_containing
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.config import diff_configs, load_config
from cmaf.training.loop import TrainingDiverged, train


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train CMAF on a prepared cache and evaluate it",
        description="Train CMAF on a prepared cache (`cmaf prepare`), choose the checkpoint on "
        "the validation split, evaluate it on the test split and write a run directory. Under "
        "torchrun it trains with DistributedDataParallel.",
    )
    train.add_argument("--config", default="cpu", help="profile (paper, cpu, smoke) or JSON file")
    train.add_argument("--cache", required=True, help="prepared cache directory")
    train.add_argument("--dataset", help="expected dataset name (checked against the cache)")
    train.add_argument("--split", choices=("random", "held-out"), help="evaluation protocol")
    train.add_argument("--fold", type=int, help="held-out fold index")
    train.add_argument("--seed", type=int, help="training seed")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--num-classes", type=int, help="override model.num_classes")
    train.add_argument(
        "--fusion",
        help="model: cmaf (the paper's), or a baseline or ablation (audio, video, early, late, "
        "tfn, lmf, mutan, attention-concat, cmaf-no-attention, cmaf-no-gru)",
    )
    train.add_argument("--out", help="run directory (default runs/NAME-TIMESTAMP)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="summarise runs: test metrics, or mean ± std over several seeds",
        description="Print the test metrics of one run directory, or mean ± std across "
        "several (e.g. seeds), and write the aggregate as JSON with --out.",
    )
    evaluate.add_argument("runs", nargs="+", help="run directories")
    evaluate.add_argument(
        "--out", help="write the aggregate JSON here (a new file outside the run directories)"
    )
    evaluate.add_argument("--force", action="store_true", help="replace an existing --out file")
    evaluate.set_defaults(func=_evaluate)

    config = subparsers.add_parser(
        "config",
        help="show a profile, or the differences between two",
        description="Print a resolved profile as JSON, or list with --diff every field in which "
        "two profiles differ and why.",
    )
    config.add_argument("name", nargs="?", default="paper", help="profile or JSON file")
    config.add_argument("--diff", nargs=2, metavar=("A", "B"), help="compare two profiles")
    config.set_defaults(func=_config)


def _fail(command: str, exc: BaseException) -> int:
    print(f"cmaf {command}: {one_line(exc)}", file=sys.stderr)
    return 1 if not isinstance(exc, ValueError) else 2


def _train(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        if args.split is not None:
            config.data.split = args.split
        if args.fold is not None:
            config.data.fold = args.fold
        if args.seed is not None:
            config.train.seed = args.seed
        if args.epochs is not None:
            config.train.epochs = args.epochs
        if args.num_classes is not None:
            config.model.num_classes = args.num_classes
        if args.fusion is not None:
            config.model.fusion = args.fusion
            config.name = f"{config.name}-{args.fusion}"
        if args.dataset is not None:
            config.data.dataset = args.dataset
            _check_dataset(args.cache, args.dataset)
        config.validate()
        run_dir = train(config, args.cache, args.out, resume=args.resume, progress=not args.quiet)
    except TrainingDiverged as exc:
        print(f"cmaf train: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as exc:
        return _fail("train", exc)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    scalars = metrics["scalars"]
    print(
        f"{run_dir}: test accuracy {scalars['accuracy']:.4f}, macro-F1 {scalars['macro_f1']:.4f},"
        f" UA {scalars['ua']:.4f} ({metrics['checkpoint']})"
    )
    return 0


def _check_dataset(cache: str, dataset: str) -> None:
    rows = load_manifest(cache)
    found = {row["dataset"] for row in rows}
    if found and found != {dataset}:
        raise ValueError(f"{cache}: holds {', '.join(sorted(found))}, not --dataset {dataset}")


def _evaluate(args: argparse.Namespace) -> int:
    try:
        if args.out:
            # Checked before anything is read: a run's own files must never be overwritten
            # (writing the aggregate over a run's metrics.json would break that run).
            inside = run_dir_containing(args.out)
            if inside is not None:
                raise UsageError(
                    f"--out {args.out}: inside the run directory {inside}; write the aggregate "
                    "outside any run"
                )
            out = output_file(args.out, "--out", force=args.force)
        summary = aggregate_runs(args.runs)
    except (ValueError, OSError) as exc:
        return _fail("evaluate", exc)
    print(format_aggregate(summary))
    if args.out:
        atomic_write_text(out, json.dumps(summary, indent=2) + "\n")
    return 0


def _config(args: argparse.Namespace) -> int:
    try:
        if args.diff:
            rows = diff_configs(*args.diff)
            a, b = args.diff
            print(f"{'field':<28}{a:>12}{b:>12}  why")
            for key, first, second, reason in rows:
                print(f"{key:<28}{first!s:>12}{second!s:>12}  {reason}")
        else:
            print(load_config(args.name).to_json(), end="")
    except (ValueError, KeyError) as exc:
        return _fail("config", exc)
    return 0
