"""Check a CREMA-D download against the official checksums (``cmaf verify``).

Git LFS downloads fail quietly (pointer files left in place, truncated transfers). The shipped
table ``cmaf/resources/crema-d-sha256.tsv.gz`` lists the path, SHA-256 and size of every media
file of the official repository, taken from its Git LFS pointers.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from cmaf.data.records import DataError, sha256_file

#: Statuses, in the order the summary reports them.
STATUSES = ("ok", "missing", "size-mismatch", "hash-mismatch", "extra")
SUBSETS = ("AudioWAV", "AudioMP3", "VideoFlash")
DEFAULT_SUBSETS = ("AudioWAV", "VideoFlash")


def default_table() -> Path:
    """Path of the checksum table shipped with the package."""
    # Beside the package files rather than importlib.resources: the editable install makes
    # ``cmaf`` resolve to a multiplexed path that resources.files() cannot join onto.
    return Path(__file__).resolve().parents[1] / "resources" / "crema-d-sha256.tsv.gz"


def load_table(path: str | Path | None = None) -> dict[str, tuple[str, int]]:
    """Read a checksum table: ``{relpath: (sha256, size)}``.

    The file (plain or ``.gz``) has tab-separated ``path``, ``sha256``, ``size_bytes`` columns;
    lines starting with ``#`` (the header) are skipped.
    """
    path = Path(path) if path is not None else default_table()
    opener = gzip.open if path.suffix == ".gz" else open
    table = {}
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3 or len(parts[1]) != 64 or not parts[2].isdigit():
                    raise DataError(
                        f"{path}:{number}: expected 'path<TAB>sha256<TAB>size', "
                        f"got {line.strip()!r}"
                    )
                table[parts[0]] = (parts[1].lower(), int(parts[2]))
    except OSError as exc:
        raise DataError(f"checksum table {path} unreadable ({exc})") from exc
    return table


def verify_crema_d(
    root: str | Path,
    subsets: tuple[str, ...] | list[str] = DEFAULT_SUBSETS,
    check_hash: bool = True,
    table: str | Path | None = None,
    progress: bool = False,
) -> list[tuple[str, str]]:
    """Compare the files under ``root`` (the CREMA-D clone) with the official checksums.

    Parameters
    ----------
    subsets
        Top-level folders to check. A subset absent from ``root`` reports all its files missing.
    check_hash
        ``False`` compares sizes only (finds missing, truncated and LFS-pointer files, not
        same-size alterations).
    table
        Checksum table to use instead of the shipped one.

    Returns
    -------
    list of (relpath, status)
        One entry per expected file, sorted, status ``ok``, ``missing``, ``size-mismatch``
        or ``hash-mismatch``; then files under the subsets absent from the table (``extra``).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise DataError(f"CREMA-D root {root} {what}: pass the clone of the official repository")
    expected = load_table(table)
    subsets = tuple(subsets)
    known = {p.split("/", 1)[0] for p in expected}
    unknown = [s for s in subsets if s not in known]
    if unknown:
        raise DataError(
            f"unknown subset(s) {', '.join(unknown)}: the table has {', '.join(sorted(known))}"
        )
    wanted = sorted(p for p in expected if p.split("/", 1)[0] in subsets)
    results = []
    for rel in tqdm(wanted, desc="verify crema-d", unit="file", disable=not progress):
        digest, size = expected[rel]
        path = root / rel
        try:
            actual_size = path.stat().st_size
        except FileNotFoundError:
            results.append((rel, "missing"))
            continue
        if actual_size != size:
            results.append((rel, "size-mismatch"))
        elif check_hash and sha256_file(path) != digest:
            results.append((rel, "hash-mismatch"))
        else:
            results.append((rel, "ok"))
    extras = []
    for subset in subsets:
        folder = root / subset
        if folder.is_dir():
            for path in folder.rglob("*"):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and rel not in expected:
                    extras.append((rel, "extra"))
    return results + sorted(extras)


def summarize(results: list[tuple[str, str]]) -> str:
    counts = Counter(status for _rel, status in results)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s] or s == "ok"]
    return f"crema-d: {len(results)} files checked: " + ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    subsets = tuple(dict.fromkeys(args.subset or DEFAULT_SUBSETS))
    try:
        results = verify_crema_d(
            args.root,
            subsets=subsets,
            check_hash=not args.quick,
            table=args.table,
            progress=not args.no_progress,
        )
    except DataError as exc:
        print(f"cmaf verify: {exc}", file=sys.stderr)
        return 2
    # A subset folder absent altogether is one line, not 7442.
    absent = {s for s in subsets if not (Path(args.root) / s).is_dir()}
    for subset in sorted(absent):
        count = sum(1 for rel, _status in results if rel.split("/", 1)[0] == subset)
        print(f"missing: {subset}/ (whole folder absent, {count} files)")
    for rel, status in results:
        if status != "ok" and rel.split("/", 1)[0] not in absent:
            print(f"{status}: {rel}")
    print(summarize(results) + (" (sizes only: --quick)" if args.quick else ""))
    return 0 if all(status == "ok" for _rel, status in results) else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a dataset download against the official checksums",
        description=(
            "Check a CREMA-D download against the official SHA-256 checksums and sizes. Prints "
            "one line per bad file (missing / size-mismatch / hash-mismatch / extra) and a "
            "summary; exits 0 when every file is intact, 1 otherwise, 2 on a usage error."
        ),
    )
    parser.add_argument("--dataset", default="crema-d", choices=["crema-d"])
    parser.add_argument("--root", required=True, type=Path, help="the CREMA-D clone")
    parser.add_argument(
        "--subset",
        action="append",
        choices=SUBSETS,
        help=f"folder to check (repeatable; default: {' and '.join(DEFAULT_SUBSETS)})",
    )
    parser.add_argument("--quick", action="store_true", help="compare sizes only, no hashing")
    parser.add_argument("--table", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
