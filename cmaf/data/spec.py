"""What cmaf knows about one dataset, declared once by its loader module (``SPEC``), and the
checks the loaders share.

:mod:`cmaf.data.registry` collects the specs; the splits, the ``prepare`` command, the book and
:mod:`cmaf.paper` read names, classes, fold layouts and record keys from there.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, ScanResult

_SEXES = {"m": "M", "male": "M", "man": "M", "f": "F", "female": "F", "woman": "F"}


def sex_from_meta(record: ClipRecord) -> str | None:
    """``"M"`` or ``"F"`` from ``meta["sex"]`` or ``meta["gender"]`` (any spelling), or ``None``."""
    for key in ("sex", "gender"):
        sex = _SEXES.get(str(record.meta.get(key, "")).strip().lower())
        if sex:
            return sex
    return None


def no_twins(record: ClipRecord) -> Hashable | None:
    """The twin key of a dataset without near-duplicate recordings: always ``None``."""
    return None


def check_choice(dataset: str, option: str, value: object, choices: Iterable[str]) -> None:
    """Raise a one-line :class:`DataError` unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        *most, last = (repr(c) for c in choices)
        raise DataError(f"{dataset} {option} {value!r} unknown: use {', '.join(most)} or {last}")


def check_root(root: str | Path, dataset: str, holding: str) -> Path:
    """``root`` as a path; a one-line :class:`DataError` unless it is a folder.

    ``holding`` says what the folder should hold (ends the message: "pass <holding>").
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(f"{dataset} root {root} {what}: pass {holding}")
    return root


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its names, classes, loader and how its records are split."""

    name: str  # registry key, and the ``dataset`` of every record ``scan`` returns
    display_name: str  # as the paper and the book print it ("CREMA-D")
    scan: Callable[..., ScanResult]  # scan(root, **options); its keywords are the options
    classes: tuple[str, ...]  # in label-index order; with presets, the default preset's
    # Other class lists, by the value of the scan option ``classes`` (empty: no such option).
    presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What ``ClipRecord.group`` holds ("actor", "session"): the unit a held-out fold leaves out.
    # It names the protocol: held-out-<group>s, or leave-one-<group>-out with one per fold.
    group: str = "group"
    n_folds: int | None = 5  # the default held-out folds: a number of folds,
    fold_size: int | None = None  # or the groups per fold (exactly one is None)
    # "M", "F" or None for a record; held-out folds balance the sexes when every group has one.
    sex: Callable[[ClipRecord], str | None] = sex_from_meta
    # Key shared by a record and its near-duplicates (RAVDESS: the two repetitions of a take),
    # which a random split can put on both sides; None for a record without twins.
    twin_key: Callable[[ClipRecord], Hashable | None] = no_twins

    def __post_init__(self) -> None:
        if (self.n_folds is None) == (self.fold_size is None):
            raise ValueError(f"{self.name}: give exactly one of n_folds and fold_size")
        if self.presets and self.classes not in self.presets.values():
            raise ValueError(f"{self.name}: classes must be one of the presets")
