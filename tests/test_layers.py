"""The layer contract in pyproject.toml holds, and an upward import breaks it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def _lint(package_parent: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the project's contract on the ``cmaf`` found in ``package_parent``."""
    shutil.copy(REPO / "pyproject.toml", package_parent / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def package_copy(tmp_path) -> Path:
    shutil.copytree(REPO / "cmaf", tmp_path / "cmaf", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_package_keeps_its_layers(package_copy):
    result = _lint(package_copy)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # an upward import at module level: data may not read training
        ("data/records.py", "import cmaf.training.loop  # noqa\n"),
        # one hidden inside a function counts the same
        (
            "evaluation/metrics.py",
            "def _late():\n    from cmaf.experiments import speech  # noqa\n",
        ),
        # siblings are independent: models may not import data
        ("models/tucker.py", "from cmaf.data import records  # noqa\n"),
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(package_copy, module, line):
    path = package_copy / "cmaf" / module
    path.write_text(path.read_text() + "\n" + line)
    result = _lint(package_copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
