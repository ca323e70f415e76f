"""CREMA-D integrity check (cmaf.data.verify) against a small custom checksum table."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pytest

from cmaf.data import verify
from cmaf.data.records import DataError

FILES = {
    "AudioWAV/1001_DFA_ANG_XX.wav": b"RIFF-angry" * 50,
    "AudioWAV/1001_DFA_DIS_XX.wav": b"RIFF-disgust" * 50,
    "AudioWAV/1001_DFA_FEA_XX.wav": b"RIFF-fear" * 50,
    "AudioWAV/1001_DFA_HAP_XX.wav": b"RIFF-happy" * 50,
    "VideoFlash/1001_DFA_ANG_XX.flv": b"FLV-angry" * 80,
    "AudioMP3/1001_DFA_ANG_XX.mp3": b"ID3-angry" * 30,
}


@pytest.fixture()
def damaged(tmp_path) -> tuple[Path, Path]:
    """A root with one file intact per status: ok, missing, truncated, altered, extra."""
    table = tmp_path / "table.tsv"
    lines = ["# path\tsha256\tsize_bytes"]
    lines += [
        f"{rel}\t{hashlib.sha256(data).hexdigest()}\t{len(data)}" for rel, data in FILES.items()
    ]
    table.write_text("\n".join(lines) + "\n")
    root = tmp_path / "crema-d"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "AudioWAV/1001_DFA_DIS_XX.wav").unlink()  # missing
    truncated = root / "AudioWAV/1001_DFA_FEA_XX.wav"
    truncated.write_bytes(truncated.read_bytes()[:100])
    altered = root / "AudioWAV/1001_DFA_HAP_XX.wav"
    altered.write_bytes(altered.read_bytes().replace(b"happy", b"HAPPY", 1))  # same size
    (root / "VideoFlash/1001_DFA_ANG_XX (1).flv").write_bytes(b"copy")  # extra
    return root, table


def test_statuses(damaged):
    root, table = damaged
    results = dict(verify.verify_crema_d(root, table=table))
    assert results == {
        "AudioWAV/1001_DFA_ANG_XX.wav": "ok",
        "AudioWAV/1001_DFA_DIS_XX.wav": "missing",
        "AudioWAV/1001_DFA_FEA_XX.wav": "size-mismatch",
        "AudioWAV/1001_DFA_HAP_XX.wav": "hash-mismatch",
        "VideoFlash/1001_DFA_ANG_XX.flv": "ok",
        "VideoFlash/1001_DFA_ANG_XX (1).flv": "extra",
    }


def test_quick_mode_and_subsets(damaged):
    root, table = damaged
    quick = dict(verify.verify_crema_d(root, table=table, check_hash=False))
    assert quick["AudioWAV/1001_DFA_HAP_XX.wav"] == "ok"  # same size: only a hash sees it
    assert quick["AudioWAV/1001_DFA_FEA_XX.wav"] == "size-mismatch"
    mp3 = verify.verify_crema_d(root, subsets=("AudioMP3",), table=table)
    assert mp3 == [("AudioMP3/1001_DFA_ANG_XX.mp3", "ok")]
    with pytest.raises(DataError) as exc:
        verify.verify_crema_d(root, subsets=("VideoMP4",), table=table)
    assert "VideoMP4" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(DataError):
        verify.verify_crema_d(root / "nowhere", table=table)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    verify.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_command_line(damaged, capsys):
    root, table = damaged
    code = _run(["verify", "--root", str(root), "--table", str(table), "--no-progress"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "missing: AudioWAV/1001_DFA_DIS_XX.wav" in out
    assert "size-mismatch: AudioWAV/1001_DFA_FEA_XX.wav" in out
    assert "hash-mismatch: AudioWAV/1001_DFA_HAP_XX.wav" in out
    assert "extra: VideoFlash/1001_DFA_ANG_XX (1).flv" in out
    assert out[-1] == (
        "crema-d: 6 files checked: 2 ok, 1 missing, 1 size-mismatch, 1 hash-mismatch, 1 extra"
    )
    code = _run(["verify", "--root", str(root), "--table", str(table), "--subset", "AudioMP3"])
    assert code == 0
    assert capsys.readouterr().out.strip() == "crema-d: 1 files checked: 1 ok"
    assert _run(["verify", "--root", str(root / "none"), "--table", str(table)]) == 2
    capsys.readouterr()
    args = ["verify", "--root", str(root), "--table", str(table), "--subset", "AudioMP3"]
    (root / "AudioMP3" / "1001_DFA_ANG_XX.mp3").unlink()
    (root / "AudioMP3").rmdir()
    assert _run(args) == 1
    assert capsys.readouterr().out.splitlines() == [
        "missing: AudioMP3/ (whole folder absent, 1 files)",
        "crema-d: 1 files checked: 0 ok, 1 missing",
    ]


def test_shipped_table():
    table = verify.load_table()
    assert len(table) == 3 * 7442
    digest, size = table["AudioWAV/1001_DFA_ANG_XX.wav"]
    assert len(digest) == 64 and size > 1000
    assert {rel.split("/")[0] for rel in table} == set(verify.SUBSETS)
    shared = Path(__file__).resolve().parents[1].parent / "shared/data/crema-d/official-sha256.tsv"
    if shared.is_file():
        assert table == verify.load_table(shared)


def test_bad_table_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# path\tsha256\tsize_bytes\nAudioWAV/x.wav\tnothex\t12\n")
    with pytest.raises(DataError) as exc:
        verify.load_table(bad)
    assert "bad.tsv:2" in str(exc.value)
