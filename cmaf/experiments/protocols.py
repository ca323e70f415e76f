"""One configuration under both evaluation protocols: the paper's random 80:20 split (Table A1)
and held-out actors.

On RAVDESS the random split puts every test actor, and the other repetition of nearly every
test take, into training as well; training the same configuration under both protocols, with
identical settings, measures the gap instead of arguing it. Networks train through
:func:`ensure_run`; the linear baselines (:func:`run_linear_baseline`) are fitted on exactly the
split the network gets. Every held-out split is checked for speaker overlap before anything is
fitted (:func:`cmaf.data.splits.assert_no_speaker_overlap`).
"""

from __future__ import annotations

import json
import multiprocessing
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cmaf.data.dataset import CachedClips, load_manifest, resolve_cache_dir
from cmaf.data.speaker_norm import fit_speaker_stats, standardize_by_speaker
from cmaf.data.splits import Split, assert_no_speaker_overlap, held_out_folds
from cmaf.models.pooled import PooledLinear, mel_statistics, select_c
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.config import ExperimentConfig, flatten
from cmaf.training.loop import (
    class_names,
    data_hash,
    environment_manifest,
    make_split,
    records_from_manifest,
    train,
    write_test_outputs,
)

#: What each linear baseline's features are (recorded in its ``run.json``).
LINEAR_FEATURES = {
    "pooled": "per-band mean and std of the log-Mel",
    "egemaps": "eGeMAPS v02 functionals (88, openSMILE)",
}
#: Suffix of the name of a run with per-speaker normalisation.
SPEAKER_NORM_SUFFIX = "-speaker-norm"


@dataclass(frozen=True)
class ProtocolRun:
    """One run of a plan: which split, which fold, which seed, which normalisation."""

    split: str  # "random" or "held-out"
    fold: int
    seed: int
    speaker_norm: bool = False

    @property
    def name(self) -> str:
        base = (
            f"random-seed{self.seed}"
            if self.split == "random"
            else f"held-out-fold{self.fold}-seed{self.seed}"
        )
        return base + (SPEAKER_NORM_SUFFIX if self.speaker_norm else "")

    @classmethod
    def from_name(cls, name: str) -> ProtocolRun | None:
        """The run a :attr:`name` stands for (``None`` for any other folder name)."""
        match = re.fullmatch(
            r"(?:random-seed(\d+)|held-out-fold(\d+)-seed(\d+))(" + SPEAKER_NORM_SUFFIX + ")?",
            name,
        )
        if match is None:
            return None
        norm = match.group(4) is not None
        if match.group(1) is not None:
            return cls("random", 0, int(match.group(1)), norm)
        return cls("held-out", int(match.group(2)), int(match.group(3)), norm)

    def configure(self, config: ExperimentConfig) -> ExperimentConfig:
        """A copy of ``config`` set to this run's split, fold, seed and normalisation."""
        out = ExperimentConfig.from_dict(config.to_dict())
        out.data.split = self.split
        out.data.fold = self.fold
        out.data.speaker_norm = self.speaker_norm
        out.train.seed = self.seed
        # Each seed draws its own random split, so the random protocol's spread, like the
        # held-out folds', includes the choice of test clips.
        out.data.split_seed = self.seed
        return out


def protocol_runs(
    seeds: Sequence[int], folds: Sequence[int], speaker_norm: Sequence[bool] = (False,)
) -> list[ProtocolRun]:
    """Random-split runs for each seed, then held-out runs for each (seed, fold); each for
    every value of ``speaker_norm``."""
    runs = [ProtocolRun("random", 0, int(seed), norm) for norm in speaker_norm for seed in seeds]
    runs += [
        ProtocolRun("held-out", int(fold), int(seed), norm)
        for norm in speaker_norm
        for seed in seeds
        for fold in folds
    ]
    return runs


def count_folds(config: ExperimentConfig, cache_dir: str | Path) -> int:
    """How many held-out folds ``config.data`` gives on the cached clips."""
    records = records_from_manifest(load_manifest(resolve_cache_dir(cache_dir)))
    return len(held_out_folds(records, fold_size=config.data.groups_per_fold))


def check_folds(folds: Sequence[int] | None, n_folds: int) -> Sequence[int]:
    """The folds a plan asks for (``None``: all ``n_folds``); ``ValueError`` names any the data
    do not give."""
    if folds is None:
        return range(n_folds)
    outside = sorted({int(f) for f in folds if not 0 <= int(f) < n_folds})
    if outside:
        raise ValueError(
            f"fold(s) {', '.join(map(str, outside))} asked for, but the data give {n_folds} "
            f"held-out folds (0..{n_folds - 1}); choose folds in that range"
        )
    return folds


def _checked_split(config: ExperimentConfig, rows: list[dict[str, str]]) -> Split:
    """``config``'s split of the manifest ``rows``; a held-out one must share no speaker."""
    records = records_from_manifest(rows)
    split = make_split(config, records)
    if config.data.split == "held-out":
        assert_no_speaker_overlap(split, records)
    return split


def config_difference(run_dir: Path, config: ExperimentConfig) -> list[str] | None:
    """The dotted config fields in which ``run_dir``'s ``config.json`` differs from ``config``
    (``[]``: none; ``None``: no readable config).

    The saved config is read through :meth:`ExperimentConfig.from_dict`, so a key added after
    the run was trained takes its default, which is the behaviour from before it existed.
    """
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

    A finished run (``metrics.json``) is reused when its ``config.json`` equals ``config``; one
    trained with another config raises ``ValueError`` naming the fields that differ (it is
    neither reported as this config's nor overwritten). Anything else goes to
    ``train(resume=True)``: resumed from its last checkpoint, or started afresh.
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
    log(f"{run_dir.name}" + (" (resuming)" if resume else ""))
    if config.data.split == "held-out":
        _checked_split(config, load_manifest(resolve_cache_dir(cache_dir)))
    return train(config, cache_dir, run_dir, resume=True, progress=progress)


def _ensure_in_worker(config_json: str, cache_dir: str, run_dir: str, threads: int) -> Path:
    torch.set_num_threads(threads)
    config = ExperimentConfig.from_dict(json.loads(config_json))
    return ensure_run(config, cache_dir, Path(run_dir), progress=False, log=lambda message: None)


def ensure_runs(
    jobs: Sequence[tuple[ExperimentConfig, Path]],
    cache_dir: str | Path,
    *,
    parallel: int = 1,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """:func:`ensure_run` of each ``(config, run_dir)``, ``parallel`` at a time on the CPU.

    Small networks use two CPU threads poorly: two runs of one thread each train more clips
    per second between them than one run of two. So with ``parallel > 1`` and no CUDA
    device, runs that must train go to ``parallel`` worker processes sharing the cores (each
    run's numbers can then differ from a one-process run's by float rounding). Finished runs
    are reused as by :func:`ensure_run`; the order of ``jobs`` is kept.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    pending = [i for i, (_, run_dir) in enumerate(jobs) if not (run_dir / "metrics.json").is_file()]
    if parallel <= 1 or len(pending) < 2 or torch.cuda.is_available():
        return [ensure_run(c, cache_dir, d, progress=progress, log=log) for c, d in jobs]
    threads = max(1, torch.get_num_threads() // parallel)
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
        futures = {}
        for i in pending:
            config, run_dir = jobs[i]
            log(f"{run_dir.name} ({parallel} runs at a time)")
            futures[i] = pool.submit(
                _ensure_in_worker, config.to_json(), str(cache_dir), str(run_dir), threads
            )
        for future in futures.values():
            future.result()  # the first failure raises here, with its own message
    return [ensure_run(c, cache_dir, d, progress=False, log=log) for c, d in jobs]


def pooled_features(cache_dir: Path, clip_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """:func:`~cmaf.models.pooled.mel_statistics` of every clip, by clip id."""
    clips = CachedClips(cache_dir, list(clip_ids), train=False)
    return {
        item["clip_id"]: mel_statistics(item["mel"].numpy())
        for item in (clips[i] for i in range(len(clips)))
    }


def run_linear_baseline(
    config: ExperimentConfig,
    cache_dir: str | Path,
    run_dir: Path,
    features: dict[str, np.ndarray],
    model: str = "pooled",
) -> Path:
    """Fit a linear baseline on ``config``'s split and write a run directory (reused when
    finished).

    The split is the one :func:`cmaf.training.loop.train` would use; the regularisation is
    chosen on the validation clips, the model fitted on the training clips only, and the test
    clips predicted once. With ``config.data.speaker_norm`` every feature is first standardised
    per speaker over all of that speaker's clips (no labels). Writes the files of a network
    run; ``run.json`` records ``model``, the validation score of each ``C`` and the wall time.

    Parameters
    ----------
    features
        Clip id -> feature vector for every clip of the cache (:func:`pooled_features`, or
        :func:`cmaf.data.egemaps.egemaps_features`).
    model
        Which baseline (a key of :data:`LINEAR_FEATURES`).
    """
    started = time.time()
    if (run_dir / "metrics.json").is_file():
        return run_dir
    config.validate()
    cache_dir = resolve_cache_dir(cache_dir)
    rows = load_manifest(cache_dir)
    classes = class_names(cache_dir, rows)
    split = _checked_split(config, rows)
    missing = [row["clip_id"] for row in rows if row["clip_id"] not in features]
    if missing:
        raise ValueError(f"{model} features: {len(missing)} clips have none, e.g. {missing[0]}")
    label_of = {row["clip_id"]: int(row["label_index"]) for row in rows}
    if config.data.speaker_norm:
        ids = [row["clip_id"] for row in rows]
        speakers = [row["speaker"] for row in rows]
        values = np.stack([features[i] for i in ids])
        scaled = standardize_by_speaker(values, speakers, fit_speaker_stats(values, speakers))
        features = dict(zip(ids, scaled, strict=True))

    def part(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack([features[i] for i in ids]) if ids else np.zeros((0, 1))
        return x, np.array([label_of[i] for i in ids], dtype=np.int64)

    train_part, val_part, test_part = map(part, (split.train_ids, split.val_ids, split.test_ids))
    seed = config.train.seed
    if len(split.val_ids):
        c, scores = select_c(train_part, val_part, len(classes), seed=seed)
    else:
        c, scores = PooledLinear(len(classes)).c, {}
    fitted = PooledLinear(len(classes), c=c, seed=seed).fit(*train_part)
    probs = fitted.predict_proba(test_part[0])

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
        model=model,
        features=LINEAR_FEATURES.get(model, model),
        speaker_norm=config.data.speaker_norm,
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
