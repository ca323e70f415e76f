"""A torch Dataset over a preprocessing cache (see :mod:`cmaf.data.cache`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from cmaf.data.augment import AugmentConfig, augment_frames, augment_mel
from cmaf.data.cache import MANIFEST, check_items, read_item
from cmaf.data.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from cmaf.data.speaker_norm import SpeakerStats, fit_speaker_stats


def resolve_cache_dir(cache_dir: str | Path) -> Path:
    """The directory holding ``manifest.csv``: ``cache_dir``, or the one prepared config in it."""
    cache_dir = Path(cache_dir)
    if (cache_dir / MANIFEST).is_file():
        return cache_dir
    if cache_dir.exists() and not cache_dir.is_dir():
        raise NotADirectoryError(
            f"{cache_dir}: is a file, not a prepared cache folder (run `cmaf prepare`, then pass "
            "its --cache folder)"
        )
    found = sorted(p.parent for p in cache_dir.glob(f"*/{MANIFEST}"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise FileNotFoundError(f"{cache_dir}: no {MANIFEST} (run `cmaf prepare` first)")
    raise FileNotFoundError(
        f"{cache_dir}: holds {len(found)} prepared configurations; pass one of "
        + ", ".join(str(p) for p in found)
    )


def load_manifest(cache_dir: str | Path) -> list[dict[str, str]]:
    """Rows of ``manifest.csv`` (one dict of strings per usable clip, sorted by clip_id)."""
    path = resolve_cache_dir(cache_dir) / MANIFEST
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def normalize_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``uint8 (T, H, W, 3)`` RGB → ``float32 (T, 3, H, W)`` ImageNet-normalised."""
    return _standardize(_unit_frames(frames))


def _unit_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)


def _standardize(frames01: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN, dtype=frames01.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=frames01.dtype).view(1, 3, 1, 1)
    return (frames01 - mean) / std


class CachedClips(Dataset):
    """Clips of one prepared cache, as model-ready tensors.

    Parameters
    ----------
    cache_dir
        The prepared directory (``CACHE_ROOT/HASH``) or a root holding exactly one.
    split_ids
        Clip ids to keep (in the manifest's order); ``None`` keeps every clip.
    train
        Apply augmentation (``augment``, or the default :class:`AugmentConfig` when ``None``).
        With ``train=False`` nothing random ever happens.
    augment
        Augmentation settings for ``train=True``.
    frames
        Load the video frames of video caches (``False`` skips decoding, augmenting and
        normalising them, e.g. when precomputed frame features replace them).
    speaker_stats
        Per-speaker log-Mel statistics (:func:`mel_speaker_stats`) to standardise each clip's
        log-Mel with, per Mel band, before any augmentation; ``None``: the log-Mel as cached.
    preload
        Read every item into memory once (small log-Mel caches), so epochs do not re-read them.

    Each item is a dict: ``mel`` ``float32 (1, n_mels, mel_frames)`` (audio caches),
    ``frames`` ``float32 (T, 3, S, S)`` ImageNet-normalised (video caches), ``label`` ``int``
    (the manifest's ``label_index``) and ``clip_id``.

    Raises
    ------
    cmaf.data.cache.CacheItemError
        On construction for an item outside the cache, missing or of the wrong size, and on
        reading for one whose sha256 differs from the manifest's.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        split_ids: Iterable[str] | None = None,
        train: bool = False,
        augment: AugmentConfig | None = None,
        frames: bool = True,
        speaker_stats: SpeakerStats | None = None,
        preload: bool = False,
    ) -> None:
        self.cache_dir = resolve_cache_dir(cache_dir)
        rows = load_manifest(self.cache_dir)
        if split_ids is not None:
            wanted = set(split_ids)
            missing = wanted - {r["clip_id"] for r in rows}
            if missing:
                raise KeyError(
                    f"{len(missing)} clip ids are not in {self.cache_dir / MANIFEST}, "
                    f"e.g. {sorted(missing)[0]!r}"
                )
            rows = [r for r in rows if r["clip_id"] in wanted]
        # Misplaced, missing or truncated items stop here, before any work; _read checks the
        # content of each item it reads.
        check_items(self.cache_dir, rows)
        self.rows = rows
        self.train = train
        self.augment = (augment or AugmentConfig()) if train else None
        self.load_frames = frames
        self.speaker_stats = speaker_stats
        if speaker_stats is not None:
            missing = sorted({r["speaker"] for r in rows} - set(speaker_stats))
            if missing:
                raise KeyError(f"no per-speaker statistics for speaker(s) {', '.join(missing)}")
        self._arrays = [self._read(row) for row in rows] if preload else None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> list[int]:
        """``label_index`` of every clip, in dataset order."""
        return [int(r["label_index"]) for r in self.rows]

    def _read(self, row: dict[str, str]) -> dict[str, np.ndarray]:
        arrays = read_item(self.cache_dir, row, skip=() if self.load_frames else ("frames",))
        if "mel" in arrays and self.speaker_stats is not None:
            mean, std = self.speaker_stats[row["speaker"]]
            arrays["mel"] = ((arrays["mel"] - mean[:, None]) / std[:, None]).astype(np.float32)
        return arrays

    def __getitem__(self, index: int) -> dict[str, object]:
        row = self.rows[index]
        arrays = self._arrays[index] if self._arrays is not None else self._read(row)
        out: dict[str, object] = {}
        if "mel" in arrays:
            # A copy: augmentation works in place and must not alter a preloaded array.
            mel = torch.tensor(arrays["mel"], dtype=torch.float32)[None]
            if self.augment is not None:
                mel = augment_mel(mel, self.augment)
            out["mel"] = mel
        if "frames" in arrays:
            frames = _unit_frames(arrays["frames"])
            if self.augment is not None:
                frames = augment_frames(frames, self.augment)
            out["frames"] = _standardize(frames)
        out["label"] = int(row["label_index"])
        out["clip_id"] = row["clip_id"]
        return out


def mel_speaker_stats(
    cache_dir: str | Path, rows: list[dict[str, str]] | None = None
) -> SpeakerStats:
    """Per-speaker, per-Mel-band mean and standard deviation of a log-Mel cache.

    Every clip of a speaker counts (train, validation and test alike); labels are never read.
    """
    cache_dir = resolve_cache_dir(cache_dir)
    rows = load_manifest(cache_dir) if rows is None else rows
    stats: SpeakerStats = {}
    for speaker in sorted({r["speaker"] for r in rows}):
        mels = []
        for row in (r for r in rows if r["speaker"] == speaker):
            item = read_item(cache_dir, row, skip=("frames",))
            if "mel" not in item:
                raise ValueError(f"{cache_dir}: a video-only cache has no log-Mel to normalise")
            mels.append(item["mel"])
        stats.update(fit_speaker_stats(np.stack(mels), [speaker] * len(mels)))
    return stats
