"""The record types every dataset loader returns, and the file helpers the data modules share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    """Bad input data: the message is one line naming the file, the reason and the fix."""


@dataclass(frozen=True)
class ClipRecord:
    """One labelled audio-visual clip, whatever dataset it comes from.

    Parameters
    ----------
    dataset
        ``"ravdess"``, ``"crema-d"`` or ``"iemocap"``.
    clip_id
        Identifier unique within the dataset (the file stem for RAVDESS / CREMA-D, the utterance
        id for IEMOCAP).
    label
        Canonical lower-case emotion name (``"neutral"``, ``"calm"``, ``"happy"``, ...).
    speaker
        Speaker identifier, prefixed by the dataset (``"ravdess-12"``, ``"crema-d-1001"``,
        ``"iemocap-Ses01F"``): held-out-speaker splits group on it.
    group
        The unit a held-out protocol leaves out (the actor for RAVDESS and CREMA-D, the session for
        IEMOCAP).
    audio_path, video_path
        The files to read; either may be ``None`` (audio-only or video-only variants).
    start, end
        Segment in seconds inside the media files, or ``None`` for the whole file (IEMOCAP cuts
        utterances out of dialog-long videos).
    meta
        Provenance fields as strings (intensity, statement, repetition, sex, video side, ...).
    """

    dataset: str
    clip_id: str
    label: str
    speaker: str
    group: str
    audio_path: Path | None = None
    video_path: Path | None = None
    start: float | None = None
    end: float | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Problem:
    """One unusable input found while scanning or preparing: the file and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ScanResult:
    """What a dataset loader found under a root: usable records and skipped files."""

    records: list[ClipRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def check_size(path: Path, empty_fix: str) -> tuple[int, Problem | None]:
    """Size of ``path`` in bytes, or the :class:`Problem` that makes it unusable.

    A file that cannot be stat-ed or is empty is a problem; ``empty_fix`` says how to repair an
    empty one (e.g. "re-extract it"). Loaders call this before trusting a file they only scan.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        return 0, Problem(path, f"cannot stat ({exc})")
    if size == 0:
        return 0, Problem(path, f"empty file (0 bytes): {empty_fix}")
    return size, None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
