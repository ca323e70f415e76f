"""Bad input and crashes: each gets one clear line and loses nothing.

One test (or one parametrised family) per class of failure; the damaged input is made here.
The table in ``book/how_built.md`` ("Bad input") lists these classes and what a user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cmaf import layout
from cmaf.cli import main
from cmaf.experiments.protocols import ensure_run
from cmaf.training.config import load_config
from cmaf.training.loop import train

REPO = Path(__file__).resolve().parents[1]


def _smoke(epochs: int = 1):
    """Small for testing speed."""
    config = load_config("smoke")
    config.train.epochs = epochs
    return config


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def one_epoch_run(tiny_cache, tmp_path_factory) -> Path:
    return train(_smoke(), tiny_cache, tmp_path_factory.mktemp("runs") / "run", progress=False)


# ------------------------------------------------------------------ 1. killed before a checkpoint

_DIE_AT_FIRST_CHECKPOINT = """
import os, signal, sys
import cmaf.training.loop as loop
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # as abrupt as kill -9, before anything is saved
loop.atomic_torch_save = die
from cmaf import layout
from cmaf.cli import main
main(sys.argv[1:])
"""


def _killed_before_checkpoint(cache: Path, out: Path, tmp_path: Path) -> None:
    script = tmp_path / "die.py"
    script.write_text(_DIE_AT_FIRST_CHECKPOINT)
    # Audio-only: the cheapest model that writes the same run directory.
    args = [
        "train",
        "--config",
        "smoke",
        "--epochs",
        "1",
        "--fusion",
        "audio",
        "--cache",
        str(cache),
    ]
    proc = subprocess.run(
        [sys.executable, str(script), *args, "--out", str(out), "--quiet"],
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (out / "config.json").is_file() and not (out / "checkpoints" / "last.pt").exists()


@pytest.mark.slow
def test_train_killed_before_its_first_checkpoint_restarts_under_resume(
    tiny_cache, tmp_path, capsys
):
    out = tmp_path / "run"
    _killed_before_checkpoint(tiny_cache, out, tmp_path)
    common = ["train", "--config", "smoke", "--epochs", "1", "--fusion", "audio"]
    common += ["--cache", str(tiny_cache)]
    # Without --resume the folder is refused, and the line says how to go on.
    assert main([*common, "--out", str(out), "--quiet"]) != 0
    assert "--resume to start it afresh" in _one_line(capsys)
    assert main([*common, "--out", str(out), "--resume", "--quiet"]) == 0
    assert (out / "metrics.json").is_file()
    assert not json.loads((out / "run.json").read_text())["resumed"]


@pytest.mark.slow
def test_book_runs_killed_before_their_first_checkpoint_restart(tiny_cache, tmp_path):
    """``ensure_run`` (what ``make book`` and the comparisons use) takes the same path."""
    out = tmp_path / "run"
    _killed_before_checkpoint(tiny_cache, out, tmp_path)
    config = _smoke()
    config.model.fusion = "audio"
    ensure_run(config, tiny_cache, out, progress=False, log=lambda _: None)
    assert (out / "metrics.json").is_file()


def test_resume_refuses_a_folder_that_is_not_a_run(tiny_cache, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    args = ["train", "--config", "smoke", "--cache", str(tiny_cache), "--out", str(out)]
    assert main([*args, "--resume", "--quiet"]) != 0
    assert "nothing to resume" in _one_line(capsys)
    assert (out / "thesis.tex").read_text() == "keep me"


# ------------------------------------------------------------------ 8. partial checkpoint writes


def test_resume_removes_partial_checkpoint_writes(one_epoch_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(one_epoch_run, run)
    stale = run / "checkpoints" / ".last.pt.99999999.tmp"  # a writer pid that does not exist
    stale.write_bytes(b"partial")
    train(_smoke(), json.loads((run / "run.json").read_text())["cache_dir"], run, resume=True,
          progress=False)  # fmt: skip
    assert not stale.exists()
    assert (run / "checkpoints" / "last.pt").is_file()


# ------------------------------------------------------------------ 4. one line, not a traceback


def _bad_locations(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    locations = {
        "an existing file": a_file,
        "below a file": a_file / "run",
        "an over-long name": tmp_path / ("x" * 300),
        "a location no one can create": Path("/proc/cmaf-cannot-write-here"),
    }
    if os.geteuid() != 0:  # root writes anywhere; the cases above cover it
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        locations["a read-only folder"] = locked / "run"
    return locations


BAD_LOCATIONS = (
    "an existing file",
    "below a file",
    "an over-long name",
    "a location no one can create",
    "a read-only folder",
)


@pytest.mark.parametrize("where", BAD_LOCATIONS)
@pytest.mark.parametrize("command", ["train --out", "prepare --cache", "compare --out"])
def test_unusable_output_locations_get_one_line(command, where, tiny_cache, tmp_path, capsys):
    locations = _bad_locations(tmp_path)
    if where not in locations:
        pytest.skip("running as root: permissions do not stop writes")
    target = str(locations[where])
    name, flag = command.split()
    args = {
        "train": ["train", "--config", "smoke", "--cache", str(tiny_cache), "--quiet"],
        "prepare": ["prepare", "--dataset", "ravdess", "--root", str(tmp_path), "--no-progress"],
        "compare": ["compare", "--config", "smoke", "--cache", str(tiny_cache), "--quiet"],
    }[name]
    assert main([*args, flag, target]) != 0
    line = _one_line(capsys)
    assert line.startswith(f"cmaf {name}: ") and flag in line


def test_a_cache_that_is_a_file_gets_one_line(tmp_path, capsys):
    a_file = tmp_path / "cache.txt"
    a_file.write_text("")
    assert main(["train", "--cache", str(a_file), "--out", str(tmp_path / "r"), "--quiet"]) != 0
    assert str(a_file) in _one_line(capsys)


@pytest.mark.parametrize("text", ["[1, 2]", '"cpu"', "3", "null", "\udcff"])
def test_a_config_that_is_not_a_json_object_gets_one_line(text, tiny_cache, tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    args = ["train", "--config", str(path), "--cache", str(tiny_cache), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "r")]) != 0
    assert str(path) in _one_line(capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "damage",
    ["{not json", "[]", '{"scalars": {}}', '{"scalars": {}, "test": [], "selected_epoch": 1}'],
)
def test_evaluate_names_a_malformed_metrics_file(damage, one_epoch_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(one_epoch_run, run)
    (run / "metrics.json").write_text(damage)
    assert main(["evaluate", str(run)]) != 0
    line = _one_line(capsys)
    assert str(run / "metrics.json") in line and "damaged" in line


def test_evaluate_of_no_finished_run_says_so(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) != 0
    assert "no such run directory" in _one_line(capsys)


# ------------------------------------------------------------------ 5. evaluate --out


def test_evaluate_never_writes_into_a_run(one_epoch_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(one_epoch_run, run)
    before = (run / "metrics.json").read_bytes()
    for target in (run / "metrics.json", run / "summary.json", run / "checkpoints" / "x.json"):
        assert main(["evaluate", str(run), "--out", str(target), "--force"]) != 0
        assert "inside the run directory" in _one_line(capsys)
        assert not (run / "summary.json").exists()
    assert (run / "metrics.json").read_bytes() == before
    assert main(["evaluate", str(run)]) == 0  # the run still reads


def test_evaluate_replaces_an_existing_file_only_with_force(one_epoch_run, tmp_path, capsys):
    target = tmp_path / "summary.json"
    target.write_text("my notes")
    assert main(["evaluate", str(one_epoch_run), "--out", str(target)]) != 0
    assert "--force" in _one_line(capsys)
    assert target.read_text() == "my notes"
    assert main(["evaluate", str(one_epoch_run), "--out", str(target), "--force"]) == 0
    assert json.loads(target.read_text())["n_runs"] == 1


# ------------------------------------------------------------------ 8. flags and plans


@pytest.mark.parametrize(
    ("flag", "value"), [("--seeds", "abc"), ("--folds", "x"), ("--seeds", ""), ("--seeds", "-1")]
)
def test_compare_names_the_flag_of_a_bad_list(flag, value, tiny_cache, tmp_path, capsys):
    args = ["compare", "--config", "smoke", "--cache", str(tiny_cache), "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err


def test_plans_are_checked_before_any_run_trains(tiny_cache, tmp_path, capsys):
    config = tmp_path / "four-folds.json"
    config.write_text(json.dumps({"base": "smoke", "data": {"groups_per_fold": 1}}))
    out = tmp_path / "compare"
    args = ["compare", "--config", str(config), "--cache", str(tiny_cache), "--out", str(out)]
    assert main([*args, "--folds", "0,7", "--fusions", "audio", "--quiet"]) != 0
    line = _one_line(capsys)
    assert "7" in line and "4 held-out folds" in line
    assert not (out / "audio").exists(), "a run trained before the plan was found impossible"

    run = tmp_path / "run"
    train_args = ["train", "--config", str(config), "--cache", str(tiny_cache), "--out", str(run)]
    assert main([*train_args, "--split", "held-out", "--fold", "99", "--quiet"]) != 0
    assert "data.fold=99" in _one_line(capsys)
    assert not run.exists()


# ------------------------------------------------------------ 6. chapters on a wrong runs_root

CHAPTERS = sorted((REPO / "notebooks").glob("*.md"))


@pytest.mark.parametrize(
    ("make", "needs", "missing"),
    [
        (lambda root: None, {"models": ["cmaf"]}, "runs_root missing"),
        (lambda root: root.mkdir(), {"models": ["cmaf"]}, "the finished cmaf run of seed 0"),
        (lambda root: root.mkdir(), {"cache": True}, "the prepared cache"),
        (lambda root: root.mkdir(), {"corpus": True}, "the corpus"),
    ],
)
def test_require_names_the_missing_folder_and_the_command(make, needs, missing, tmp_path):
    root = tmp_path / "runs"
    make(root)
    with pytest.raises(layout.ChapterInputMissing) as info:
        layout.require(root, **needs, profile="smoke", seeds=[0])
    message = str(info.value)
    assert "\n" not in message and missing in message and str(root) in message
    assert f"cmaf book --runs-root {root} --profile smoke --seeds 0" in message


@pytest.mark.parametrize("chapter", [c.name for c in CHAPTERS], ids=lambda n: n[:2])
def test_chapters_take_their_paths_from_layout(chapter):
    """No chapter builds a run path by hand; those that read runs check them first."""
    text = (REPO / "notebooks" / chapter).read_text()
    assert 'RUNS / "' not in text and "Path(runs_root)" not in text
    if "runs_root" in text.split("tags: [parameters]", 1)[-1].split("```", 1)[-1]:
        assert "layout.require(" in text or "layout.BookRuns(" in text


@pytest.mark.slow
def test_a_chapter_on_a_wrong_runs_root_stops_with_one_line(tmp_path):
    pytest.importorskip("papermill", reason="the book extra is not installed")
    from cmaf.book import BookError, execute_chapters

    wrong = tmp_path / "no-such-build"
    chapter = REPO / "notebooks" / "04_results.md"
    params = {"dataset": "synthetic", "data_root": "", "runs_root": str(wrong)}
    with pytest.raises(BookError) as info:
        execute_chapters(
            [("notebooks/04_results", chapter)],
            tmp_path / "out",
            tmp_path / "stage",
            {**params, "profile": "smoke", "seeds": [0]},
            REPO,
            False,
        )
    message = str(info.value)
    assert "ChapterInputMissing" in message and str(wrong) in message
    assert "make it with `cmaf book --runs-root" in message


@pytest.mark.parametrize(
    "where", ["below a file", "an over-long name", "a location no one can create"]
)
def test_evaluate_out_in_an_unusable_location_gets_one_line(where, one_epoch_run, tmp_path, capsys):
    target = _bad_locations(tmp_path)[where] / "summary.json"
    assert main(["evaluate", str(one_epoch_run), "--out", str(target)]) != 0
    line = _one_line(capsys)
    assert line.startswith("cmaf evaluate: --out ")
