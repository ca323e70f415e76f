"""One model, two evaluation protocols: the paper's random 80:20 split and held-out actors.

The paper evaluates on a random stratified 80:20 split of clips (Table A1). On RAVDESS that
puts every test actor, and the other repetition of nearly every test take, into training as
well; speaker-independent evaluation holds whole actors out. This module trains the same
configuration under both, with identical settings, so the gap between them is measured
rather than argued:

* :func:`protocol_runs` lists the runs (random split per seed; held-out fold per seed);
* :func:`ensure_run` trains one network run, reusing a finished run and resuming a stopped one;
* :func:`run_pooled_baseline` fits the pooled log-Mel baseline (:mod:`cmaf.models.pooled`) on
  exactly the split the network would get and writes the same run-directory files;
* :func:`run_protocols` does all of it under one root: ``ROOT/<model>/<run name>/``.

Every held-out split is checked for speaker overlap before anything is fitted
(:func:`cmaf.data.splits.assert_no_speaker_overlap`).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cmaf.data.dataset import CachedClips, load_manifest, resolve_cache_dir
from cmaf.data.splits import Split, assert_no_speaker_overlap, held_out_folds
from cmaf.models.pooled import PooledLinear, mel_statistics, select_c
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.config import ExperimentConfig
from cmaf.training.loop import (
    class_names,
    data_hash,
    environment_manifest,
    make_split,
    records_from_manifest,
    train,
    write_test_outputs,
)

#: Models :func:`run_protocols` knows: the configured network, and the pooled baseline.
PROTOCOL_MODELS = ("network", "pooled")


@dataclass(frozen=True)
class ProtocolRun:
    """One run of a protocol plan: which split, which fold, which seed."""

    split: str  # "random" or "held-out"
    fold: int
    seed: int

    @property
    def name(self) -> str:
        if self.split == "random":
            return f"random-seed{self.seed}"
        return f"held-out-fold{self.fold}-seed{self.seed}"

    @classmethod
    def from_name(cls, name: str) -> ProtocolRun | None:
        """The run a :attr:`name` stands for (``None`` for any other folder name)."""
        match = re.fullmatch(r"random-seed(\d+)|held-out-fold(\d+)-seed(\d+)", name)
        if match is None:
            return None
        if match.group(1) is not None:
            return cls("random", 0, int(match.group(1)))
        return cls("held-out", int(match.group(2)), int(match.group(3)))

    def configure(self, config: ExperimentConfig) -> ExperimentConfig:
        """A copy of ``config`` set to this run's split, fold and seed."""
        out = ExperimentConfig.from_dict(config.to_dict())
        out.data.split = self.split
        out.data.fold = self.fold
        out.train.seed = self.seed
        # Each seed draws its own random split, so the random protocol's spread, like the
        # held-out folds', includes the choice of test clips.
        out.data.split_seed = self.seed
        return out


def protocol_runs(seeds: Sequence[int], folds: Sequence[int]) -> list[ProtocolRun]:
    """Random-split runs for each seed, then held-out runs for each (seed, fold)."""
    runs = [ProtocolRun("random", 0, int(seed)) for seed in seeds]
    runs += [ProtocolRun("held-out", int(fold), int(seed)) for seed in seeds for fold in folds]
    return runs


def count_folds(config: ExperimentConfig, cache_dir: str | Path) -> int:
    """How many held-out folds ``config.data`` gives on the cached clips."""
    records = records_from_manifest(load_manifest(resolve_cache_dir(cache_dir)))
    return len(held_out_folds(records, fold_size=config.data.groups_per_fold))


def _checked_split(config: ExperimentConfig, rows: list[dict[str, str]]) -> Split:
    """``config``'s split of the manifest ``rows``; a held-out one must share no speaker."""
    records = records_from_manifest(rows)
    split = make_split(config, records)
    if config.data.split == "held-out":
        assert_no_speaker_overlap(split, records)
    return split


def config_difference(run_dir: Path, config: ExperimentConfig) -> list[str] | None:
    """The config fields (dotted) in which ``run_dir``'s ``config.json`` differs from ``config``;
    ``[]`` when it was trained with ``config``, ``None`` when it has no readable config.

    The saved config is read through :meth:`ExperimentConfig.from_dict`, so a key added to the
    config after the run was trained takes its default, which is the behaviour from before it
    existed (a new option defaults to the old behaviour).
    """
    from cmaf.training.config import flatten

    try:
        saved = ExperimentConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    except (OSError, ValueError):
        return None
    old = flatten(json.loads(saved.to_json()))
    new = flatten(json.loads(config.to_json()))
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def _same_config(run_dir: Path, config: ExperimentConfig) -> bool:
    return config_difference(run_dir, config) == []


def ensure_run(
    config: ExperimentConfig,
    cache_dir: str | Path,
    run_dir: Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Train ``config`` into ``run_dir`` unless it already finished there.

    A run with ``metrics.json`` is reused when its ``config.json`` equals ``config``; one trained
    with another config raises ``ValueError`` naming the fields that differ (it is neither
    reported as this config's nor overwritten); one with ``checkpoints/last.pt`` is resumed; a
    folder stopped before its first checkpoint is removed and trained afresh.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    if (run_dir / "metrics.json").is_file():
        differ = config_difference(run_dir, config)
        if differ:
            shown = ", ".join(differ[:4]) + (
                f" and {len(differ) - 4} more" if len(differ) > 4 else ""
            )
            raise ValueError(
                f"{run_dir}: finished with another config ({shown} differ); move it away or "
                "delete it to train this config there"
            )
        if differ is None:
            raise ValueError(
                f"{run_dir}: has metrics.json but no readable config.json; move it away or "
                "delete it to retrain"
            )
        log(f"{run_dir.name}: finished earlier, reused")
        return run_dir
    resume = (run_dir / "checkpoints" / "last.pt").is_file()
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)  # stopped before its first checkpoint: nothing worth keeping
    log(f"{run_dir.name}" + (" (resuming)" if resume else ""))
    if config.data.split == "held-out":
        _checked_split(config, load_manifest(resolve_cache_dir(cache_dir)))
    return train(config, cache_dir, run_dir, resume=resume, progress=progress)


def _features(cache_dir: Path, clip_ids: Sequence[str]) -> dict[str, np.ndarray]:
    clips = CachedClips(cache_dir, list(clip_ids), train=False)
    return {
        item["clip_id"]: mel_statistics(item["mel"].numpy())
        for item in (clips[i] for i in range(len(clips)))
    }


def run_pooled_baseline(
    config: ExperimentConfig,
    cache_dir: str | Path,
    run_dir: Path,
    features: dict[str, np.ndarray] | None = None,
) -> Path:
    """Fit the pooled log-Mel baseline on ``config``'s split and write a run directory.

    The split (train / validation / test) is the one :func:`cmaf.training.loop.train` would use
    for ``config``; the regularisation is chosen on the validation clips, the model is fitted
    on the training clips only, and the test clips are predicted once. Writes ``config.json``,
    ``split.json``, ``metrics.json``, ``predictions.csv``, ``confusion.csv`` and ``run.json``
    (with ``model: pooled``, the validation score of each ``C`` and the wall time). A finished
    run directory is reused.

    Parameters
    ----------
    features
        Precomputed :func:`~cmaf.models.pooled.mel_statistics` per clip id (computed from the
        cache when ``None``; pass them to share the work across runs).
    """
    started = time.time()
    if (run_dir / "metrics.json").is_file():
        return run_dir
    config.validate()
    cache_dir = resolve_cache_dir(cache_dir)
    rows = load_manifest(cache_dir)
    classes = class_names(cache_dir, rows)
    split = _checked_split(config, rows)
    if features is None:
        features = _features(cache_dir, [row["clip_id"] for row in rows])
    label_of = {row["clip_id"]: int(row["label_index"]) for row in rows}

    def part(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack([features[i] for i in ids]) if ids else np.zeros((0, 1))
        return x, np.array([label_of[i] for i in ids], dtype=np.int64)

    train_part, val_part, test_part = (
        part(split.train_ids),
        part(split.val_ids),
        part(split.test_ids),
    )
    seed = config.train.seed
    if len(split.val_ids):
        c, scores = select_c(train_part, val_part, len(classes), seed=seed)
    else:
        c, scores = PooledLinear(len(classes)).c, {}
    model = PooledLinear(len(classes), c=c, seed=seed).fit(*train_part)
    probs = model.predict_proba(test_part[0])

    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.json", config.to_json())
    atomic_write_text(run_dir / "split.json", split.to_json())
    write_test_outputs(
        run_dir,
        list(split.test_ids),
        test_part[1],
        probs,
        classes,
        checkpoint=f"C = {c:g}, chosen by validation macro-F1 (the test split never selects)",
        selected_epoch=0,
        test_loss=float(-np.mean(np.log(probs[np.arange(len(probs)), test_part[1]] + 1e-12))),
        bootstrap=config.train.bootstrap,
        seed=seed,
    )
    manifest = environment_manifest(torch.device("cpu"))
    manifest.update(
        model="pooled",
        features=f"per-band mean and std of the log-Mel ({2 * config.preprocess.n_mels} values)",
        c=c,
        val_macro_f1_by_c={str(k): v for k, v in scores.items()},
        cache_dir=str(cache_dir),
        data_manifest_sha256=data_hash(cache_dir),
        wall_seconds=round(time.time() - started, 2),
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        command=" ".join(sys.argv),
    )
    atomic_write_text(run_dir / "run.json", json.dumps(manifest, indent=2) + "\n")
    return run_dir


def run_protocols(
    config: ExperimentConfig,
    cache_dir: str | Path,
    root: Path,
    runs: Sequence[ProtocolRun],
    *,
    models: Sequence[str] = PROTOCOL_MODELS,
    baseline_runs: Sequence[ProtocolRun] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, list[Path]]:
    """Train/fit every model of ``models`` for every run into ``root/<model>/<run name>``.

    Parameters
    ----------
    runs
        The network's runs (see :func:`protocol_runs`).
    baseline_runs
        The pooled baseline's runs, when they should differ (it is cheap enough for every fold
        and seed); ``runs`` when ``None``.

    Returns
    -------
    dict
        Model name -> run directories, in run order.
    """
    unknown = sorted(set(models) - set(PROTOCOL_MODELS))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; use {', '.join(PROTOCOL_MODELS)}")
    cache_dir = resolve_cache_dir(cache_dir)
    out: dict[str, list[Path]] = {}
    if "pooled" in models:
        rows = load_manifest(cache_dir)
        features = _features(cache_dir, [row["clip_id"] for row in rows])
        out["pooled"] = [
            run_pooled_baseline(
                run.configure(config), cache_dir, root / "pooled" / run.name, features
            )
            for run in (runs if baseline_runs is None else baseline_runs)
        ]
    if "network" in models:
        out["network"] = [
            ensure_run(
                run.configure(config),
                cache_dir,
                root / "network" / run.name,
                progress=progress,
                log=log,
            )
            for run in runs
        ]
    return out
