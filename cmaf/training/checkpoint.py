"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint holds only tensors and plain Python values, so ``weights_only=True`` reads it and a
tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from cmaf.data.cache import atomic_write_bytes


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """Save ``obj`` to ``path`` atomically: a crash during the write leaves the old file intact."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write(path, buffer.getvalue())


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text atomically (same guarantee as :func:`atomic_torch_save`)."""
    return atomic_write(path, text.encode())


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically, creating the parent folder (the cache's primitive)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``); one clear line when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint here (train first, or check the run dir)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{path}: refused or unreadable checkpoint ({first}); only checkpoints written by "
            "cmaf (tensors and plain values) load"
        ) from exc
