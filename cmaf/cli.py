"""The ``cmaf`` command line: each sub-command's module (listed in :data:`COMMANDS`) exposes
``register(subparsers)``, which adds its parser and sets ``func`` (namespace -> exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from cmaf.arguments import one_line

# One line per sub-command module, in the order ``cmaf --help`` lists them.
COMMANDS = [
    "cmaf.models.summary",
    "cmaf.data.synth",
    "cmaf.training.prepare",
    "cmaf.data.verify",
    "cmaf.training.commands",
    "cmaf.training.predict",
    "cmaf.experiments.compare",
    "cmaf.experiments.speech",
    "cmaf.book",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmaf",
        description="Cross-Modal Attention Fusion (Kumar et al. 2025), a runnable replication.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cmaf: interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError) as exc:
        # Bad input that a command did not catch itself still gets one line, never a
        # traceback; CMAF_TRACEBACK=1 shows the traceback (for reporting a bug).
        if os.environ.get("CMAF_TRACEBACK"):
            raise
        print(f"cmaf {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1 if isinstance(exc, OSError) else 2


if __name__ == "__main__":
    raise SystemExit(main())
