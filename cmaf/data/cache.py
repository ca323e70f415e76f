"""The preprocessing cache: one ``.npz`` per clip, written once, safe to interrupt.

Layout (``HASH`` is :meth:`PreprocessConfig.config_hash`, so caches of different settings never
mix)::

    CACHE_ROOT/HASH/config.json          the full PreprocessConfig
    CACHE_ROOT/HASH/classes.json         class names in label-index order
    CACHE_ROOT/HASH/items/CLIP_ID.npz    mel float32 (n_mels, mel_frames), frames uint8 (T, S, S, 3)
    CACHE_ROOT/HASH/items/CLIP_ID.json   sha256 and size of the .npz as written (re-runs check it)
    CACHE_ROOT/HASH/manifest.csv         one row per usable clip, sorted by clip_id
    CACHE_ROOT/HASH/problems.txt         one "path: reason" line per skipped file, sorted

Writes are atomic, items byte-deterministic and verified (not recomputed) by re-runs, and every
reader goes through :func:`read_item`; the book's data-pipeline page lists these guarantees.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import multiprocessing as mp
import os
import re
import sys
import threading
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import av
import numpy as np

from cmaf.data.preprocessing import PreprocessConfig, check_dependencies, preprocess
from cmaf.data.records import ClipRecord, DataError, Problem, sha256_file

MANIFEST = "manifest.csv"
PROBLEMS = "problems.txt"
CONFIG = "config.json"
CLASSES = "classes.json"
ITEMS = "items"

#: Manifest columns before the (sorted) meta fields, and after them.
BASE_COLUMNS = (
    "clip_id",
    "dataset",
    "label",
    "label_index",
    "speaker",
    "group",
    "start",
    "end",
    "audio_path",
    "video_path",
)
TAIL_COLUMNS = ("item", "sha256", "bytes")

# A fixed zip timestamp makes item files byte-identical between runs (zip's epoch, 1980).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: The fix named by every message about a damaged or missing item.
_REBUILD = "re-run `cmaf prepare` with the same settings, which rebuilds it"


@dataclass(frozen=True)
class ItemInfo:
    """A cached item on disk: its clip, content hash and size."""

    clip_id: str
    sha256: str
    bytes: int


@dataclass
class PrepareResult:
    """What :func:`prepare` did.

    Attributes
    ----------
    cache_dir
        ``cache_root / config_hash``: what :class:`cmaf.data.dataset.CachedClips` reads.
    n_processed
        Items written by this call, damaged ones rebuilt included (0 over an intact cache).
    n_cached
        Items already present and reused.
    n_failed
        Clips skipped because their media failed in this call.
    problems
        Skipped files (scan problems passed in, plus media failures), sorted.
    """

    cache_dir: Path
    n_records: int = 0
    n_processed: int = 0
    n_cached: int = 0
    n_failed: int = 0
    total_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def n_usable(self) -> int:
        """Clips present in the manifest."""
        return self.n_processed + self.n_cached

    @property
    def bytes_per_clip(self) -> float:
        return self.total_bytes / self.n_usable if self.n_usable else 0.0

    @property
    def manifest_path(self) -> Path:
        return self.cache_dir / MANIFEST

    @property
    def problems_path(self) -> Path:
        return self.cache_dir / PROBLEMS


# ------------------------------------------------------------------------------ file writing


def item_name(clip_id: str) -> str:
    """File stem for a clip id (anything outside ``[A-Za-z0-9._-]`` becomes ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", clip_id)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems do not allow opening directories
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: Path, write, durable: bool = True) -> None:
    """Call ``write(fh)`` on a temporary ``.NAME.PID.tmp`` beside ``path``, then rename it.

    Readers see the old file or the new one, never a part. ``durable=False`` skips the fsyncs
    (atomic against a killed process, not a power cut) for files that can be rebuilt.
    """
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`_write_atomically`)."""
    _write_atomically(path, lambda fh: fh.write(data), durable)


def write_if_changed(path: Path, data: bytes) -> None:
    """:func:`atomic_write_bytes`, unless ``path`` already holds exactly ``data``."""
    if not path.exists() or path.read_bytes() != data:
        atomic_write_bytes(path, data)


def write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """Write an uncompressed ``.npz`` (what :func:`numpy.load` reads) with deterministic bytes.

    Unlike :func:`numpy.savez`, members get a fixed timestamp, so the file's sha256 depends on the
    arrays only. Uncompressed: decoded video barely compresses, and zlib would cost more than
    decoding.
    """
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            array = np.ascontiguousarray(arrays[name])
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.file_size = array.nbytes + 128  # an upper bound: zipfile picks zip64 from it
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes :func:`write_npz` writes, in memory."""
    buffer = io.BytesIO()
    write_npz(buffer, arrays)
    return buffer.getvalue()


def _write_sidecar(items_dir: Path, info: ItemInfo) -> None:
    sidecar = {"bytes": info.bytes, "clip_id": info.clip_id, "sha256": info.sha256}
    # Not fsynced: a sidecar lost in a power cut is rebuilt once the item's CRC-32s check out.
    path = items_dir / f"{item_name(info.clip_id)}.json"
    atomic_write_bytes(path, json.dumps(sidecar).encode(), durable=False)


def write_item(items_dir: Path, clip_id: str, arrays: dict[str, np.ndarray]) -> ItemInfo:
    """Atomically write one clip's arrays and its sidecar; returns hash and size."""
    path = items_dir / f"{item_name(clip_id)}.npz"
    _write_atomically(path, lambda fh: write_npz(fh, arrays))
    # Hashing the file just written reads it back from the page cache (cheap) and covers
    # exactly the bytes a reader gets.
    info = ItemInfo(clip_id, sha256_file(path), path.stat().st_size)
    # The sidecar records the item as written, for re-runs to verify it against; written after
    # the item, so a kill in between leaves an item without sidecar, which
    # :func:`_existing_info` checks by its zip CRC-32s instead.
    _write_sidecar(items_dir, info)
    return info


def _existing_info(items_dir: Path, clip_id: str) -> tuple[ItemInfo | None, str | None]:
    """An item already on disk, verified.

    ``(info, None)`` if intact, ``(None, None)`` if absent, ``(None, reason)`` if damaged.
    """
    stem = item_name(clip_id)
    path = items_dir / f"{stem}.npz"
    if path.is_symlink():
        # prepare writes regular files only: whatever a link points at is not an item it made.
        return None, "a symbolic link"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, None
    try:
        side = json.loads((items_dir / f"{stem}.json").read_text())
    except (OSError, ValueError):
        side = None
    if isinstance(side, dict) and side.get("clip_id") == clip_id:
        # The sidecar was written from the item's own bytes right after the item: any
        # difference now means the item changed since.
        if side.get("bytes") != size:
            return None, f"{size} bytes, its sidecar says {side.get('bytes')}"
        try:
            digest = sha256_file(path)
        except OSError as exc:
            return None, f"unreadable: {exc.strerror or exc.__class__.__name__}"
        if digest != side.get("sha256"):
            return None, "sha256 differs from its sidecar"
        return ItemInfo(clip_id, digest, size), None
    # No sidecar (a kill between writing the item and its sidecar): the CRC-32 that every
    # stored zip member carries tells whether the item is whole; then its hash makes the sidecar.
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        digest = sha256_file(path)
    except (OSError, EOFError, ValueError, NotImplementedError, zipfile.BadZipFile) as exc:
        return None, f"unreadable: {exc.__class__.__name__}"
    if bad is not None:
        return None, f"its member {bad} fails its CRC-32"
    info = ItemInfo(clip_id, digest, size)
    _write_sidecar(items_dir, info)
    return info, None


def is_temporary(name: str) -> bool:
    """Whether a file name is an atomic writer's temporary (``.NAME.PID.tmp``)."""
    return _TMP.match(name) is not None


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files left by killed runs (their writer process no longer exists)."""
    for path in directory.glob(".*.tmp"):
        match = _TMP.match(path.name)
        if not match:
            continue
        pid = int(match["pid"])
        try:
            os.kill(pid, 0)
            alive = pid != os.getpid()  # our own pid cannot be writing yet
        except ProcessLookupError:
            alive = False
        except PermissionError:  # exists, owned by someone else
            alive = True
        if not alive:
            path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ reading


class CacheItemError(DataError):
    """A cache item that cannot be used: one line naming the file (or manifest row) and the fix.

    torch re-raises a DataLoader worker's error as ``CacheItemError(text)``, ``text`` ending in
    the worker's traceback and the original ``module.CacheItemError: message`` line; only that
    message is kept, so the error stays one line wherever the item was read.
    """

    def __init__(self, message: str) -> None:
        lines = str(message).rstrip().splitlines()
        name = f"{type(self).__module__}.{type(self).__qualname__}: "
        if len(lines) > 1 and lines[-1].startswith(name):
            message = lines[-1][len(name) :]
        super().__init__(message)


def _manifest_error(cache_dir: Path, row: Mapping[str, str], problem: str) -> CacheItemError:
    return CacheItemError(
        f"{cache_dir / MANIFEST}: clip {row.get('clip_id') or '?'}: {problem}; re-run "
        "`cmaf prepare` with the same settings, which rewrites it"
    )


def _locate(cache_dir: Path, row: Mapping[str, str]) -> tuple[Path, Path, int, str]:
    """``(path, real_path, bytes, sha256)`` of a manifest row's item, checked to lie in the cache.

    ``path`` is the name messages use; ``real_path`` (links resolved) is the file checked and read.
    """
    item = row.get("item") or ""
    # Spelled-out escapes (an absolute path, "..", a drive) are the manifest's fault and get its
    # message; both spellings are checked, since a manifest may have been written elsewhere.
    pure = PurePosixPath(item.replace("\\", "/"))
    if not item or pure.is_absolute() or PureWindowsPath(item).anchor or ".." in pure.parts:
        raise _manifest_error(cache_dir, row, f"item {item!r} is not a path inside the cache")
    # A row cut short (its fields None), edited or without the columns is the manifest's fault.
    try:
        size = int(row.get("bytes") or "")
    except ValueError:
        size = -1
    sha256 = row.get("sha256") or ""
    if size < 0 or not _SHA256.match(sha256):
        raise _manifest_error(cache_dir, row, "its bytes or sha256 are missing or malformed")
    path = cache_dir / item
    # Links may still lead anywhere: whatever the spelling, the file read must be in the cache.
    real = path.resolve()
    if not real.is_relative_to(cache_dir.resolve()):
        raise CacheItemError(f"{path}: cache item leads outside the cache (to {real}); {_REBUILD}")
    return path, real, size, sha256


def _item_missing(path: Path, exc: OSError) -> CacheItemError:
    if isinstance(exc, FileNotFoundError):
        return CacheItemError(f"{path}: cache item missing; {_REBUILD}")
    return CacheItemError(f"{path}: cache item unreadable ({exc.strerror or exc}); {_REBUILD}")


def _wrong_size(path: Path, found: int, size: int) -> CacheItemError:
    return CacheItemError(
        f"{path}: damaged cache item ({found} bytes, {MANIFEST} says {size}); {_REBUILD}"
    )


def check_items(cache_dir: str | Path, rows: Iterable[Mapping[str, str]]) -> None:
    """Check that every manifest row's item lies inside ``cache_dir`` and has the row's size.

    One ``stat`` per item, so a misplaced, missing or truncated item stops a command before it
    starts work; :func:`read_item` checks the content.

    Raises
    ------
    CacheItemError
        At the first bad row: one line naming the item (or manifest row) and the fix.
    """
    cache_dir = Path(cache_dir)
    for row in rows:
        path, real, size, _ = _locate(cache_dir, row)
        try:
            found = real.stat().st_size
        except OSError as exc:
            raise _item_missing(path, exc) from None
        if found != size:
            raise _wrong_size(path, found, size)


def read_item(
    cache_dir: str | Path, row: Mapping[str, str], skip: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """The arrays (``"mel"``, ``"frames"``) of a manifest row's item, checked first.

    Every reader of a prepared cache goes through here. The file is read once, hashed and loaded
    from memory, so what was checked is what is returned.

    Parameters
    ----------
    cache_dir
        The prepared directory (``CACHE_ROOT/HASH``) holding ``manifest.csv``.
    row
        One row of its manifest (:func:`cmaf.data.dataset.load_manifest`).
    skip
        Members not to decode (``{"frames"}`` when only the log-Mel is wanted).

    Raises
    ------
    CacheItemError
        The item lies outside the cache, is missing, has another size or sha256 than the row
        says, or does not load: one line naming the file and the fix.
    """
    cache_dir = Path(cache_dir)
    path, real, size, sha256 = _locate(cache_dir, row)
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise _item_missing(path, exc) from None
    if len(data) != size:
        raise _wrong_size(path, len(data), size)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CacheItemError(
            f"{path}: damaged cache item (sha256 differs from {MANIFEST}); {_REBUILD}"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as item:
            return {name: item[name] for name in item.files if name not in skip}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise CacheItemError(
            f"{path}: unreadable cache item ({exc.__class__.__name__}); {_REBUILD}"
        ) from exc


# ------------------------------------------------------------------------------ workers

#: Errors of one clip's media: the clip is skipped with a problem line, the others go on.
MEDIA_ERRORS = (DataError, OSError, RuntimeError, ValueError, av.error.FFmpegError)


def problem_from(record: ClipRecord, exc: BaseException) -> Problem:
    """Split a ``"path: reason"`` error message into a :class:`Problem`."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    candidates = [p for p in (record.audio_path, record.video_path) if p is not None]
    for path in candidates:
        prefix = f"{path}: "
        if message.startswith(prefix):
            return Problem(Path(path), message[len(prefix) :])
    path = record.video_path or record.audio_path or Path(record.clip_id)
    if not isinstance(exc, DataError):
        message = f"{exc.__class__.__name__}: {message}"
    return Problem(Path(path), message)


def _process_one(
    record: ClipRecord, cfg: PreprocessConfig, items_dir: Path
) -> tuple[str, ItemInfo | None, Problem | None]:
    """Preprocess and write one clip; media failures come back as a Problem, not an exception."""
    try:
        arrays = preprocess(record, cfg)
    except MEDIA_ERRORS as exc:
        return record.clip_id, None, problem_from(record, exc)
    return record.clip_id, write_item(items_dir, record.clip_id, arrays), None


def _exit_with_caller(lifeline) -> None:
    """Block until every write end of ``lifeline`` is closed, then end this worker at once."""
    with contextlib.suppress(OSError):
        lifeline.poll(None)  # the caller never writes: this returns at end-of-file
    os._exit(1)


def _init_worker(lifeline) -> None:
    # A pool's workers notice neither their caller's death (kill -9, an OOM kill) nor, under
    # forkserver, their parent's: the fork server outlives the caller. So each worker watches a
    # pipe whose only write end is in the caller, which the kernel closes when the caller dies.
    watcher = threading.Thread(
        target=_exit_with_caller, args=(lifeline,), name="exit-with-caller", daemon=True
    )
    watcher.start()
    import torch

    # Two workers on two cores: more threads per worker would only oversubscribe them.
    torch.set_num_threads(1)


def check_clip_ids(ids: Sequence[str]) -> None:
    """Raise ``ValueError`` on duplicate clip ids, or ids that collide as item file names."""
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate clip ids: {', '.join(dupes[:5])}")
    if len({item_name(i) for i in ids}) != len(ids):
        raise ValueError("clip ids collide once made file-name safe")


def open_cache_dir(cache_dir: Path) -> Path:
    """Create ``cache_dir/items``, clear both of killed runs' temporaries, return the items dir."""
    items_dir = cache_dir / ITEMS
    items_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(items_dir)
    remove_stale_temporaries(cache_dir)
    return items_dir


def run_jobs(
    task, jobs: Sequence[tuple], workers: int, desc: str, progress: bool, notes: Iterable[str] = ()
) -> tuple[dict[str, object], list[Problem]]:
    """Run ``task(*job) -> (clip_id, value, problem)`` for every job under a progress bar.

    Jobs run in ``workers`` processes of :func:`worker_pool` (in this process when
    ``workers <= 1`` or there is one job) and are collected as they finish; an exception (or
    Ctrl-C) cancels the jobs not yet started and propagates. ``notes``, then each problem, print
    one line on stderr.

    Returns
    -------
    values, problems
        ``{clip_id: value}`` of the jobs that gave a value, and the problems of the others.
    """
    from tqdm import tqdm

    values: dict[str, object] = {}
    problems: list[Problem] = []
    bar = tqdm(total=len(jobs), disable=not progress, unit="clip", desc=desc, file=sys.stderr)
    for line in notes:
        bar.write(line, file=sys.stderr)

    def collect(clip_id: str, value: object, problem: Problem | None) -> None:
        if value is not None:
            values[clip_id] = value
        else:
            problems.append(problem)
            bar.write(str(problem), file=sys.stderr)
        bar.update()

    try:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                collect(*task(*job))
        else:
            with worker_pool(min(workers, len(jobs))) as pool:
                futures = [pool.submit(task, *job) for job in jobs]
                try:
                    for future in as_completed(futures):
                        collect(*future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        bar.close()
    return values, problems


def write_problems(cache_dir: Path, problems: Iterable[Problem]) -> list[Problem]:
    """Write the distinct problems, sorted, to ``problems.txt``, and return them."""
    problems = sorted(set(problems), key=lambda p: (str(p.path), p.reason))
    atomic_write_bytes(cache_dir / PROBLEMS, "".join(f"{p}\n" for p in problems).encode())
    return problems


class _WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers exit as soon as the process that made it dies.

    It keeps the write end of the workers' lifeline (see :func:`_init_worker`); the pipe
    closes with the pool object or with this process.
    """

    def __init__(self, workers: int, ctx) -> None:
        lifeline, self._lifeline = ctx.Pipe(duplex=False)
        super().__init__(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(lifeline,)
        )


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The pool of :func:`run_jobs`, whose workers exit when the caller dies (even by kill -9)."""
    # forkserver: children fork from a clean server that has imported torch once, so they start
    # fast and never inherit a parent's OpenMP state (plain fork after torch use can deadlock).
    try:
        ctx = mp.get_context("forkserver")
        # torchaudio is imported lazily by preprocessing; preloading it here spares each worker
        # that import on its first clip.
        ctx.set_forkserver_preload(
            ["cmaf.data.cache", "torchaudio.functional", "torchaudio.transforms"]
        )
    except ValueError:  # platforms without forkserver
        ctx = mp.get_context("spawn")
    return _WorkerPool(workers, ctx)


# ------------------------------------------------------------------------------ manifest


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def manifest_bytes(
    records: Sequence[ClipRecord], infos: dict[str, ItemInfo], classes: Sequence[str]
) -> bytes:
    """The manifest CSV for the records that have an item, sorted by clip_id.

    Columns: :data:`BASE_COLUMNS`, every meta key of ``records`` (sorted; ``meta_KEY`` when it
    clashes with another column), :data:`TAIL_COLUMNS`.
    """
    taken = set(BASE_COLUMNS) | set(TAIL_COLUMNS)
    meta = sorted({key for r in records for key in r.meta})
    columns = [*BASE_COLUMNS, *(k if k not in taken else f"meta_{k}" for k in meta), *TAIL_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in sorted(records, key=lambda r: r.clip_id):
        info = infos.get(record.clip_id)
        if info is None:
            continue
        row = {
            "clip_id": record.clip_id,
            "dataset": record.dataset,
            "label": record.label,
            "label_index": classes.index(record.label),
            "speaker": record.speaker,
            "group": record.group,
            "start": record.start,
            "end": record.end,
            "audio_path": record.audio_path,
            "video_path": record.video_path,
            "item": f"{ITEMS}/{item_name(record.clip_id)}.npz",
            "sha256": info.sha256,
            "bytes": info.bytes,
        }
        for key, value in record.meta.items():
            row[key if key not in taken else f"meta_{key}"] = value
        writer.writerow([_fmt(row.get(c)) for c in columns])
    return buffer.getvalue().encode()


# ------------------------------------------------------------------------------ prepare


def prepare(
    records: Iterable[ClipRecord],
    cache_root: str | Path,
    cfg: PreprocessConfig,
    workers: int = 2,
    progress: bool = True,
    classes: Sequence[str] | None = None,
    scan_problems: Iterable[Problem] = (),
) -> PrepareResult:
    """Preprocess every record into the cache; items already there are verified, not redone.

    Parameters
    ----------
    records
        Clips to cache (from :func:`cmaf.data.registry.scan_dataset`); clip ids must be unique.
    cache_root
        Parent of the per-config cache directories.
    workers
        Worker processes; ``0`` or ``1`` works in this process. With more, a script calling
        this must guard its entry point with ``if __name__ == "__main__":`` (forkserver).
    progress
        Show a tqdm bar and a closing summary line on stderr.
    classes
        Label order for ``label_index`` (``cmaf.data.registry.classes_for``); ``None`` sorts
        the labels present.
    scan_problems
        Problems the loader already found; they go into ``problems.txt`` too.

    Returns
    -------
    PrepareResult
        Media failures never raise: each prints one ``path: reason`` line on stderr and is
        listed in ``problems.txt``. Each damaged item found prints one line and is rebuilt.

    Raises
    ------
    ValueError
        Duplicate clip ids or labels outside ``classes``.
    DataError
        ``cfg`` needs a missing optional package (OpenCV for ``face_crop``).
    """
    check_dependencies(cfg)
    records = list(records)
    check_clip_ids([r.clip_id for r in records])
    classes = list(classes) if classes is not None else sorted({r.label for r in records})
    unknown = sorted({r.label for r in records} - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown} are not in the class list {classes}")

    cache_dir = Path(cache_root) / cfg.config_hash()
    items_dir = open_cache_dir(cache_dir)
    write_if_changed(cache_dir / CONFIG, cfg.to_json().encode())
    # The full class list, so a class with no usable clip still keeps its index downstream.
    write_if_changed(cache_dir / CLASSES, (json.dumps(list(classes)) + "\n").encode())

    result = PrepareResult(cache_dir=cache_dir, n_records=len(records))
    infos: dict[str, ItemInfo] = {}
    todo: list[ClipRecord] = []
    damaged: list[str] = []
    for record in records:
        info, damage = _existing_info(items_dir, record.clip_id)
        if info is not None:
            infos[record.clip_id] = info
            continue
        todo.append(record)
        if damage is not None:
            path = items_dir / f"{item_name(record.clip_id)}.npz"
            damaged.append(f"{path}: damaged cache item ({damage}); rebuilding it")
            # Removed now, so that a clip whose media fails this time leaves no damaged file.
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
    result.n_cached = len(infos)
    jobs = [(r, cfg, items_dir) for r in todo]
    written, failures = run_jobs(_process_one, jobs, workers, "prepare", progress, damaged)
    infos.update(written)
    result.n_processed = len(written)
    result.n_failed = len(failures)
    result.total_bytes = sum(i.bytes for i in infos.values())
    atomic_write_bytes(cache_dir / MANIFEST, manifest_bytes(records, infos, classes))
    result.problems = write_problems(cache_dir, [*scan_problems, *failures])
    if progress:
        print(
            f"prepare: {result.n_usable} clips cached ({result.n_processed} new, "
            f"{result.n_cached} already there), {len(result.problems)} problems, "
            f"{result.bytes_per_clip / 1e6:.2f} MB per clip in {cache_dir}",
            file=sys.stderr,
        )
    return result
