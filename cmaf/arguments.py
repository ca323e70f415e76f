"""Checks of what a user types: integer lists, output folders and output files.

Every command checks its arguments here before any work starts, so bad input costs one line
(what, where, how to fix) and never a half-finished run. The errors are ``ValueError``
subclasses, which :func:`cmaf.cli.main` prints as one line.
"""

from __future__ import annotations

import argparse
import errno
import os
import tempfile
from pathlib import Path


class UsageError(ValueError):
    """A command-line argument that cannot work; the message names the flag and the fix."""


def int_list(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` → ``(0, 1, 2)``; an ``argparse`` type, so a bad value names its flag."""
    values = optional_int_list(text)
    if not values:
        raise argparse.ArgumentTypeError("give at least one integer (e.g. 0 or 0,1,2)")
    return values


def optional_int_list(text: str) -> tuple[int, ...]:
    """Like :func:`int_list`, but ``""`` is allowed and means none (``--folds ''``)."""
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers (e.g. 0,1,2)"
        ) from None
    if any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"{text!r}: negative values are not allowed")
    return values


def os_reason(exc: OSError) -> str:
    """Why an ``OSError`` happened, with the fix for the usual cases, in a few words."""
    if exc.errno == errno.ENAMETOOLONG:
        return "the path or one of its names is too long for this file system; choose a shorter one"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "no permission to write there; choose a location you can write to"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a folder; choose another location"
    return exc.strerror or str(exc)


def existing(path: str | Path, flag: str) -> bool:
    """Whether ``path`` exists; a path that cannot even be looked at (an over-long name, no
    permission) raises :class:`UsageError` naming ``flag``."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {os_reason(exc)}") from None
    return True


def one_line(exc: BaseException) -> str:
    """An exception as one line: the message's first line; for an ``OSError``, file and reason."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return where + os_reason(exc)
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def output_dir(path: str | Path, flag: str) -> Path:
    """Create the output folder ``path`` (with parents), or raise :class:`UsageError` naming
    ``flag``, the path and the fix: for an existing file, a location that cannot be created (an
    over-long name, a parent that is a file, no permission) or a folder this user cannot write
    into."""
    path = Path(path).expanduser()
    if existing(path, flag) and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot create the folder: {os_reason(exc)}") from None
    # Try, rather than ask: permissions, read-only mounts and special file systems (/proc)
    # all show up as a failed write, and os.access answers "yes" to root regardless.
    try:
        with tempfile.TemporaryFile(dir=path, prefix=".cmaf-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write into it: {os_reason(exc)}") from None
    return path


def output_file(path: str | Path, flag: str, *, force: bool = False) -> Path:
    """Check that ``path`` can be written as a new file (or replaced, with ``force``), creating
    its parent folder; a folder is refused, and so is an existing file unless ``force``
    (:class:`UsageError` naming ``flag``, the path and the fix)."""
    path = Path(path).expanduser()
    if existing(path, flag):
        if path.is_dir():
            raise UsageError(f"{flag} {path}: is a folder; give a file name")
        if not force:
            raise UsageError(f"{flag} {path}: exists; pass --force to replace it or choose another")
    output_dir(path.parent, flag)
    if len(path.name.encode()) > os.pathconf(path.parent, "PC_NAME_MAX"):
        raise UsageError(
            f"{flag} {path}: the file name is too long for this file system; choose a shorter one"
        )
    return path
