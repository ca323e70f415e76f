"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from fixtures import make_ravdess_tree

from cmaf.data.cache import prepare
from cmaf.data.registry import classes_for, scan_dataset
from cmaf.training.config import load_config

# Under pytest-xdist (``make test`` runs two workers) the CPUs are shared out between the
# workers, and the processes a test starts (CLI runs, chapter kernels) inherit the share.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A prepared cache of 120 format-faithful RAVDESS clips (4 actors × 8 emotions × ...)."""
    root = tmp_path_factory.mktemp("ravdess")
    make_ravdess_tree(
        root,
        actors=(1, 2, 3, 4),
        emotions=tuple(range(1, 9)),
        intensities=(1, 2),
        repetitions=(1, 2),
        size=(128, 72),
        seconds=1.0,
        with_audio_only=False,
    )
    scan = scan_dataset("ravdess", root)
    result = prepare(
        scan.records,
        tmp_path_factory.mktemp("cache"),
        load_config("smoke").preprocess,
        workers=0,
        progress=False,
        classes=classes_for("ravdess"),
    )
    assert result.n_usable == 120
    return result.cache_dir
