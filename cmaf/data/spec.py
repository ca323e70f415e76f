"""What cmaf knows about one dataset, declared once by its loader module (``SPEC``).

:mod:`cmaf.data.registry` collects the loader modules' specs; the splits, the ``prepare``
command, the book and :mod:`cmaf.paper` read names, classes, fold layouts and record keys from
there, so adding a dataset means writing its module (with its ``SPEC``), one line in the registry,
its fixture and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from cmaf.data.records import ClipRecord, ScanResult

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


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its names, classes, loader and how its records are split.

    Parameters
    ----------
    name
        Registry key and the ``ClipRecord.dataset`` of every record ``scan`` returns.
    display_name
        The name as the paper and the book print it (``"CREMA-D"``).
    scan
        ``scan(root, **options) -> ScanResult``; its keyword parameters are the loader's options.
    classes
        Class names in label-index order; with ``presets``, the default preset's.
    presets
        Other class lists, by the value of the scan option ``classes`` (empty: no such option).
    group
        What ``ClipRecord.group`` holds, in the singular (``"actor"``, ``"session"``): the unit a
        held-out fold leaves out. It names the protocol: ``held-out-<group>s``, or
        ``leave-one-<group>-out`` when every fold holds one. ``ClipRecord.speaker`` is always the
        speaking actor, ``<name>-<actor id>``.
    n_folds, fold_size
        The default held-out folds: a number of folds, or the groups per fold (one is ``None``).
    sex
        ``"M"``, ``"F"`` or ``None`` for a record. Held-out folds balance the sexes when every
        group has one sex.
    twin_key
        Key shared by a record and its near-duplicate recordings (RAVDESS: the two repetitions of a
        take), which a random split can put on both sides; ``None`` for a record without twins.
    """

    name: str
    display_name: str
    scan: Callable[..., ScanResult]
    classes: tuple[str, ...]
    presets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    group: str = "group"
    n_folds: int | None = 5
    fold_size: int | None = None
    sex: Callable[[ClipRecord], str | None] = sex_from_meta
    twin_key: Callable[[ClipRecord], Hashable | None] = no_twins

    def __post_init__(self) -> None:
        if (self.n_folds is None) == (self.fold_size is None):
            raise ValueError(f"{self.name}: give exactly one of n_folds and fold_size")
        if self.presets and self.classes not in self.presets.values():
            raise ValueError(f"{self.name}: classes must be one of the presets")
