"""Training and evaluation of CMAF on a prepared cache, writing a self-describing run directory.

Run directory (read by the notebooks and :mod:`cmaf.layout`)::

    config.json                 the resolved ExperimentConfig
    split.json                  train / validation / test clip ids and the protocol
    history.csv                 one row per epoch (loss, accuracy, validation macro-F1, time)
    checkpoints/last.pt         model + optimiser + epoch, every epoch (atomic; --resume)
    checkpoints/best.pt         the epoch with the best validation macro-F1 (the one reported;
                                with train.precise_bn, BatchNorm statistics of clean training clips)
    metrics.json                test metrics of best.pt, bootstrap 95 % intervals, which epoch
    predictions.csv             per test clip: true and predicted class, class probabilities
    confusion.csv               test confusion matrix (counts; rows true, columns predicted)
    attention_init.npz          cross-attention maps of test clips before training (Fig. 8)
    attention_final.npz         the same clips after training
    run.json                    package versions, git commit, device, data hash, wall time

Every epoch reseeds the random generators from ``(seed, epoch)``, so a run killed after epoch
``k`` and resumed with ``resume=True`` ends with the same weights and metrics as an
uninterrupted run.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import dataclasses
import hashlib
import io
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
import torchvision
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

import cmaf
from cmaf.arguments import UsageError, existing, output_dir
from cmaf.data.augment import AugmentConfig
from cmaf.data.cache import CLASSES, CONFIG, MANIFEST, is_temporary, remove_stale_temporaries
from cmaf.data.dataset import CachedClips, load_manifest, mel_speaker_stats, resolve_cache_dir
from cmaf.data.records import ClipRecord
from cmaf.data.registry import classes_for
from cmaf.data.splits import Split, held_out_folds, random_split, with_validation
from cmaf.evaluation.metrics import bootstrap_ci, classification_report
from cmaf.models.baselines import build_model
from cmaf.models.model import CMAF
from cmaf.training.checkpoint import (
    atomic_torch_save,
    atomic_write,
    atomic_write_text,
    load_checkpoint,
)
from cmaf.training.config import ExperimentConfig

HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_macro_f1",
    "lr",
    "seconds",
)

#: What ``train`` writes into a run directory before its first checkpoint. A folder holding
#: nothing else is a run stopped before it saved anything worth resuming.
EARLY_FILES = ("config.json", "split.json", "attention_init.npz")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


# --------------------------------------------------------------------------- set-up helpers


def select_device(requested: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple MPS, then CPU. An explicit device that is absent is an error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"train.device={requested!r} but no CUDA device is visible; use 'auto'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"train.device={requested!r} but MPS is not available; use 'auto'")
    return device


def keep_freed_memory() -> bool:
    """Let glibc keep freed memory for reuse instead of handing it back to the system.

    CPU tensors come from ``malloc``. By default glibc maps large blocks afresh and trims the
    heap after frees, so each training step faults its activations in page by page again,
    which on CPU costs about as much as the elementwise layers' arithmetic. Blocks up to
    32 MiB are then served from the heap, and up to 1 GiB of it stays mapped when freed.
    Returns whether the setting took (``False`` off glibc, where nothing changes).
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # malloc.h's parameter numbers: M_MMAP_THRESHOLD -3, M_TRIM_THRESHOLD -1, M_TOP_PAD -2.
    settings = ((-3, 32 << 20), (-1, 1 << 30), (-2, 64 << 20))
    return all(mallopt(param, value) == 1 for param, value in settings)


def seed_everything(seed: int, epoch: int = 0) -> None:
    """Seed Python, NumPy and torch from ``(seed, epoch)`` (each epoch stands on its own)."""
    value = (seed * 1_000_003 + epoch) % (2**31)
    random.seed(value)
    np.random.seed(value)  # noqa: NPY002 - third-party code may draw from the global RNG
    torch.manual_seed(value)


def records_from_manifest(rows: list[dict[str, str]]) -> list[ClipRecord]:
    """Rebuild :class:`ClipRecord` s from cache manifest rows (for splits and leakage checks)."""
    base = {"clip_id", "dataset", "label", "label_index", "speaker", "group", "start", "end"}
    base |= {"audio_path", "video_path", "item", "sha256", "bytes"}
    return [
        ClipRecord(
            dataset=row["dataset"],
            clip_id=row["clip_id"],
            label=row["label"],
            speaker=row["speaker"],
            group=row["group"],
            audio_path=Path(row["audio_path"]) if row.get("audio_path") else None,
            video_path=Path(row["video_path"]) if row.get("video_path") else None,
            meta={k: v for k, v in row.items() if k not in base and v not in ("", None)},
        )
        for row in rows
    ]


def class_names(cache_dir: Path, rows: list[dict[str, str]]) -> list[str]:
    """Class names in label-index order: the cache's ``classes.json`` or the registry's list."""
    listed = cache_dir / CLASSES
    if listed.is_file():
        return list(json.loads(listed.read_text()))
    names = list(classes_for(rows[0]["dataset"]))
    for row in rows:  # the registry order must agree with the cache's label indices
        index = int(row["label_index"])
        if index >= len(names) or names[index] != row["label"]:
            found = {int(r["label_index"]): r["label"] for r in rows}
            return [found.get(i, f"class{i}") for i in range(max(found) + 1)]
    return names


def make_split(config: ExperimentConfig, records: list[ClipRecord]) -> Split:
    """The evaluation split of ``config.data`` with a validation part carved from train."""
    data = config.data
    if data.split == "random":
        split = random_split(records, test_fraction=data.test_fraction, seed=data.split_seed)
    else:
        folds = held_out_folds(records, fold_size=data.groups_per_fold)
        if data.fold >= len(folds):
            raise ValueError(
                f"config: data.fold={data.fold} but there are {len(folds)} held-out folds"
            )
        split = folds[data.fold]
    if config.train.val_fraction > 0:
        split = with_validation(
            split, records, fraction=config.train.val_fraction, seed=config.train.seed
        )
    return split


def data_hash(cache_dir: Path) -> str:
    """SHA-256 of the cache manifest: names the exact data a run used."""
    return hashlib.sha256((cache_dir / MANIFEST).read_bytes()).hexdigest()


def git_commit() -> str:
    """The code's git commit, ``-dirty`` when tracked files changed; ``unknown`` without git."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        command = ["git", "-C", str(root), *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_manifest(device: torch.device) -> dict[str, Any]:
    """Versions, commit and device: what a reader needs to know a run came from this code."""
    return {
        "cmaf": cmaf.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "torchaudio": torchaudio.__version__,
        "numpy": np.__version__,
        "av": av.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
    }


# --------------------------------------------------------------------------- datasets


class FeatureClips(Dataset):
    """Cached clips whose frames are replaced by precomputed backbone features (frozen mode)."""

    def __init__(self, clips: CachedClips, features: dict[str, torch.Tensor]) -> None:
        self.clips = clips
        self.features = features

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, object]:
        item = dict(self.clips[index])
        item.pop("frames", None)
        item["frame_features"] = self.features[item["clip_id"]]
        return item


#: Frame features computed in this process, by (cache, backbone weights): a frozen backbone's
#: features are the same for every model and seed that shares it (see
#: ``VisualEncoderConfig.backbone_seed``), so a build computes them once. Two entries at most.
_FEATURE_MEMO: dict[tuple[str, str], dict[str, torch.Tensor]] = {}


def _backbone_key(cache_dir: Path, backbone: torch.nn.Module) -> tuple[str, str]:
    digest = hashlib.sha256()
    for name, tensor in backbone.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return str(Path(cache_dir).resolve()), digest.hexdigest()


@torch.no_grad()
def compute_frame_features(
    model: CMAF, cache_dir: Path, device: torch.device, batch_size: int = 16, progress: bool = True
) -> dict[str, torch.Tensor]:
    """Run the (frozen) ResNet-18 once over every cached clip: ``clip_id -> (T, 512)``.

    Reuses the features of an earlier call in this process with the same cache and the same
    backbone weights (the video-only model and CMAF share them).
    """
    key = _backbone_key(cache_dir, model.visual_encoder.backbone)
    if key in _FEATURE_MEMO:
        return _FEATURE_MEMO[key]
    loader = DataLoader(CachedClips(cache_dir), batch_size=batch_size, shuffle=False)
    backbone = model.visual_encoder
    was_training = backbone.training
    backbone.eval()
    out: dict[str, torch.Tensor] = {}
    for batch in tqdm(loader, desc="frame features", disable=not progress, leave=False):
        feats = backbone.frame_features(batch["frames"].to(device)).float().cpu()
        for clip_id, value in zip(batch["clip_id"], feats, strict=True):
            out[clip_id] = value.clone()
    backbone.train(was_training)
    while len(_FEATURE_MEMO) >= 2:
        _FEATURE_MEMO.pop(next(iter(_FEATURE_MEMO)))
    _FEATURE_MEMO[key] = out
    return out


# --------------------------------------------------------------------------- loops


def forward_batch(model: torch.nn.Module, batch: dict, device: torch.device, **kwargs):
    """``model`` on a batch dict: ``mel``, and ``frames`` or cached ``frame_features``."""
    mel = batch["mel"].to(device, non_blocking=True) if "mel" in batch else None
    if "frame_features" in batch:
        return model(mel, frame_features=batch["frame_features"].to(device), **kwargs)
    frames = batch["frames"].to(device, non_blocking=True) if "frames" in batch else None
    return model(mel, frames, **kwargs)


def bf16_autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA when ``enabled`` (``train.bf16``); a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def training_augmentation(config: ExperimentConfig) -> AugmentConfig:
    """The Table A1 augmentations of the training split, with the config's noise SNR range,
    plus ``train.spec_masks`` SpecAugment masks."""
    if not config.train.augment:
        return dataclasses.replace(AugmentConfig.none(), spec_masks=config.train.spec_masks)
    return AugmentConfig(snr_db=config.train.augment_snr_db, spec_masks=config.train.spec_masks)


def training_loss(output, target: torch.Tensor, aux_weight: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the fused logits, plus ``aux_weight`` × the mean cross-entropy of the
    auxiliary unimodal heads when the model returned them (``CMAFConfig.unimodal_aux_weight``).
    """
    loss = F.cross_entropy(output.logits.float(), target)
    if output.aux_logits and aux_weight > 0:
        aux = [F.cross_entropy(v.float(), target) for v in output.aux_logits.values()]
        loss = loss + aux_weight * torch.stack(aux).mean()
    return loss


@dataclass
class Predictions:
    clip_ids: list[str]
    labels: np.ndarray
    logits: np.ndarray
    loss: float

    @property
    def predicted(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


@torch.no_grad()
def predict(
    model: torch.nn.Module, loader: DataLoader, device: torch.device, bf16: bool = False
) -> Predictions:
    """Logits of every clip in ``loader`` (model in eval mode; order kept)."""
    model.eval()
    ids, labels, logits, total = [], [], [], 0.0
    for batch in loader:
        with bf16_autocast(device, bf16):
            out = forward_batch(model, batch, device)
        batch_logits = out.logits.float()
        target = batch["label"].to(device)
        total += float(F.cross_entropy(batch_logits, target, reduction="sum"))
        ids += list(batch["clip_id"])
        labels.append(batch["label"].numpy())
        logits.append(batch_logits.cpu().numpy())
    return Predictions(
        clip_ids=ids,
        labels=np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64),
        logits=np.concatenate(logits) if logits else np.zeros((0, 0)),
        loss=total / max(len(ids), 1),
    )


@torch.no_grad()
def attention_maps(
    model: torch.nn.Module, dataset: Dataset, count: int, device: torch.device
) -> dict[str, np.ndarray]:
    """Per-head cross-attention of the first ``count`` clips of ``dataset`` (both directions)."""
    model.eval()
    count = min(count, len(dataset))
    batch = torch.utils.data.default_collate([dataset[i] for i in range(count)])
    out = forward_batch(model, batch, device, return_attention=True)
    if not out.attention:  # a baseline without cross-attention
        return {}
    return {
        "clip_ids": np.array(batch["clip_id"]),
        "labels": batch["label"].numpy(),
        "audio_to_visual": out.attention["audio_to_visual"].float().cpu().numpy(),
        "visual_to_audio": out.attention["visual_to_audio"].float().cpu().numpy(),
    }


def _save_attention(path: Path, model, dataset: Dataset, count: int, device) -> None:
    """Write :func:`attention_maps` to ``path``; nothing for no clips or a model without any."""
    arrays = attention_maps(model, dataset, count, device) if len(dataset) else {}
    if arrays:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write(path, buffer.getvalue())


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(_fmt(row[c]) for c in HISTORY_COLUMNS) for row in history]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value) if isinstance(value, int) else f"{value:.6g}"


# --------------------------------------------------------------------------- distributed


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()


def init_distributed(device_request: str) -> Dist:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1): NCCL on CUDA,
    gloo otherwise (tested with gloo, two CPU processes)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_request in ("auto", "cuda")
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    return Dist(rank=rank, world_size=world, local_rank=local_rank)


# --------------------------------------------------------------------------- training


def _unstarted(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds only what a run writes before its first checkpoint."""
    for path in run_dir.iterdir():
        if path.name == "checkpoints" and path.is_dir():
            if any(not is_temporary(p.name) for p in path.iterdir()):
                return False
        elif path.name not in EARLY_FILES and not is_temporary(path.name):
            return False
    return True


def new_run_dir(out: str | Path | None, name: str, resume: bool) -> tuple[Path, bool]:
    """The run directory, and whether ``checkpoints/last.pt`` is there to resume from.

    Another run's directory is refused unless resuming. With ``resume``, a directory without
    ``last.pt`` that holds only what a run writes before its first checkpoint (or does not
    exist) starts afresh: a run killed that early lost nothing.
    """
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{name}-{stamp}"
        suffix = 1
        while out.exists():
            out = Path("runs") / f"{name}-{stamp}-{suffix}"
            suffix += 1
    out = Path(out)
    if existing(out, "--out") and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; choose a folder")
    if resume:
        if (out / "checkpoints" / "last.pt").is_file():
            return out, True
        if out.exists() and not _unstarted(out):
            raise FileNotFoundError(
                f"{out}: nothing to resume (no checkpoints/last.pt) and it holds files that "
                "are not a run's; choose another --out"
            )
        return out, False
    if out.exists() and any(out.iterdir()):
        hint = "start it afresh" if _unstarted(out) else "continue it"
        raise FileExistsError(
            f"{out}: already holds a run; pass --resume to {hint} or choose another --out"
        )
    return out, False


def train(
    config: ExperimentConfig,
    cache_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    progress: bool = True,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> Path:
    """Train on a prepared cache and evaluate the selected checkpoint on the test split.

    Parameters
    ----------
    config
        The resolved experiment (:func:`cmaf.training.config.load_config`).
    cache_dir
        A prepared cache (``cmaf prepare``) whose preprocessing matches ``config.preprocess``.
    out_dir
        Run directory; a fresh ``runs/NAME-TIMESTAMP`` when ``None``. An existing non-empty
        directory is refused unless ``resume``.
    resume
        Continue from ``out_dir/checkpoints/last.pt`` (same config required).
    on_epoch_end
        Called after each epoch's checkpoint is written, with the epoch and its history row.

    Returns
    -------
    Path
        The run directory.
    """
    started = time.time()
    config.validate()
    keep_freed_memory()
    dist = init_distributed(config.train.device)
    device = select_device(config.train.device)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    progress = progress and dist.main

    cache_dir = resolve_cache_dir(cache_dir)
    rows = load_manifest(cache_dir)
    if not rows:
        raise ValueError(f"{cache_dir}: the cache manifest lists no clips")
    _check_cache_matches(config, cache_dir)
    classes = class_names(cache_dir, rows)
    if len(classes) != config.model.num_classes:
        raise ValueError(
            f"config: model.num_classes={config.model.num_classes} but dataset "
            f"{rows[0]['dataset']} has {len(classes)} classes ({', '.join(classes)}); "
            f"set model.num_classes to {len(classes)}"
        )
    split = make_split(config, records_from_manifest(rows))

    if dist.main:
        run_dir, resume = new_run_dir(out_dir, config.name, resume)
    else:
        run_dir = Path(out_dir or ".")
        resume = resume and (run_dir / "checkpoints" / "last.pt").is_file()
    ckpt_dir = run_dir / "checkpoints"
    if dist.main:
        output_dir(run_dir, "--out")
        # Partial checkpoint writes of a killed process, which no one will finish.
        remove_stale_temporaries(run_dir)
        if ckpt_dir.is_dir():
            remove_stale_temporaries(ckpt_dir)
        if resume:
            saved = json.loads((run_dir / "config.json").read_text())
            if saved != json.loads(config.to_json()):
                raise ValueError(
                    f"{run_dir}: --resume with a different config than the run's config.json"
                )
        else:
            atomic_write_text(run_dir / "config.json", config.to_json())
            atomic_write_text(run_dir / "split.json", split.to_json())

    seed_everything(config.train.seed)
    model = build_model(config.model).to(device)
    features = None
    if config.train.frozen_features and hasattr(model, "visual_encoder"):
        features = compute_frame_features(model, cache_dir, device, progress=progress)
    augment = training_augmentation(config)
    speaker_stats = mel_speaker_stats(cache_dir, rows) if config.data.speaker_norm else None
    # Decode frames only for a model that reads them (not audio-only, and not when cached
    # features replace them). Without frames a cache is small enough to hold in memory, and
    # then worker processes only add start-up and copying.
    read_frames = features is None and hasattr(model, "visual_encoder")

    def dataset(ids, train_mode):
        clips = CachedClips(
            cache_dir,
            ids,
            train=train_mode,
            augment=augment if train_mode else None,
            frames=read_frames,
            speaker_stats=speaker_stats,
            preload=not read_frames,
        )
        return FeatureClips(clips, features) if features is not None else clips

    train_set = dataset(split.train_ids, True)
    # The same training clips without augmentation, for re-estimating BatchNorm statistics.
    clean_train_set = dataset(split.train_ids, False) if config.train.precise_bn else None
    val_set = dataset(split.val_ids, False) if split.val_ids else None
    test_set = dataset(split.test_ids, False)
    loader_args = dict(
        batch_size=config.train.batch_size,
        num_workers=config.train.num_workers if read_frames else 0,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(
        trainable, lr=config.train.lr, weight_decay=config.train.weight_decay
    )
    scheduler = lr_scheduler(optimizer, config, len(train_set), dist.world_size)
    start_epoch, history = 1, []
    best = {"score": -1.0, "epoch": 0}
    if resume:
        state = load_checkpoint(ckpt_dir / "last.pt", map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        start_epoch = int(state["epoch"]) + 1
        history = list(state["history"])
        best = dict(state["best"])
    elif dist.main:
        attention_init = run_dir / "attention_init.npz"
        _save_attention(attention_init, model, test_set, config.train.attention_samples, device)

    train_model: torch.nn.Module = model
    if dist.enabled:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    for epoch in range(start_epoch, config.train.epochs + 1):
        epoch_start = time.time()
        seed_everything(config.train.seed, epoch)
        row = _train_epoch(
            train_model,
            train_set,
            loader_args,
            optimizer,
            device,
            config,
            epoch,
            dist,
            progress,
            scheduler,
        )
        if not math.isfinite(row["train_loss"]):
            raise TrainingDiverged(
                f"training loss became {row['train_loss']} in epoch {epoch}; last good "
                f"checkpoint kept at {ckpt_dir / 'last.pt'}; lower train.lr or check the data"
            )
        if dist.main:
            if clean_train_set is not None:
                # Only the main process validates and saves; DDP broadcasts its buffers.
                clean = DataLoader(clean_train_set, **loader_args)
                reestimate_batchnorm(model, clean, device, config.train.bf16, progress=progress)
            if val_set is not None and len(val_set):
                val = predict(model, DataLoader(val_set, **loader_args), device, config.train.bf16)
                report = classification_report(val.labels, val.predicted, classes)
                row.update(
                    val_loss=val.loss, val_accuracy=report.accuracy, val_macro_f1=report.macro.f1
                )
                score = report.macro.f1
            else:
                nan = float("nan")
                row.update(val_loss=nan, val_accuracy=nan, val_macro_f1=nan)
                score = float(epoch)  # no validation split: the last epoch is reported
            row.update(lr=optimizer.param_groups[0]["lr"], seconds=time.time() - epoch_start)
            history.append(row)
            if score > best["score"]:
                best = {"score": score, "epoch": epoch}
                atomic_torch_save(
                    {"model": model.state_dict(), "epoch": epoch}, ckpt_dir / "best.pt"
                )
            atomic_torch_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "epoch": epoch,
                    "history": history,
                    "best": best,
                },
                ckpt_dir / "last.pt",
            )
            _write_history(run_dir / "history.csv", history)
            if progress:
                print(
                    f"epoch {epoch}/{config.train.epochs}: loss {row['train_loss']:.4f} "
                    f"acc {row['train_accuracy']:.3f} val macro-F1 {row['val_macro_f1']:.3f}",
                    file=sys.stderr,
                )
            if on_epoch_end is not None:
                on_epoch_end(epoch, row)
        dist.barrier()

    if dist.main:
        _final_evaluation(model, run_dir, test_set, loader_args, device, config, classes, best)
        manifest = environment_manifest(device)
        manifest.update(
            cache_dir=str(cache_dir),
            data_manifest_sha256=data_hash(cache_dir),
            world_size=dist.world_size,
            wall_seconds=round(time.time() - started, 2),
            resumed=resume,
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            command=" ".join(sys.argv),
        )
        atomic_write_text(run_dir / "run.json", json.dumps(manifest, indent=2) + "\n")
    dist.barrier()
    return run_dir


def _check_cache_matches(config: ExperimentConfig, cache_dir: Path) -> None:
    cached = json.loads((cache_dir / CONFIG).read_text())
    wanted = json.loads(config.preprocess.to_json())
    if cached.get("config_hash") != wanted.get("config_hash"):
        different = sorted(
            k for k in wanted if cached.get(k) != wanted.get(k) and k != "config_hash"
        )
        raise ValueError(
            f"{cache_dir}: prepared with other settings than config.preprocess "
            f"({', '.join(different)} differ); run `cmaf prepare` with this config"
        )


def lr_scheduler(optimizer, config: ExperimentConfig, n_train: int, world_size: int = 1):
    """The per-step learning-rate schedule of ``train.lr_schedule`` (``None`` for constant)."""
    if config.train.lr_schedule == "constant":
        return None
    per_rank = math.ceil(n_train / max(world_size, 1))
    steps = config.train.epochs * max(1, math.ceil(per_rank / config.train.batch_size))
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.train.lr, total_steps=steps, pct_start=0.2
    )


def _train_epoch(
    model, train_set, loader_args, optimizer, device, config, epoch, dist, progress, scheduler=None
):
    generator = torch.Generator().manual_seed(config.train.seed * 1_000_003 + epoch)
    if dist.enabled:
        sampler = torch.utils.data.DistributedSampler(
            train_set, num_replicas=dist.world_size, rank=dist.rank, seed=config.train.seed
        )
        sampler.set_epoch(epoch)
        loader = DataLoader(train_set, sampler=sampler, generator=generator, **loader_args)
    else:
        loader = DataLoader(train_set, shuffle=True, generator=generator, **loader_args)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not progress, leave=False)
    for batch in bar:
        target = batch["label"].to(device)
        with bf16_autocast(device, config.train.bf16):
            output = forward_batch(model, batch, device)
        loss = training_loss(output, target, config.model.unimodal_aux_weight)
        if not torch.isfinite(loss):
            return {"train_loss": float(loss.detach()), "train_accuracy": float("nan")}
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = target.shape[0]
        total_loss += float(loss.detach()) * n
        correct += int((output.logits.argmax(1) == target).sum())
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
    return {
        "epoch": epoch,
        "train_loss": total_loss / max(seen, 1),
        "train_accuracy": correct / max(seen, 1),
    }


def reestimate_batchnorm(
    model: torch.nn.Module, loader, device: torch.device, bf16: bool = False, *, progress=False
) -> int:
    """Recompute the running statistics of ``model``'s training BatchNorm layers from ``loader``.

    "Precise BN" (``train.precise_bn``; not in the paper): each BatchNorm layer that
    ``model.train()`` puts in training mode (a frozen backbone's stay as they are) takes the
    plain average of its batch statistics over one pass of ``loader``, without gradients;
    weights are not touched. ``model`` is left in the mode it had. Returns how many layers were
    re-estimated (0: none, and nothing was run).
    """
    was_training = model.training
    model.train()
    norms = [
        m
        for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training
    ]
    if norms:
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # the cumulative average over the pass
        with torch.no_grad():
            for batch in tqdm(
                loader, desc="BatchNorm statistics", disable=not progress, leave=False
            ):
                with bf16_autocast(device, bf16):
                    forward_batch(model, batch, device)
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
    model.train(was_training)
    return len(norms)


def _final_evaluation(model, run_dir, test_set, loader_args, device, config, classes, best):
    """Load best.pt and write its test metrics, predictions, confusion and attention maps."""
    state = load_checkpoint(run_dir / "checkpoints" / "best.pt", map_location=device)
    model.load_state_dict(state["model"])
    loader = DataLoader(test_set, **{**loader_args, "num_workers": 0})
    test = predict(model, loader, device, config.train.bf16)
    checkpoint = (
        f"best.pt: epoch {best['epoch']} of {config.train.epochs}, chosen by "
        "validation macro-F1 (the test split never selects)"
        if config.train.val_fraction > 0
        else f"best.pt: last epoch ({best['epoch']}); no validation split"
    )
    write_test_outputs(
        run_dir,
        test.clip_ids,
        test.labels,
        torch.softmax(torch.from_numpy(test.logits), dim=1).numpy(),
        classes,
        checkpoint=checkpoint,
        selected_epoch=int(best["epoch"]),
        test_loss=test.loss,
        bootstrap=config.train.bootstrap,
        seed=config.train.seed,
    )
    attention_final = run_dir / "attention_final.npz"
    _save_attention(attention_final, model, test_set, config.train.attention_samples, device)


def write_test_outputs(
    run_dir: Path,
    clip_ids: list[str],
    labels: np.ndarray,
    probs: np.ndarray,
    classes: list[str],
    *,
    checkpoint: str,
    selected_epoch: int,
    test_loss: float,
    bootstrap: int,
    seed: int,
) -> dict:
    """Write a run's ``metrics.json``, ``predictions.csv`` and ``confusion.csv``.

    The one format of every model's run directory (trained networks and the pooled-feature
    baselines alike), which :func:`cmaf.evaluation.runs.aggregate_runs` and the book read.
    ``probs`` holds each test clip's class probabilities; the prediction is their argmax.
    """
    labels = np.asarray(labels)
    predicted = np.asarray(probs).argmax(axis=1)
    report = classification_report(labels, predicted, classes)
    options = dict(n_boot=bootstrap, seed=seed, num_classes=len(classes))
    intervals = {
        name: list(bootstrap_ci(labels, predicted, name, **options))
        for name in ("accuracy", "macro_f1", "ua")
    }
    metrics = {
        "checkpoint": checkpoint,
        "selected_epoch": selected_epoch,
        "test": report.to_dict(),
        "scalars": report.scalars(),
        "ci95": intervals,
        "bootstrap_resamples": bootstrap,
        "test_loss": test_loss,
        "note": "WA = overall accuracy; UA = mean per-class recall. The paper's text defines its "
        "'weighted accuracy' as the per-class average, which the speech-emotion literature "
        "calls UA.",
    }
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    lines = [
        "clip_id,label,label_index,predicted,predicted_index," + ",".join(f"p_{c}" for c in classes)
    ]
    for clip_id, label, pred, p in zip(clip_ids, labels, predicted, probs, strict=True):
        lines.append(
            f"{clip_id},{classes[label]},{label},{classes[pred]},{pred},"
            + ",".join(f"{v:.6f}" for v in p)
        )
    atomic_write_text(run_dir / "predictions.csv", "\n".join(lines) + "\n")
    cm = report.confusion
    rows = ["true\\predicted," + ",".join(classes)]
    rows += [classes[i] + "," + ",".join(str(int(v)) for v in cm[i]) for i in range(len(classes))]
    atomic_write_text(run_dir / "confusion.csv", "\n".join(rows) + "\n")
    return metrics


def read_history(run_dir: str | Path) -> list[dict[str, float]]:
    """The per-epoch log of a run as a list of dicts of floats."""
    with open(Path(run_dir) / "history.csv", newline="") as fh:
        return [
            {k: float(v) if v != "" else float("nan") for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]
