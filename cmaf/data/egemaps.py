"""eGeMAPS v02 functionals (88 acoustic parameters per clip), extracted once and cached.

The extended Geneva Minimalistic Acoustic Parameter Set (Eyben et al. 2016, IEEE Trans.
Affective Computing 7(2):190-202, doi:10.1109/TAFFC.2015.2457417) summarises 25 frame-level
descriptors over the whole utterance. openSMILE computes it offline, through the ``opensmile``
package, on the clip's whole audio (the record's segment) read exactly as the log-Mel cache
reads it (mono, 16 kHz). openSMILE is © audEERING GmbH, free for research and non-commercial use
only; this module only calls it. Features are cached in ``CACHE_ROOT/egemaps-HASH`` (``HASH``
covers :func:`settings`), one item per clip, recomputed when its source file changes; the book's
data-pipeline page gives the layout.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from cmaf.data.cache import (
    BASE_COLUMNS,
    MEDIA_ERRORS,
    PROBLEMS,
    TAIL_COLUMNS,
    atomic_write_bytes,
    check_clip_ids,
    item_name,
    npz_bytes,
    open_cache_dir,
    problem_from,
    run_jobs,
    write_if_changed,
    write_problems,
)
from cmaf.data.preprocessing import PreprocessConfig, _full_waveform, audio_source
from cmaf.data.records import ClipRecord, DataError, Problem

FEATURE_SET = "eGeMAPSv02"
FEATURE_LEVEL = "Functionals"
#: Rate the audio is resampled to before openSMILE (the log-Mel cache's rate).
SAMPLE_RATE = 16_000
N_FEATURES = 88
#: Rule for the samples given to openSMILE (recorded in config.json and in the cache hash).
SEGMENT = "whole clip (the record's start/end segment when set), mono mean, 16 kHz"

CONFIG = "config.json"
NAMES = "feature_names.json"


@dataclass
class EgemapsResult:
    """What :func:`extract_egemaps` returns.

    Attributes
    ----------
    clip_ids
        Clips with features, in the order they were given (failed clips left out).
    features
        ``float32 (len(clip_ids), 88)``, in the column order of ``names`` (openSMILE's).
    problems
        Clips skipped by this call (unreadable audio, openSMILE failure), sorted by path.
    n_extracted, n_cached
        Clips run through openSMILE by this call, and clips read from the cache.
    """

    cache_dir: Path
    clip_ids: list[str]
    features: np.ndarray
    names: list[str]
    problems: list[Problem] = field(default_factory=list)
    n_extracted: int = 0
    n_cached: int = 0


# ------------------------------------------------------------------------------ settings


def settings() -> dict[str, object]:
    """Everything that shapes the features (what the cache directory's hash covers)."""
    return {
        "feature_level": FEATURE_LEVEL,
        "feature_set": FEATURE_SET,
        "opensmile": package_version("opensmile"),
        "sample_rate": SAMPLE_RATE,
        "segment": SEGMENT,
    }


def cache_dir_for(cache_root: str | Path) -> Path:
    """``cache_root / "egemaps-HASH"`` for the installed opensmile and this module's settings."""
    text = json.dumps(settings(), sort_keys=True)
    return Path(cache_root) / f"egemaps-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


@functools.lru_cache(maxsize=1)
def _smile():
    """One openSMILE instance per process (building it parses the feature config)."""
    import opensmile

    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, FEATURE_SET),
        feature_level=getattr(opensmile.FeatureLevel, FEATURE_LEVEL),
    )


def feature_names() -> list[str]:
    """The 88 eGeMAPS v02 functional names, as openSMILE orders them."""
    return list(_smile().feature_names)


# ------------------------------------------------------------------------------ one clip


def clip_features(record: ClipRecord) -> np.ndarray:
    """eGeMAPS v02 functionals (``float32 (88,)``) of one clip's whole audio.

    Raises
    ------
    DataError
        Unreadable audio, or openSMILE gave something other than 88 finite values.
    """
    # The log-Mel cache's reader (downmix, segment rules, torchaudio resampling): reused so both
    # feature sets see identical samples.
    mono = _full_waveform(record, PreprocessConfig(sample_rate=SAMPLE_RATE))
    with warnings.catch_warnings():
        # "Segment too short, filling with NaN": reported below as this clip's one problem line.
        warnings.simplefilter("ignore", UserWarning)
        frame = _smile().process_signal(mono, SAMPLE_RATE)
    values = np.asarray(frame.to_numpy(), dtype=np.float32).reshape(-1)
    path = audio_source(record)
    if values.shape != (N_FEATURES,):
        raise DataError(f"{path}: openSMILE gave {values.size} values, expected {N_FEATURES}")
    if not np.all(np.isfinite(values)):
        bad = [n for n, v in zip(feature_names(), values, strict=True) if not np.isfinite(v)]
        raise DataError(
            f"{path}: openSMILE gave non-finite {', '.join(bad[:3])} (audio too short or empty?)"
        )
    return values


# ------------------------------------------------------------------------------ inputs


def _as_record(item: ClipRecord | Mapping[str, str]) -> ClipRecord:
    """A :class:`ClipRecord`, or one rebuilt from a manifest row (``load_manifest``)."""
    if isinstance(item, ClipRecord):
        return item
    if not isinstance(item, Mapping):
        raise TypeError(f"expected a ClipRecord or a manifest row, got {type(item).__name__}")

    def text(key: str) -> str | None:
        value = item.get(key)
        return value if value not in (None, "") else None

    def number(key: str) -> float | None:
        value = text(key)
        return float(value) if value is not None else None

    # Meta columns carry e.g. IEMOCAP's audio_segment, which changes how the audio is cut.
    meta = {k: str(v) for k, v in item.items() if k not in BASE_COLUMNS and k not in TAIL_COLUMNS}
    audio, video = text("audio_path"), text("video_path")
    return ClipRecord(
        dataset=text("dataset") or "",
        clip_id=item["clip_id"],
        label=text("label") or "",
        speaker=text("speaker") or "",
        group=text("group") or "",
        audio_path=Path(audio) if audio else None,
        video_path=Path(video) if video else None,
        start=number("start"),
        end=number("end"),
        meta=meta,
    )


def _source_key(record: ClipRecord) -> str:
    """The identity of the clip's source file that an item is valid for (JSON).

    Size and modification time, not a content hash: any rewrite changes the mtime, and hashing
    every source would cost more than the check saves.
    """
    path = audio_source(record)
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot stat ({exc.__class__.__name__}: {exc})") from exc
    key = {
        "clip_id": record.clip_id,
        "end": record.end,
        "mtime_ns": stat.st_mtime_ns,
        "size": stat.st_size,
        "start": record.start,
    }
    return json.dumps(key, sort_keys=True)


# ------------------------------------------------------------------------------ cache items


def _item_path(items_dir: Path, clip_id: str) -> Path:
    return items_dir / f"{item_name(clip_id)}.npz"


def _load_item(items_dir: Path, clip_id: str, key: str) -> np.ndarray | None:
    """Cached features of ``clip_id`` if present and computed from the same source, else None."""
    path = _item_path(items_dir, clip_id)
    try:
        with np.load(path, allow_pickle=False) as item:
            source = item["source"]
            if source.shape != (1,) or str(source[0]) != key:
                return None
            features = np.asarray(item["features"], dtype=np.float32)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # absent or damaged: recomputed and overwritten
    return features if features.shape == (N_FEATURES,) else None


def _write_item(items_dir: Path, clip_id: str, key: str, features: np.ndarray) -> None:
    # A one-element array: write_npz stores arrays contiguous, which makes a 0-d one 1-d anyway.
    arrays = {"features": features.astype(np.float32), "source": np.array([key])}
    atomic_write_bytes(_item_path(items_dir, clip_id), npz_bytes(arrays))


def _extract_one(
    record: ClipRecord, key: str, items_dir: Path
) -> tuple[str, np.ndarray | None, Problem | None]:
    """Extract and cache one clip; a failure comes back as a Problem, not an exception."""
    try:
        features = clip_features(record)
    except MEDIA_ERRORS as exc:
        return record.clip_id, None, problem_from(record, exc)
    _write_item(items_dir, record.clip_id, key, features)
    return record.clip_id, features, None


# ------------------------------------------------------------------------------ main entry


def extract_egemaps(
    clips: Iterable[ClipRecord | Mapping[str, str]],
    cache_root: str | Path,
    *,
    workers: int = 2,
    progress: bool = True,
) -> EgemapsResult:
    """eGeMAPS v02 functionals of every clip, from the cache where present.

    Parameters
    ----------
    clips
        :class:`~cmaf.data.records.ClipRecord` objects (``scan_dataset(...).records``) or the
        rows of a prepared cache's manifest (:func:`cmaf.data.dataset.load_manifest`), which
        carry each clip's source path; clip ids must be unique.
    cache_root
        Parent of the ``egemaps-HASH`` directory (e.g. the log-Mel cache root).
    workers
        Worker processes for the clips not yet cached (:func:`cmaf.data.cache.run_jobs`);
        ``0`` or ``1`` works in this process. With more, a script calling this must guard its
        entry point with ``if __name__ == "__main__":`` (forkserver).
    progress
        Show a tqdm bar and a closing summary line on stderr.

    Returns
    -------
    EgemapsResult
        A clip that cannot be read never raises: it prints one ``path: reason`` line on stderr,
        is listed in ``problems.txt`` and the others are still extracted.

    Raises
    ------
    ValueError
        Duplicate clip ids.
    """
    records = [_as_record(c) for c in clips]
    ids = [r.clip_id for r in records]
    check_clip_ids(ids)

    cache_dir = cache_dir_for(cache_root)
    items_dir = open_cache_dir(cache_dir)
    config = json.dumps(settings(), indent=2, sort_keys=True) + "\n"
    write_if_changed(cache_dir / CONFIG, config.encode())
    names_path = cache_dir / NAMES
    try:
        names = json.loads(names_path.read_text())
    except (OSError, ValueError):
        names = None
    if not isinstance(names, list) or len(names) != N_FEATURES:
        names = feature_names()
        write_if_changed(names_path, (json.dumps(names, indent=1) + "\n").encode())

    found: dict[str, np.ndarray] = {}
    failures: list[Problem] = []
    todo: list[tuple[ClipRecord, str]] = []
    for record in records:
        try:
            key = _source_key(record)
        except DataError as exc:
            failures.append(problem_from(record, exc))
            continue
        features = _load_item(items_dir, record.clip_id, key)
        if features is None:
            todo.append((record, key))
        else:
            found[record.clip_id] = features
    n_cached = len(found)
    jobs = [(r, k, items_dir) for r, k in todo]
    notes = [str(p) for p in failures]
    extracted, failed = run_jobs(_extract_one, jobs, workers, "egemaps", progress, notes)
    found.update(extracted)
    n_extracted = len(extracted)
    problems = write_problems(cache_dir, [*failures, *failed])
    clip_ids = [i for i in ids if i in found]
    matrix = (
        np.stack([found[i] for i in clip_ids]).astype(np.float32, copy=False)
        if clip_ids
        else np.zeros((0, N_FEATURES), dtype=np.float32)
    )
    if progress:
        print(
            f"egemaps: {len(clip_ids)} clips ({n_extracted} extracted, {n_cached} from the "
            f"cache), {len(problems)} problems, in {cache_dir}",
            file=sys.stderr,
        )
    return EgemapsResult(
        cache_dir=cache_dir,
        clip_ids=clip_ids,
        features=matrix,
        names=list(names),
        problems=problems,
        n_extracted=n_extracted,
        n_cached=n_cached,
    )


def egemaps_features(
    clips: Iterable[ClipRecord | Mapping[str, str]],
    cache_root: str | Path,
    *,
    workers: int = 2,
    progress: bool = True,
) -> tuple[list[str], np.ndarray, list[str]]:
    """``(clip_ids, features (n, 88) float32, feature_names)`` from :func:`extract_egemaps`."""
    result = extract_egemaps(clips, cache_root, workers=workers, progress=progress)
    return result.clip_ids, result.features, result.names


__all__ = [
    "FEATURE_LEVEL",
    "FEATURE_SET",
    "N_FEATURES",
    "PROBLEMS",
    "SAMPLE_RATE",
    "EgemapsResult",
    "cache_dir_for",
    "clip_features",
    "egemaps_features",
    "extract_egemaps",
    "feature_names",
    "settings",
]
