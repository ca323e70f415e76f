"""``cmaf speech``: the CMAF audio branch on the real RAVDESS speech clips, under both protocols.

RAVDESS's ``Audio_Speech_Actors_01-24`` (1440 clips, 24 actors, audio only) is the one real
dataset this project can run end to end without a download. This command:

1. scans it with the RAVDESS loader (``modality="audio"``; ``.wav`` as distributed or ``.flac``)
   and caches the log-Mel spectrograms once (``OUT/cache``);
2. trains the CMAF audio encoder with a classifier head (the ``speech`` profile, see
   ``cmaf config --diff cpu speech``) under the paper's random stratified 80:20 split and under
   held-out-actor folds (6 folds of 4 actors, two male and two female each), with identical
   settings (``OUT/network/<run>``);
3. fits the pooled log-Mel baseline (:mod:`cmaf.models.pooled`) on exactly the same splits,
   for every fold (``OUT/pooled/<run>``);
4. writes ``OUT/summary.json``: the plan, data counts, the run directories and the seconds
   each stage took.

Plans (``--plan``) trade time for coverage; the network is the expensive part:

========  ==============  =========================  ==============  ======================
plan      network config  network runs               baseline runs   data
========  ==============  =========================  ==============  ======================
smoke     speech-smoke    random + fold 0, seed 0    the same        actors 1-8 (480 clips)
cpu       speech          random + folds 0 and 3;    random x 3      all 1440 clips
                          seed 0                     seeds, 6 folds
full      speech, 30 ep.  random + 6 folds, x 3      the same        all 1440 clips
                          seeds
========  ==============  =========================  ==============  ======================

The ``cpu`` plan is what ``make book`` runs (about 4 minutes on 2 CPU cores: 10-20 s to cache
the log-Mels, 15 s for the 21 baseline fits, about 1 minute per 6-epoch network run); ``full``
(21 network runs of 30 epochs, about 1.5 hours there) is for a reader with time or a GPU.
Finished runs are reused, so a plan can be re-run or extended after an interruption.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

#: Where the RAVDESS speech clips come from, for the messages that say how to get them.
SOURCE = (
    "Zenodo record 10.5281/zenodo.1188976, file Audio_Speech_Actors_01-24.zip "
    "(unzip it; the Actor_XX folders are the root)"
)
#: The shared copy beside this repository's checkout, when present.
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess-speech"


@dataclass(frozen=True)
class SpeechPlan:
    """Which runs a ``cmaf speech`` invocation makes.

    Parameters
    ----------
    config
        Experiment profile of the network (``speech`` or ``speech-smoke``).
    seeds
        Network seeds (each: one random split drawn with that seed, plus the held-out folds).
    folds
        Held-out folds the network trains on; ``None`` for all of them.
    baseline_seeds
        Seeds of the pooled baseline's runs (it always covers every fold).
    actors
        Use only these actors' clips (``None``: all).
    epochs
        Override of the profile's epochs (``None``: keep).
    """

    config: str
    seeds: tuple[int, ...] = (0,)
    folds: tuple[int, ...] | None = None
    baseline_seeds: tuple[int, ...] = (0,)
    actors: tuple[int, ...] | None = None
    epochs: int | None = None


PLANS: dict[str, SpeechPlan] = {
    "smoke": SpeechPlan("speech-smoke", folds=(0,), actors=tuple(range(1, 9))),
    # Two of the six folds keep make book inside its 20-minute budget (each network run is
    # ~1 min); each fold holds two male and two female actors (fold 0: actors 1-4, fold 3:
    # 13-16). The baseline covers all six.
    "cpu": SpeechPlan("speech", folds=(0, 3), baseline_seeds=(0, 1, 2)),
    "full": SpeechPlan("speech", seeds=(0, 1, 2), baseline_seeds=(0, 1, 2), epochs=30),
}
#: The speech plan each book profile runs.
BOOK_PLANS = {"smoke": "smoke", "cpu": "cpu", "paper": "full"}
SUMMARY = "summary.json"
#: The network runs' robustness sweep (:mod:`cmaf.evaluation.robustness`), in ``out``.
ROBUSTNESS = "robustness.csv"


class SpeechError(RuntimeError):
    """One line naming what failed and how to fix it."""


def find_root(root: str | Path | None) -> Path:
    """The RAVDESS speech folder: ``root`` if given, else the shared copy; checked."""
    path = Path(root).expanduser() if root else DEFAULT_ROOT
    if not path.is_dir():
        raise SpeechError(f"{path}: no RAVDESS speech folder; get it from {SOURCE}")
    if not any(path.glob("Actor_*")):
        raise SpeechError(f"{path}: holds no Actor_XX folders; get RAVDESS speech from {SOURCE}")
    return path.resolve()


def _config(plan: SpeechPlan):
    from cmaf.training.config import load_config

    config = load_config(plan.config)
    if plan.epochs is not None:
        config.train.epochs = plan.epochs
    return config


def run_speech(
    root: str | Path | None,
    out: str | Path,
    plan: str = "cpu",
    *,
    progress: bool = True,
) -> Path:
    """Prepare, train and fit the runs of ``plan`` into ``out``, then sweep the network runs
    under test-time noise (``out/robustness.csv``); returns ``out/summary.json``.

    Raises
    ------
    SpeechError
        Missing data, an unknown plan, or a failed stage (one line naming it).
    """
    from cmaf.data.cache import prepare
    from cmaf.data.records import DataError
    from cmaf.data.registry import classes_for, scan_dataset
    from cmaf.evaluation.robustness import run_robustness
    from cmaf.training.checkpoint import atomic_write_text
    from cmaf.training.loop import TrainingDiverged
    from cmaf.training.protocols import count_folds, protocol_runs, run_protocols

    if plan not in PLANS:
        raise SpeechError(f"unknown plan {plan!r}: use one of {', '.join(PLANS)}")
    spec = PLANS[plan]
    root = find_root(root)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = _config(spec)
    seconds: dict[str, float] = {}

    def log(message: str) -> None:
        if progress:
            print(f"[speech] {message}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    try:
        scan = scan_dataset("ravdess", root, modality="audio")
    except DataError as exc:
        raise SpeechError(f"scan: {exc}") from exc
    records = scan.records
    if spec.actors is not None:
        keep = {f"ravdess-{a:02d}" for a in spec.actors}
        records = [r for r in records if r.speaker in keep]
    if not records:
        raise SpeechError(f"{root}: no usable RAVDESS speech clips ({len(scan.problems)} problems)")
    try:
        result = prepare(
            records,
            out / "cache",
            config.preprocess,
            workers=2,
            progress=progress,
            classes=tuple(classes_for("ravdess", modality="audio")),
            scan_problems=scan.problems,
        )
    except DataError as exc:
        raise SpeechError(f"prepare: {exc}") from exc
    cache_dir = Path(result.cache_dir)
    seconds["prepare"] = round(time.perf_counter() - t0, 2)
    log(f"cache {cache_dir}: {result.n_usable} clips ({result.n_processed} written)")

    n_folds = count_folds(config, cache_dir)
    folds = spec.folds if spec.folds is not None else tuple(range(n_folds))
    if max(folds) >= n_folds:
        raise SpeechError(f"plan {plan}: fold {max(folds)} but the data give {n_folds} folds")
    network_runs = protocol_runs(spec.seeds, folds)
    baseline_runs = protocol_runs(spec.baseline_seeds, range(n_folds))
    try:
        t0 = time.perf_counter()
        pooled = run_protocols(
            config, cache_dir, out, [], models=("pooled",), baseline_runs=baseline_runs
        )["pooled"]
        seconds["pooled"] = round(time.perf_counter() - t0, 2)
        log(f"pooled baseline: {len(pooled)} runs in {seconds['pooled']:.0f} s")
        t0 = time.perf_counter()
        network = run_protocols(
            config, cache_dir, out, network_runs, models=("network",), progress=progress, log=log
        )["network"]
        seconds["network"] = round(time.perf_counter() - t0, 2)
    except (ValueError, FileNotFoundError, FileExistsError, TrainingDiverged) as exc:
        raise SpeechError(f"training: {exc}") from exc
    # The robustness sweep's sanity check on real recordings: does the network's accuracy fall
    # as test noise grows? (On the synthetic corpus a noise can pass for a class cue.)
    t0 = time.perf_counter()
    try:
        sweep = run_robustness({"audio": network}, cache_dir, out / ROBUSTNESS, progress=progress)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise SpeechError(f"robustness sweep: {exc}") from exc
    seconds["robustness"] = round(time.perf_counter() - t0, 2)
    log(f"robustness sweep of {len(network)} network runs in {seconds['robustness']:.0f} s")

    summary = {
        "plan": plan,
        "plan_spec": asdict(spec),
        "root": str(root),
        "cache_dir": str(cache_dir),
        "clips": result.n_usable,
        "actors": len({r.speaker for r in records}),
        "problems": len(scan.problems),
        "n_folds": n_folds,
        "network_config": config.name,
        "network_epochs": config.train.epochs,
        "runs": {
            "network": [str(p.relative_to(out)) for p in network],
            "pooled": [str(p.relative_to(out)) for p in pooled],
        },
        "robustness": str(sweep.relative_to(out)),
        "seconds": seconds,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = out / SUMMARY
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")
    log(f"wrote {path}")
    return path


def load_summary(out: str | Path) -> dict | None:
    """``out/summary.json`` of a finished ``cmaf speech`` run, or ``None`` when there is none."""
    path = Path(out) / SUMMARY
    return json.loads(path.read_text()) if path.is_file() else None


#: Display names of the models and protocols in tables.
MODEL_NAMES = {"network": "CMAF audio branch (CNN)", "pooled": "pooled log-Mel + linear"}
PROTOCOL_NAMES = {"random": "random 80:20 (paper)", "held-out": "held-out actors"}


def run_groups(out: str | Path, summary: dict | None = None) -> dict[tuple[str, str], list[Path]]:
    """Finished run directories of a ``cmaf speech`` output, by ``(model, protocol)``."""
    out = Path(out)
    summary = summary or load_summary(out) or {"runs": {}}
    groups: dict[tuple[str, str], list[Path]] = {}
    for model, names in summary["runs"].items():
        for name in names:
            run_dir = out / name
            if not (run_dir / "metrics.json").is_file():
                continue
            protocol = "random" if Path(name).name.startswith("random") else "held-out"
            groups.setdefault((model, protocol), []).append(run_dir)
    return groups


def results_table(out: str | Path, summary: dict | None = None):
    """One row per (model, protocol): runs, and accuracy / macro-F1 / UA as mean and std (%).

    The spread is over folds (held-out) or over seeds, each with its own random split
    (random); the sample standard deviation, 0 for a single run.
    """
    import pandas as pd

    from cmaf.evaluation.runs import aggregate_runs

    rows = []
    groups = run_groups(out, summary)
    for model, protocol in sorted(groups, key=lambda k: (k[0], list(PROTOCOL_NAMES).index(k[1]))):
        dirs = groups[(model, protocol)]
        stats = aggregate_runs(dirs)["mean_std"]
        row = {
            "model": MODEL_NAMES.get(model, model),
            "protocol": PROTOCOL_NAMES.get(protocol, protocol),
            "runs": len(dirs),
        }
        for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("ua", "UA")):
            mean, std = stats[key]
            row[f"{label} mean"] = 100 * mean
            row[f"{label} std"] = 100 * std
        rows.append(row)
    return pd.DataFrame(rows)


def protocol_gap(table) -> dict[str, float]:
    """Random-split minus held-out mean accuracy (percentage points), per model."""
    gaps = {}
    for model, part in table.groupby("model"):
        by = part.set_index("protocol")["accuracy mean"]
        random, held = PROTOCOL_NAMES["random"], PROTOCOL_NAMES["held-out"]
        if random in by and held in by:
            gaps[model] = float(by[random] - by[held])
    return gaps


def per_class_f1(out: str | Path, model: str, summary: dict | None = None):
    """Per-class F1 (%) of ``model`` under each protocol: mean and std over its runs."""
    import pandas as pd

    from cmaf.evaluation.runs import aggregate_runs

    columns = {}
    for (name, protocol), dirs in sorted(run_groups(out, summary).items()):
        if name != model:
            continue
        agg = aggregate_runs(dirs)
        label = PROTOCOL_NAMES.get(protocol, protocol)
        for cls in agg["class_names"]:
            mean, std = agg["mean_std"][f"f1/{cls}"]
            columns.setdefault(f"{label} mean", {})[cls] = 100 * mean
            columns.setdefault(f"{label} std", {})[cls] = 100 * std
    return pd.DataFrame(columns)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``speech`` sub-command."""
    parser = subparsers.add_parser(
        "speech",
        help="the audio branch on the real RAVDESS speech clips: random split vs held-out actors",
        description="Cache RAVDESS's audio-only speech clips, train the CMAF audio encoder and "
        "fit the pooled log-Mel baseline under the paper's random 80:20 split and under "
        "held-out-actor folds, and write OUT/summary.json (read by the book's real-data "
        "chapter). Finished runs with the same config are reused.",
    )
    parser.add_argument(
        "--root",
        help=f"the Actor_XX folders (default: the shared copy {DEFAULT_ROOT}, if present)",
    )
    parser.add_argument("--out", required=True, help="output folder (cache, runs, summary)")
    parser.add_argument(
        "--plan", default="cpu", choices=tuple(PLANS), help="which runs (default cpu)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        path = run_speech(args.root, args.out, args.plan, progress=not args.quiet)
    except SpeechError as exc:
        print(f"cmaf speech: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


__all__: Sequence[str] = (
    "PLANS",
    "SpeechError",
    "SpeechPlan",
    "load_summary",
    "per_class_f1",
    "protocol_gap",
    "results_table",
    "run_groups",
    "run_speech",
)
