"""The datasets cmaf reads, by name: each loader module's :class:`~cmaf.data.spec.DatasetSpec`.

A new dataset is its loader module, which declares ``SPEC``, plus its entry in :data:`SPECS`.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from cmaf.data import crema_d, iemocap, ravdess
from cmaf.data.records import DataError, ScanResult
from cmaf.data.spec import DatasetSpec, check_choice

#: Every dataset's spec by name, in the order the CLI and the book list them.
SPECS: dict[str, DatasetSpec] = {s.name: s for s in (ravdess.SPEC, crema_d.SPEC, iemocap.SPEC)}

#: Dataset names accepted by :func:`scan_dataset` and :func:`classes_for`.
DATASETS: tuple[str, ...] = tuple(SPECS)


def spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name``; a one-line :class:`DataError` naming the valid names."""
    if name not in SPECS:
        raise DataError(f"unknown dataset {name!r}: valid names are {', '.join(DATASETS)}")
    return SPECS[name]


def _check_options(found: DatasetSpec, options: dict) -> None:
    """Reject options the loader does not take, as a one-line DataError (not a TypeError)."""
    accepted = [p for p in inspect.signature(found.scan).parameters if p != "root"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(
            f"{found.name}: unknown option(s) {', '.join(unknown)} (valid: {', '.join(accepted)})"
        )


def scan_dataset(name: str, root: str | Path, **options) -> ScanResult:
    """Scan ``root`` with the loader of dataset ``name`` (see each module's ``scan``)."""
    found = spec(name)
    _check_options(found, options)
    return found.scan(root, **options)


def classes_for(name: str, **options) -> tuple[str, ...]:
    """The ordered class names ``scan_dataset(name, root, **options)`` labels with.

    Only a ``classes`` preset (IEMOCAP's) changes them; other options are ignored, so the same
    options can be passed to both functions.
    """
    found = spec(name)
    _check_options(found, options)
    preset = options.get("classes")
    if preset is None:
        return found.classes
    check_choice(found.display_name, "classes preset", preset, found.presets)
    return found.presets[preset]
