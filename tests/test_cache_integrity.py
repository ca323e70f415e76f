"""The cache is not trusted blindly (issue #19): items outside the cache, damaged items, rebuilds
by ``prepare``, and ``prepare``'s worker processes dying with a killed caller."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures import make_ravdess_tree, process_alive
from torch.utils.data import DataLoader

from cmaf.cli import main
from cmaf.data import DataError
from cmaf.data.cache import ITEMS, MANIFEST, prepare
from cmaf.data.dataset import CachedClips, load_manifest, mel_speaker_stats
from cmaf.data.preprocessing import PreprocessConfig
from cmaf.data.registry import classes_for, scan_dataset
from cmaf.experiments.robustness import _load_batch
from cmaf.training.config import load_config

#: Damage done to a copy of a prepared cache, each to the first clip's item or manifest row.
DAMAGE = ("absolute", "parent", "symlink", "bytes", "flipped", "truncated")


def _write_manifest(cache: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (cache / MANIFEST).write_text(buffer.getvalue())


def _flip_byte(path: Path) -> None:
    """Flip one bit in the middle of the file (inside an array's data), keeping its size."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _damage(cache: Path, kind: str) -> str:
    """Damage ``cache`` (a copy) and return the start of the one-line message it must cause."""
    rows = load_manifest(cache)
    row = rows[0]
    item = cache / row["item"]
    # A whole, valid item outside the cache: read without complaint unless the path is checked.
    outside = cache.parent / "outside.npz"
    shutil.copyfile(item, outside)
    if kind == "absolute":
        row["item"] = str(outside)
    elif kind == "parent":
        row["item"] = "../outside.npz"
    elif kind == "symlink":
        item.unlink()
        item.symlink_to(outside)
    elif kind == "bytes":
        row["bytes"] = str(int(row["bytes"]) + 1)
    elif kind == "flipped":
        _flip_byte(item)
    elif kind == "truncated":
        item.write_bytes(item.read_bytes()[:-100])
    _write_manifest(cache, rows)
    if kind in ("absolute", "parent"):
        return f"{cache / MANIFEST}: clip {row['clip_id']}: "
    return f"{item}: "


@pytest.fixture
def cache_copy(tiny_cache, tmp_path) -> Path:
    """A private copy of the shared tiny cache, free to damage."""
    cache = tmp_path / "cache" / tiny_cache.name
    shutil.copytree(tiny_cache, cache, symlinks=True)
    return cache


def _one_line(message: str, start: str) -> None:
    assert "\n" not in message.strip(), message
    assert message.startswith(start), message
    assert "cmaf prepare" in message, message


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_cache_is_one_line_naming_the_file(cache_copy, kind):
    start = _damage(cache_copy, kind)
    with pytest.raises(DataError) as caught:
        clips = CachedClips(cache_copy)
        clips[0]
    _one_line(str(caught.value), start)
    # The other readers check the same way.
    with pytest.raises(DataError) as caught:
        mel_speaker_stats(cache_copy)
    _one_line(str(caught.value), start)
    with pytest.raises(DataError) as caught:
        _load_batch(cache_copy, load_manifest(cache_copy)[:1], frames=True)
    _one_line(str(caught.value), start)


def test_damaged_item_read_in_a_loader_worker_is_one_line(cache_copy):
    # torch re-raises a worker's exception with the worker's traceback in its message.
    start = _damage(cache_copy, "flipped")
    loader = DataLoader(CachedClips(cache_copy), batch_size=4, num_workers=1)
    with pytest.raises(DataError) as caught:
        next(iter(loader))
    _one_line(str(caught.value), start)


@pytest.mark.parametrize("kind", DAMAGE)
def test_train_on_a_damaged_cache_fails_in_one_line(cache_copy, tmp_path, kind, capsys):
    start = _damage(cache_copy, kind)
    capsys.readouterr()
    args = ["train", "--config", "smoke", "--cache", str(cache_copy), "--epochs", "1"]
    code = main([*args, "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"cmaf train: {start}"), err


# ------------------------------------------------------------------------------ prepare rebuilds


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list]:
    """26 short RAVDESS-named clips (2 actors; neutral once, 6 emotions at both intensities)."""
    root = tmp_path_factory.mktemp("ravdess")
    make_ravdess_tree(
        root,
        actors=(1, 2),
        emotions=tuple(range(1, 8)),
        intensities=(1, 2),
        size=(128, 72),
        seconds=1.0,
        with_audio_only=False,
    )
    return root, scan_dataset("ravdess", root).records


def _prepare(records, cache_root: Path):
    return prepare(
        records,
        cache_root,
        load_config("smoke").preprocess,
        workers=0,
        progress=False,
        classes=classes_for("ravdess"),
    )


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory):
    """Six of the clips, prepared once; tests copy it."""
    return _prepare(corpus[1][:6], tmp_path_factory.mktemp("prepared"))


@pytest.mark.parametrize("kind", ("flipped", "truncated", "symlink", "flipped-no-sidecar"))
def test_prepare_rebuilds_a_damaged_item(corpus, prepared, tmp_path, kind, capsys):
    records = corpus[1][:6]
    root = tmp_path / "root"
    shutil.copytree(prepared.cache_dir.parent, root, symlinks=True)
    cache = root / prepared.cache_dir.name
    manifest = (cache / MANIFEST).read_bytes()
    rows = load_manifest(cache)
    item = cache / rows[0]["item"]
    original = item.read_bytes()
    if kind == "symlink":
        outside = tmp_path / "outside.npz"
        outside.write_bytes(original)
        item.unlink()
        item.symlink_to(outside)
    elif kind == "truncated":
        item.write_bytes(original[:-100])
    else:
        _flip_byte(item)
    if kind == "flipped-no-sidecar":
        # As after a kill between writing an item and its sidecar; the second item is whole.
        for row in rows[:2]:
            (cache / row["item"]).with_suffix(".json").unlink()

    capsys.readouterr()
    again = _prepare(records, root)
    err = capsys.readouterr().err.strip().splitlines()
    assert (again.n_processed, again.n_cached) == (1, 5)
    assert len(err) == 1 and err[0].startswith(f"{item}: damaged cache item"), err
    assert not item.is_symlink() and item.read_bytes() == original
    assert (cache / MANIFEST).read_bytes() == manifest
    assert all((cache / row["item"]).with_suffix(".json").is_file() for row in rows)
    assert CachedClips(cache)[0]["clip_id"] == rows[0]["clip_id"]
    if kind == "symlink":
        assert outside.read_bytes() == original  # the link was replaced, its target left alone
    # The rebuilt cache is intact: one more run does no work.
    assert _prepare(records, root).n_processed == 0


def test_read_item_returns_what_np_load_reads(cache_copy):
    from cmaf.data.cache import read_item

    row = load_manifest(cache_copy)[0]
    with np.load(cache_copy / row["item"]) as item:
        expected = {name: item[name] for name in item.files}
    got = read_item(cache_copy, row)
    assert sorted(got) == sorted(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(got[name], array)
    assert sorted(read_item(cache_copy, row, skip=("frames",))) == ["mel"]


# ------------------------------------------------------------------------------ killed prepare

# The paper's frames (90 at 224 px): enough work per clip that the kill lands mid-way.
_PREPARE_SCRIPT = """
import sys
from pathlib import Path
from cmaf.data.cache import prepare
from cmaf.data.preprocessing import PreprocessConfig
from cmaf.data.registry import classes_for, scan_dataset
if __name__ == "__main__":
    records = scan_dataset("ravdess", Path(sys.argv[1])).records
    prepare(records, Path(sys.argv[2]), PreprocessConfig(), workers=2, progress=False,
            classes=classes_for("ravdess"))
"""


def _descendants(pid: int) -> set[int]:
    """Processes below ``pid`` (its children, theirs, ...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killed_prepare_leaves_no_worker_writing(corpus, tmp_path):
    source, records = corpus
    script = tmp_path / "prepare.py"
    script.write_text(_PREPARE_SCRIPT)
    cache_root = tmp_path / "cache"
    items = cache_root / PreprocessConfig().config_hash() / ITEMS
    # stderr to a file: after the kill the caller's resource tracker reports the semaphores it
    # cleans up, which is expected here and would only clutter the test output.
    err = tmp_path / "stderr.txt"
    below: set[int] = set()
    with open(err, "w") as err_fh:
        caller = subprocess.Popen(
            [sys.executable, str(script), str(source), str(cache_root)], stderr=err_fh, cwd=tmp_path
        )
    try:
        deadline = time.monotonic() + 120
        while not list(items.glob("*.npz")) and time.monotonic() < deadline:
            assert caller.poll() is None, err.read_text()
            time.sleep(0.05)
        below = _descendants(caller.pid)  # the workers, the fork server, the resource tracker
        caller.send_signal(signal.SIGKILL)
        caller.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(process_alive(p) for p in below) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(process_alive(p) for p in below), "processes outlived their killed prepare"
        written = sorted(items.glob("*.npz"))
        assert 0 < len(written) < len(records), "prepare was not killed mid-way"
        time.sleep(1.0)
        assert sorted(items.glob("*.npz")) == written
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        for pid in below:  # what a failed check left running (all started by this test)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
