"""One entry point to the three dataset loaders, by name."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

from cmaf.data import crema_d, iemocap, ravdess
from cmaf.data.records import DataError, ScanResult

#: Dataset names accepted by :func:`scan_dataset` and :func:`classes_for`.
DATASETS: tuple[str, ...] = ("ravdess", "crema-d", "iemocap")

_MODULES: dict[str, ModuleType] = {"ravdess": ravdess, "crema-d": crema_d, "iemocap": iemocap}


def _module(name: str) -> ModuleType:
    if name not in _MODULES:
        raise DataError(f"unknown dataset {name!r}: valid names are {', '.join(DATASETS)}")
    return _MODULES[name]


def _check_options(name: str, options: dict) -> None:
    """Reject options the loader does not take, as a one-line DataError (not a TypeError)."""
    accepted = [p for p in inspect.signature(_module(name).scan).parameters if p != "root"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(
            f"{name}: unknown option(s) {', '.join(unknown)} (valid: {', '.join(accepted)})"
        )


def scan_dataset(name: str, root: str | Path, **options) -> ScanResult:
    """Scan ``root`` with the loader of dataset ``name`` (see each module's ``scan``)."""
    _check_options(name, options)
    return _module(name).scan(root, **options)


def classes_for(name: str, **options) -> tuple[str, ...]:
    """The ordered class names ``scan_dataset(name, root, **options)`` labels with.

    Only IEMOCAP's ``classes`` preset changes them; other options are accepted and ignored so the
    same option dict can be passed to both functions.
    """
    module = _module(name)
    _check_options(name, options)
    if module is iemocap:
        return iemocap.classes(options.get("classes", iemocap.DEFAULT_PRESET))
    return module.CLASSES
