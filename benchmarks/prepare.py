"""Throughput of ``prepare`` against decoding alone, on 720p RAVDESS-format fixtures.

Run::

    .venv/bin/python benchmarks/prepare.py            # 8 clips of 3 s, 90 frames at 224 px
    .venv/bin/python benchmarks/prepare.py --quick    # 2 clips of 1 s (a few seconds)

Both sides use the same worker count and the same process pool kind; the forkserver (which
imports torch once) is started before either is timed, so both pay the same pool start-up.
"Decode only" reads each clip's audio (native rate) and every video frame at the final size
with :func:`read_video_frames`, the floor for any preprocessing. ``prepare`` additionally
resamples, computes the log-Mel spectrogram, selects the frames and writes, fsyncs and hashes
each item (it converts only the frames it keeps, which wins back part of that). The goal is a
ratio (prepare clips/s over decode-only clips/s) of at least 0.7; each side's best of
``--repeat`` runs counts. Not a timed test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

# The format-faithful fixture builders live with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _decode_only(record, size: int) -> int:
    from cmaf.data.media import read_audio, read_video_frames

    samples, _ = read_audio(record.audio_path or record.video_path, record.start, record.end)
    frames, _ = read_video_frames(record.video_path, size=(size, size))
    return samples.nbytes + frames.nbytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 clips of 1 s, 16 frames at 64 px")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--modality", default="av", choices=("av", "audio", "video"))
    parser.add_argument(
        "--repeat", type=int, default=2, help="timed runs of each side; the best counts"
    )
    args = parser.parse_args()

    from fixtures import make_ravdess_tree

    from cmaf.data.cache import prepare, worker_pool
    from cmaf.data.preprocessing import PreprocessConfig
    from cmaf.data.registry import scan_dataset

    if args.quick:
        args.seconds, args.frames, args.image_size = 1.0, 16, 64
        grid = {"actors": (1,), "emotions": (3,), "intensities": (1, 2)}  # 2 clips
    else:
        grid = {"actors": (1, 2), "emotions": (3, 5), "intensities": (1, 2)}  # 8 clips
    cfg = PreprocessConfig(
        num_frames=args.frames, image_size=args.image_size, modality=args.modality
    )

    with tempfile.TemporaryDirectory(prefix="cmaf-bench-") as tmp:
        root = Path(tmp) / "ravdess"
        t0 = time.perf_counter()
        make_ravdess_tree(
            root, size=(1280, 720), seconds=args.seconds, with_audio_only=False, **grid
        )
        records = scan_dataset("ravdess", root, modality="av").records
        n = len(records)
        print(
            f"fixtures: {n} clips of {args.seconds:g} s at 1280x720, 29.97 fps "
            f"(written in {time.perf_counter() - t0:.1f} s); {args.workers} workers; "
            f"{args.frames} frames at {args.image_size} px, modality {args.modality}"
        )

        # Start the forkserver (it imports torch once) before timing anything: every later
        # pool, the decode-only one and prepare's own, then pays the same small fork cost.
        with worker_pool(args.workers) as pool:
            pool.submit(int).result()

        decode_s = prepare_s = float("inf")
        for run in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            with worker_pool(args.workers) as pool:
                futures = [pool.submit(_decode_only, r, args.image_size) for r in records]
                wait(futures)
                decoded = sum(f.result() for f in futures)
            decode_s = min(decode_s, time.perf_counter() - t0)

            t0 = time.perf_counter()
            cache = Path(tmp) / f"cache{run}"
            result = prepare(records, cache, cfg, workers=args.workers, progress=False)
            prepare_s = min(prepare_s, time.perf_counter() - t0)

        t0 = time.perf_counter()
        again = prepare(records, cache, cfg, workers=args.workers, progress=False)
        rerun_s = time.perf_counter() - t0
        assert again.n_processed == 0

    decode_rate, prepare_rate = n / decode_s, n / prepare_s
    per_clip = decoded / n / 1e6
    print(f"decode only : {decode_rate:6.2f} clips/s ({decode_s:.2f} s, {per_clip:.1f} MB/clip)")
    print(
        f"prepare     : {prepare_rate:6.2f} clips/s ({prepare_s:.2f} s, {result.n_usable} usable)"
    )
    print(f"ratio       : {prepare_rate / decode_rate:.2f} (goal >= 0.7)")
    print(f"bytes/clip  : {result.bytes_per_clip:,.0f}")
    print(f"re-run      : {rerun_s:.2f} s, {again.n_processed} clips processed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
