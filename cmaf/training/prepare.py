"""``cmaf prepare``: scan a dataset, preprocess every clip into the cache, print a summary.

Exit codes: 0 when at least one clip is usable (skipped files are listed on stderr and in
``problems.txt``), 1 when nothing usable remains, 2 for an unknown dataset, a bad root or bad
options (one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from cmaf.arguments import UsageError, output_dir
from cmaf.data.cache import prepare
from cmaf.data.preprocessing import FRAME_MODES, MODALITIES, PreprocessConfig
from cmaf.data.records import DataError
from cmaf.data.registry import DATASETS, classes_for, scan_dataset
from cmaf.training.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` sub-command."""
    defaults = PreprocessConfig()
    parser = subparsers.add_parser(
        "prepare",
        help="preprocess a dataset into the cache (log-Mel + frames per clip)",
        description=(
            "Scan DATASET under ROOT, compute each clip's log-Mel spectrogram and video frames "
            "(paper Appendix A.1-A.4) and store them under CACHE/<config hash>/. Re-running "
            "skips clips already cached; an interrupted run resumes where it stopped. The "
            "synthetic corpus is read as 'ravdess'."
        ),
    )
    parser.add_argument("--dataset", required=True, help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--root", required=True, type=Path, help="dataset folder (only read)")
    parser.add_argument("--cache", required=True, type=Path, help="cache root folder")
    parser.add_argument(
        "--config",
        default=None,
        help="take the preprocessing settings of an experiment profile (paper, cpu, smoke) or "
        "JSON config, so the cache matches `cmaf train --config` (flags below override it)",
    )
    parser.add_argument(
        "--modality",
        choices=MODALITIES,
        default=None,
        help="av: log-Mel + frames; audio: log-Mel only (e.g. the flac-only RAVDESS copy); "
        f"video: frames only (default {defaults.modality})",
    )
    parser.add_argument(
        "--frames", type=int, default=None, help=f"frames per clip ({defaults.num_frames})"
    )
    parser.add_argument(
        "--image-size", type=int, default=None, help=f"frame side ({defaults.image_size})"
    )
    parser.add_argument(
        "--frame-mode",
        choices=FRAME_MODES,
        default=None,
        help="resize: whole frame squeezed to a square (paper); center_square: central square "
        f"crop first (default {defaults.frame_mode})",
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        default=None,
        help="window length; changing it needs --hop-length to keep --mel-frames "
        f"({defaults.clip_seconds})",
    )
    parser.add_argument("--mel-frames", type=int, default=None, help=f"({defaults.mel_frames})")
    parser.add_argument("--hop-length", type=int, default=None, help=f"({defaults.hop_length})")
    parser.add_argument(
        "--face-crop", action="store_true", default=None, help="crop faces (OpenCV Haar cascade)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (%(default)s)")
    parser.add_argument(
        "--groups",
        default=None,
        help="comma-separated groups to keep (e.g. ravdess-01,ravdess-02); default all",
    )
    parser.add_argument(
        "--scan-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra loader option (e.g. classes=paper8 for iemocap, labels=acted for crema-d)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"cmaf prepare: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``cmaf prepare`` with parsed arguments; returns the exit code."""
    if args.dataset not in DATASETS:
        return _fail(f"unknown dataset {args.dataset!r}: valid names are {', '.join(DATASETS)}")
    if not args.root.is_dir():
        return _fail(f"{args.root}: dataset root is not a folder")
    try:
        output_dir(args.cache, "--cache")
    except UsageError as exc:
        return _fail(str(exc))
    options: dict[str, str] = {}
    for item in args.scan_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _fail(f"--scan-option {item!r}: expected KEY=VALUE")
        options[key] = value
    try:
        base = load_config(args.config).preprocess if args.config else PreprocessConfig()
        explicit = {
            "clip_seconds": args.clip_seconds,
            "hop_length": args.hop_length,
            "mel_frames": args.mel_frames,
            "num_frames": args.frames,
            "image_size": args.image_size,
            "frame_mode": args.frame_mode,
            "face_crop": args.face_crop,
            "modality": args.modality,
        }
        cfg = dataclasses.replace(base, **{k: v for k, v in explicit.items() if v is not None})
    except ValueError as exc:
        return _fail(str(exc))
    # Loaders know "av" and "audio"; frames-only preparation reads the audio-visual files.
    options.setdefault("modality", "audio" if cfg.modality == "audio" else "av")
    try:
        scan = scan_dataset(args.dataset, args.root, **options)
        classes = classes_for(args.dataset, **options)
    except DataError as exc:
        return _fail(str(exc))
    records = scan.records
    if args.groups:
        wanted = {g.strip() for g in args.groups.split(",") if g.strip()}
        known = {r.group for r in records}
        if not wanted & known:
            return _fail(f"--groups {args.groups!r} matches none of {sorted(known)[:5]} ...")
        records = [r for r in records if r.group in wanted]
    for problem in scan.problems:
        print(problem, file=sys.stderr)
    if not records:
        print(f"cmaf prepare: no usable clips found under {args.root}", file=sys.stderr)
        return 1
    if args.workers < 0:
        return _fail("--workers must be >= 0")

    try:
        result = prepare(
            records,
            args.cache,
            cfg,
            workers=args.workers,
            progress=not args.no_progress,
            classes=classes,
            scan_problems=scan.problems,
        )
    except DataError as exc:  # a missing optional dependency, before any work
        return _fail(str(exc))
    print(
        f"clips: {result.n_usable} usable of {result.n_records} "
        f"({result.n_processed} written, {result.n_cached} already cached, "
        f"{result.n_failed} failed); problems: {len(result.problems)}"
    )
    print(f"bytes per clip: {result.bytes_per_clip:,.0f} ({result.total_bytes:,} in all)")
    print(f"cache: {result.cache_dir}")
    if result.problems:
        print(f"problems listed in {result.problems_path}")
    if result.n_usable == 0:
        print("cmaf prepare: nothing usable was prepared", file=sys.stderr)
        return 1
    return 0
