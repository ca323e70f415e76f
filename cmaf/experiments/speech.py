"""``cmaf speech``: the CMAF audio branch and two linear baselines on RAVDESS's real speech
clips, under both protocols, with and without per-speaker normalisation.

RAVDESS's ``Audio_Speech_Actors_01-24`` (24 actors, audio only) is the one real dataset this
project runs end to end without a download. :func:`run_speech` caches its log-Mels and eGeMAPS
v02 functionals (:mod:`cmaf.data.egemaps`) once, trains the audio encoder with a classifier head
(the ``speech`` profiles) under the paper's random 80:20 split and under held-out-actor folds,
fits logistic regression on pooled log-Mel statistics (:mod:`cmaf.models.pooled`) and on eGeMAPS
on exactly the same splits, sweeps the network runs under test-time noise, and writes
``OUT/results.csv`` (:func:`results_table`) and ``OUT/summary.json``. The other functions read
them for the book's real-data chapter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cmaf.arguments import UsageError, output_dir
from cmaf.data.cache import prepare
from cmaf.data.dataset import load_manifest
from cmaf.data.egemaps import extract_egemaps
from cmaf.data.records import DataError
from cmaf.data.registry import classes_for, scan_dataset
from cmaf.evaluation.claims import paired_difference
from cmaf.evaluation.metrics import cluster_bootstrap
from cmaf.evaluation.runs import aggregate_runs
from cmaf.experiments import Plan
from cmaf.experiments.protocols import (
    LINEAR_FEATURES,
    ProtocolRun,
    check_folds,
    count_folds,
    ensure_runs,
    pooled_features,
    protocol_runs,
    run_linear_baseline,
)
from cmaf.experiments.robustness import run_robustness
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.loop import TrainingDiverged

#: Where the RAVDESS speech clips come from, for the messages that say how to get them.
SOURCE = (
    "Zenodo record 10.5281/zenodo.1188976, file Audio_Speech_Actors_01-24.zip "
    "(unzip it; the Actor_XX folders are the root)"
)
#: The shared copy beside this repository's checkout, when present.
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess-speech"
#: Every speech plan: the network (``speech`` profile) and both linear baselines, under both
#: protocols and both normalisations, the baselines on every fold.
_BASE = Plan(
    ("network", "pooled", "egemaps"), folds=None, config="speech", speaker_norm=(True, False)
)
#: Named plans (``--plan``). ``smoke``: the ``speech-smoke`` profile on actors 1-8, the network
#: on the random split and fold 0. ``cpu`` (what ``make book`` runs): the network on every fold,
#: the baselines with three seeds. ``full``: the network with three seeds too.
PLANS: dict[str, Plan] = {
    "smoke": replace(_BASE, folds=(0,), config="speech-smoke", actors=tuple(range(1, 9))),
    "cpu": replace(_BASE, baseline_seeds=(0, 1, 2)),
    "full": replace(_BASE, seeds=(0, 1, 2), baseline_seeds=(0, 1, 2)),
}
SUMMARY = "summary.json"
#: The machine-readable result table (:func:`results_table`), in ``out``.
RESULTS = "results.csv"
#: The network runs' robustness sweep (:mod:`cmaf.experiments.robustness`), in ``out``.
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


def run_speech(
    root: str | Path | None, out: str | Path, plan: str = "cpu", *, progress: bool = True
) -> Path:
    """Prepare, extract, train and fit the runs of ``plan`` (a name of :data:`PLANS`) into
    ``out``, sweep the network runs, write ``out/results.csv``; returns ``out/summary.json``.

    Raises
    ------
    SpeechError
        Missing data, an unknown plan, or a failed stage (one line naming it).
    """
    if plan not in PLANS:
        raise SpeechError(f"unknown plan {plan!r}: use one of {', '.join(PLANS)}")
    spec = PLANS[plan]
    root = find_root(root)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = spec.load()
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

    t0 = time.perf_counter()
    rows = load_manifest(cache_dir)
    egemaps = extract_egemaps(rows, out / "egemaps", workers=2, progress=progress)
    if egemaps.problems:
        failed = egemaps.problems[0]
        raise SpeechError(
            f"eGeMAPS: {len(egemaps.problems)} clip(s) failed, e.g. {failed}; fix or remove "
            "them and re-run (finished work is kept)"
        )
    seconds["egemaps"] = round(time.perf_counter() - t0, 2)
    log(f"eGeMAPS: {egemaps.n_extracted} clips extracted, {egemaps.n_cached} from the cache")

    n_folds = count_folds(config, cache_dir)
    try:
        folds = check_folds(spec.folds, n_folds)
    except ValueError as exc:
        raise SpeechError(f"plan {plan}: {exc}") from None
    network_runs = protocol_runs(spec.seeds, folds, spec.speaker_norm)
    baseline_runs = protocol_runs(spec.baseline_seeds, range(n_folds), spec.speaker_norm)
    try:
        t0 = time.perf_counter()
        features = {"egemaps": dict(zip(egemaps.clip_ids, egemaps.features, strict=True))}
        if "pooled" in spec.models:
            features["pooled"] = pooled_features(cache_dir, [row["clip_id"] for row in rows])
        linear = {
            model: [
                run_linear_baseline(
                    run.configure(config), cache_dir, out / model / run.name, features[model], model
                )
                for run in baseline_runs
            ]
            for model in spec.models
            if model in LINEAR_FEATURES
        }
        seconds["baselines"] = round(time.perf_counter() - t0, 2)
        log(f"linear baselines: {len(baseline_runs)} runs each in {seconds['baselines']:.0f} s")
        t0 = time.perf_counter()
        network = ensure_runs(
            [
                (run.configure(config), out / "network" / run.name)
                for run in (network_runs if "network" in spec.models else ())
            ],
            cache_dir,
            parallel=2,
            progress=progress,
            log=log,
        )
        seconds["network"] = round(time.perf_counter() - t0, 2)
    except (ValueError, FileNotFoundError, FileExistsError, TrainingDiverged) as exc:
        raise SpeechError(f"training: {exc}") from exc
    # The robustness sweep's sanity check on real recordings: does the network's accuracy fall
    # as test noise grows? (On the synthetic corpus a noise can pass for a class cue.)
    t0 = time.perf_counter()
    try:
        sweep = run_robustness(
            {"audio": network}, cache_dir, out / ROBUSTNESS, spec.sweep, progress=progress
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise SpeechError(f"robustness sweep: {exc}") from exc
    seconds["robustness"] = round(time.perf_counter() - t0, 2)
    log(f"robustness sweep of {len(network)} network runs in {seconds['robustness']:.0f} s")

    summary = {
        "plan": plan,
        "plan_spec": asdict(spec),
        "root": str(root),
        "cache_dir": str(cache_dir),
        "egemaps_dir": str(egemaps.cache_dir),
        "clips": result.n_usable,
        "actors": len({r.speaker for r in records}),
        "problems": len(scan.problems),
        "n_folds": n_folds,
        "network_config": config.name,
        "network_epochs": config.train.epochs,
        "runs": {
            "network": [str(p.relative_to(out)) for p in network],
            **{m: [str(p.relative_to(out)) for p in dirs] for m, dirs in linear.items()},
        },
        "robustness": str(sweep.relative_to(out)),
        "results": RESULTS,
        "seconds": seconds,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    table = results_table(out, summary)
    atomic_write_text(out / RESULTS, table.to_csv(index=False, float_format="%.6g"))
    path = out / SUMMARY
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")
    log(f"wrote {out / RESULTS} and {path}")
    return path


def load_summary(out: str | Path) -> dict | None:
    """``out/summary.json`` of a finished ``cmaf speech`` run, or ``None`` when there is none."""
    path = Path(out) / SUMMARY
    return json.loads(path.read_text()) if path.is_file() else None


#: Display names of the models and protocols in tables.
MODEL_NAMES = {
    "network": "CMAF audio branch (CNN)",
    "egemaps": "eGeMAPS + logistic regression",
    "pooled": "pooled log-Mel + logistic regression",
}
PROTOCOL_NAMES = {"random": "random 80:20 (paper)", "held-out": "held-out actors"}
#: Columns of ``results.csv`` (accuracies as fractions; ``*_std`` over runs; ``accuracy_low``
#: / ``accuracy_high``: 95 % speaker-cluster bootstrap of the pooled test predictions).
RESULT_COLUMNS = (
    "model",
    "protocol",
    "speaker_norm",
    "runs",
    "clips",
    "accuracy_mean",
    "accuracy_std",
    "accuracy_low",
    "accuracy_high",
    "macro_f1_mean",
    "macro_f1_std",
    "ua_mean",
    "ua_std",
)


def run_groups(
    out: str | Path, summary: dict | None = None
) -> dict[tuple[str, str, bool], list[Path]]:
    """Finished run directories of a ``cmaf speech`` output, by ``(model, protocol,
    speaker_norm)``, in table order."""
    out = Path(out)
    summary = summary or load_summary(out) or {"runs": {}}
    groups: dict[tuple[str, str, bool], list[Path]] = {}
    for model, names in summary["runs"].items():
        for name in names:
            run = ProtocolRun.from_name(Path(name).name)
            if run is not None and (out / name / "metrics.json").is_file():
                groups.setdefault((model, run.split, run.speaker_norm), []).append(out / name)
    return dict(sorted(groups.items(), key=lambda item: _order(item[0])))


def _order(key: tuple[str, str, bool]) -> tuple[int, int, bool]:
    model, protocol, norm = key
    models = list(MODEL_NAMES)
    return (
        models.index(model) if model in models else 99,
        list(PROTOCOL_NAMES).index(protocol),
        not norm,
    )


def _grouped(out: str | Path, summary: dict | None):
    """The finished run groups of ``out`` and each cached clip's speaker."""
    summary = summary or load_summary(out)
    groups = run_groups(out, summary)
    if not groups:
        return groups, {}
    rows = load_manifest(summary["cache_dir"])
    return groups, {row["clip_id"]: row["speaker"] for row in rows}


def _correct(run_dirs: list[Path], speakers: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    """Per test clip of every run (pooled): correct or not, and its speaker."""
    correct, clusters = [], []
    for run_dir in run_dirs:
        table = pd.read_csv(run_dir / "predictions.csv")
        correct.append((table["label_index"] == table["predicted_index"]).to_numpy())
        clusters += [speakers[c] for c in table["clip_id"]]
    return np.concatenate(correct), clusters


def results_table(out: str | Path, summary: dict | None = None, n_boot: int = 2000):
    """One row per (model, protocol, speaker_norm): the :data:`RESULT_COLUMNS`.

    Means and sample standard deviations are over runs: held-out folds, or seeds each with its
    own random split. The interval pools the runs' test predictions and resamples whole
    speakers (:func:`cmaf.evaluation.metrics.cluster_bootstrap`), so it covers the spread over
    actors, not only over clips.
    """
    groups, speakers = _grouped(out, summary)
    rows = []
    for (model, protocol, norm), dirs in groups.items():
        stats = aggregate_runs(dirs)["mean_std"]
        correct, clusters = _correct(dirs, speakers)
        boot = cluster_bootstrap([(correct, clusters)], n_boot=n_boot)[:, 0]
        row = {"model": model, "protocol": protocol, "speaker_norm": norm, "runs": len(dirs)}
        row["clips"] = len(correct)
        row["accuracy_mean"], row["accuracy_std"] = stats["accuracy"]
        row["accuracy_low"], row["accuracy_high"] = np.nanpercentile(boot, [2.5, 97.5])
        row["macro_f1_mean"], row["macro_f1_std"] = stats["macro_f1"]
        row["ua_mean"], row["ua_std"] = stats["ua"]
        rows.append(row)
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def load_results(out: str | Path):
    """``out/results.csv`` as a DataFrame (``None`` when there is none)."""
    path = Path(out) / RESULTS
    return pd.read_csv(path) if path.is_file() else None


def protocol_gaps(out: str | Path, summary: dict | None = None, n_boot: int = 2000):
    """Random-split minus held-out accuracy per (model, speaker_norm), with a 95 % interval.

    Both protocols test the same actors (the held-out folds together cover all of them), so the
    interval is a paired speaker-cluster bootstrap of the difference of the pooled accuracies.
    Columns: ``model, speaker_norm, random, held_out, gap, gap_low, gap_high`` (fractions).
    """
    groups, speakers = _grouped(out, summary)
    rows = []
    for model, protocol, norm in groups:
        if protocol != "random" or (model, "held-out", norm) not in groups:
            continue
        random = _correct(groups[(model, "random", norm)], speakers)
        held = _correct(groups[(model, "held-out", norm)], speakers)
        gap, low, high = paired_difference(random, held, n_boot)
        rows.append([model, norm, float(random[0].mean()), float(held[0].mean()), gap, low, high])
    return pd.DataFrame(
        rows, columns=["model", "speaker_norm", "random", "held_out", "gap", "gap_low", "gap_high"]
    )


def model_differences(
    out: str | Path,
    protocol: str = "held-out",
    speaker_norm: bool = True,
    reference: str = "network",
    summary: dict | None = None,
    n_boot: int = 2000,
):
    """``reference``'s accuracy minus every other model's, on the same test clips, with a
    paired speaker-cluster bootstrap interval. Columns: ``model, other, difference, low, high``
    (fractions)."""
    groups, speakers = _grouped(out, summary)
    rows = []
    if (reference, protocol, speaker_norm) in groups:
        ours = _correct(groups[(reference, protocol, speaker_norm)], speakers)
        for key in groups:
            if key[0] != reference and key[1:] == (protocol, speaker_norm):
                theirs = _correct(groups[key], speakers)
                rows.append([reference, key[0], *paired_difference(ours, theirs, n_boot)])
    return pd.DataFrame(rows, columns=["model", "other", "difference", "low", "high"])


def standing(accuracy: float, low: float, high: float, anchors) -> list[str]:
    """Where an accuracy with its 95 % interval (fractions) stands against published values.

    One phrase per anchor (:class:`cmaf.anchors.Anchor`, values in percent): "above" when the
    interval lies above the published value, "below" when under it, "within the interval"
    otherwise.
    """
    phrases = []
    for anchor in anchors:
        value = anchor.value / 100
        where = "above" if low > value else "below" if high < value else "within the interval of"
        authors = anchor.citation.split(")")[0] + ")"
        phrases.append(f"{where} {authors} ({anchor.value_text()} % {anchor.metric})")
    return phrases


def display_results(results):
    """``results.csv`` for reading: display names, percentages, mean ± std and the interval."""

    def mean_std(mean: float, std: float) -> str:
        return f"{100 * mean:.1f} ± {100 * std:.1f}"

    rows = [
        {
            "model": MODEL_NAMES.get(row.model, row.model),
            "protocol": PROTOCOL_NAMES.get(row.protocol, row.protocol),
            "per-speaker norm.": "yes" if row.speaker_norm else "no",
            "runs": row.runs,
            "accuracy (%)": mean_std(row.accuracy_mean, row.accuracy_std),
            "95 % interval": f"{100 * row.accuracy_low:.1f} to {100 * row.accuracy_high:.1f}",
            "macro-F1 (%)": mean_std(row.macro_f1_mean, row.macro_f1_std),
            "UA (%)": mean_std(row.ua_mean, row.ua_std),
        }
        for row in results.itertuples()
    ]
    return pd.DataFrame(rows)


def per_class_f1(out: str | Path, model: str, summary: dict | None = None, speaker_norm=True):
    """Per-class F1 (%) of ``model`` under each protocol: mean and std over its runs."""
    columns = {}
    for (name, protocol, norm), dirs in run_groups(out, summary).items():
        if name != model or norm != speaker_norm:
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
        "fit logistic regression on eGeMAPS and on pooled log-Mel statistics, under the paper's "
        "random 80:20 split and under held-out-actor folds, with and without per-speaker "
        "normalisation; write OUT/results.csv and OUT/summary.json (read by the book's "
        "real-data chapter). Finished runs with the same config are reused.",
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
        output_dir(args.out, "--out")
        path = run_speech(args.root, args.out, args.plan, progress=not args.quiet)
    except (UsageError, SpeechError) as exc:
        print(f"cmaf speech: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0
