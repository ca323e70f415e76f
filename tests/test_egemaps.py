"""eGeMAPS v02 functionals: real clips, the cache, problem lines, workers dying with the caller.

The real-data test reads ``../shared/data/ravdess-speech`` (or ``CMAF_RAVDESS_AUDIO_ROOT``) and
skips cleanly when it is absent; the others build small RAVDESS-named fixtures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures import make_ravdess_tree, process_alive

from cmaf.data import egemaps
from cmaf.data.registry import scan_dataset

REAL_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-speech"
#: Eight real clips: four actors, both sexes, several emotions, one of the five stereo files.
REAL_CLIPS = (
    "03-01-01-01-01-01-01",
    "03-01-02-01-01-02-01",  # stereo
    "03-01-05-02-02-01-02",
    "03-01-08-01-01-02-02",
    "03-01-03-02-01-01-13",
    "03-01-04-01-02-02-13",
    "03-01-06-02-01-01-24",
    "03-01-07-01-02-02-24",
)


def _forbid_extraction(monkeypatch) -> list[str]:
    """Make any openSMILE run in this process fail loudly; returns the clips it was asked for."""
    calls: list[str] = []

    def refuse(record):
        calls.append(record.clip_id)
        raise AssertionError(f"{record.clip_id} extracted again instead of read from the cache")

    monkeypatch.setattr(egemaps, "clip_features", refuse)
    return calls


@pytest.mark.realdata
def test_real_clips_extracted_once_and_cached(tmp_path, monkeypatch):
    root = Path(os.environ.get("CMAF_RAVDESS_AUDIO_ROOT", REAL_ROOT))
    if not root.is_dir():
        pytest.skip(f"real RAVDESS speech not found at {root} (set CMAF_RAVDESS_AUDIO_ROOT)")
    scan = scan_dataset("ravdess", root, modality="audio")
    by_id = {r.clip_id: r for r in scan.records}
    records = [by_id[c] for c in REAL_CLIPS]

    t0 = time.perf_counter()
    first = egemaps.extract_egemaps(records, tmp_path, workers=2, progress=False)
    seconds = time.perf_counter() - t0
    assert first.problems == []
    assert (first.n_extracted, first.n_cached) == (len(records), 0)
    assert first.clip_ids == list(REAL_CLIPS)
    assert first.features.shape == (len(records), 88)
    assert first.features.dtype == np.float32
    assert np.all(np.isfinite(first.features))
    assert first.names == egemaps.feature_names()  # openSMILE's own names and order
    assert first.names[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"
    # Different clips give different features (not a constant or a mix-up of rows).
    assert len({row.tobytes() for row in first.features}) == len(records)
    print(f"eGeMAPS: {len(records)} real clips in {seconds:.1f} s (2 workers, incl. start-up)")

    # Second call: everything from the cache, openSMILE never runs (in-process, so the
    # monkeypatched extractor would see any attempt).
    calls = _forbid_extraction(monkeypatch)
    ids, matrix, names = egemaps.egemaps_features(records, tmp_path, workers=1, progress=False)
    assert calls == []
    assert ids == first.clip_ids and names == first.names
    np.testing.assert_array_equal(matrix, first.features)

    # Manifest-style rows (what load_manifest returns) address the same cache items.
    rows = [
        {"clip_id": r.clip_id, "audio_path": str(r.audio_path), "start": "", "end": ""}
        for r in records
    ]
    again = egemaps.extract_egemaps(rows, tmp_path, workers=1, progress=False)
    assert (again.n_extracted, again.n_cached) == (0, len(records))
    assert calls == []


@pytest.fixture
def fixture_clips(tmp_path):
    root = tmp_path / "ravdess"
    files = make_ravdess_tree(
        root, actors=(1,), emotions=(1, 3, 5), seconds=1.5, with_av=False, stereo=0
    )
    assert len(files) == 5
    return root, files


def test_corrupt_clip_is_one_line_and_others_extracted(fixture_clips, tmp_path, capsys):
    root, files = fixture_clips
    corrupt = files[2]
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 8)
    records = scan_dataset("ravdess", root, modality="audio").records
    assert len(records) == 5

    result = egemaps.extract_egemaps(records, tmp_path / "cache", workers=0, progress=True)
    err = capsys.readouterr().err
    assert [p.path for p in result.problems] == [corrupt]
    assert corrupt.stem not in result.clip_ids
    assert result.clip_ids == [r.clip_id for r in records if r.clip_id != corrupt.stem]
    assert result.features.shape == (4, 88) and np.all(np.isfinite(result.features))
    lines = [line for line in err.splitlines() if str(corrupt) in line]
    assert len(lines) == 1 and lines[0].startswith(f"{corrupt}: ")
    assert "egemaps: 4 clips (4 extracted, 0 from the cache), 1 problems" in err
    problems = (result.cache_dir / egemaps.PROBLEMS).read_text().splitlines()
    assert problems == [lines[0]]


def test_changed_source_is_extracted_again(fixture_clips, tmp_path, monkeypatch):
    root, files = fixture_clips
    records = scan_dataset("ravdess", root, modality="audio").records
    cache = tmp_path / "cache"
    first = egemaps.extract_egemaps(records, cache, workers=0, progress=False)
    assert first.n_extracted == 5

    # A rewritten source file (new mtime) invalidates its item only.
    stat = files[0].stat()
    os.utime(files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    extracted: list[str] = []
    real = egemaps.clip_features

    def counting(record):
        extracted.append(record.clip_id)
        return real(record)

    monkeypatch.setattr(egemaps, "clip_features", counting)
    second = egemaps.extract_egemaps(records, cache, workers=0, progress=False)
    assert extracted == [files[0].stem]
    assert (second.n_extracted, second.n_cached) == (1, 4)
    np.testing.assert_array_equal(second.features, first.features)
    # The cache directory names the feature set's settings, opensmile version included.
    assert egemaps.settings()["opensmile"] in (second.cache_dir / egemaps.CONFIG).read_text()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_caller_is_killed(tmp_path):
    # The pool of cmaf.data.cache.run_jobs, which the eGeMAPS extraction and prepare share.
    script = tmp_path / "caller.py"
    script.write_text(
        "import os, sys, time\n"
        "from cmaf.data.cache import worker_pool\n"
        "if __name__ == '__main__':\n"
        "    pool = worker_pool(2)\n"
        "    [f.result() for f in [pool.submit(os.getpid) for _ in range(4)]]\n"
        "    print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "    time.sleep(120)\n"
    )
    # stderr to a file: after the kill the caller's resource tracker reports the semaphores it
    # cleans up, which is expected here and would only clutter the test output.
    err = tmp_path / "stderr.txt"
    with open(err, "w") as err_fh:
        caller = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=err_fh,
            text=True,
            cwd=tmp_path,
        )
    workers: list[int] = []
    try:
        workers = [int(p) for p in caller.stdout.readline().split()]
        assert workers and all(process_alive(p) for p in workers), err.read_text()
        caller.send_signal(signal.SIGKILL)
        caller.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(process_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(process_alive(p) for p in workers), "workers outlived their killed caller"
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
        for pid in workers:  # what a failed check left running (started by this test)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
