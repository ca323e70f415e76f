"""``cmaf summary``: each block's output shape and parameter count at the paper's dimensions."""

from __future__ import annotations

import argparse
import sys

import torch

from cmaf.models.config import CMAFConfig, VisualEncoderConfig
from cmaf.models.model import CMAF


def summarize(config: CMAFConfig | None = None) -> list[tuple[str, tuple[int, ...], int]]:
    """Run one clip of zeros (``config``'s frames and sizes) through the network; return
    ``(block, output shape, parameters)`` rows."""
    config = config or CMAFConfig()
    model = CMAF(config).eval()
    mel = torch.zeros(1, 1, config.audio.n_mels, config.audio.mel_frames)
    size = config.visual.image_size
    frames = torch.zeros(1, config.visual.num_frames, 3, size, size)
    with torch.no_grad():
        output = model(mel, frames, return_stages=True)
    params = model.block_parameters()
    return [(name, tuple(value.shape), params[name]) for name, value in output.stages.items()]


def format_summary(rows: list[tuple[str, tuple[int, ...], int]]) -> str:
    lines = [f"{'block':<22}{'output shape':<24}{'parameters':>12}"]
    lines += [f"{name:<22}{shape!s:<24}{count:>12,}" for name, shape, count in rows]
    lines.append(f"{'total':<22}{'':<24}{sum(r[2] for r in rows):>12,}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summary",
        help="print each block's output shape and parameter count",
        description="Print each block's output shape and parameter count (batch of one clip; "
        "the paper's dimensions unless overridden).",
    )
    parser.add_argument("--num-classes", type=int, default=8, help="classifier width (default 8)")
    parser.add_argument("--frames", type=int, default=90, help="video frames per clip (90)")
    parser.add_argument("--image-size", type=int, default=224, help="frame size in pixels (224)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        config = CMAFConfig(
            visual=VisualEncoderConfig(num_frames=args.frames, image_size=args.image_size),
            num_classes=args.num_classes,
        )
    except ValueError as exc:
        print(f"cmaf summary: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summarize(config)))
    return 0
