"""`emograph`: the one command-line entry point; each package adds its commands with `register(sub)`."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add subcommands. The CLI is the composition root: the one place that may import every package.
COMMAND_MODULES = ("graph.cli", "tools.export.cli", "tools.doctor", "tools.plot", "tools.eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emograph", description="Real-time multimodal emotion pipeline for the edge.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
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
        return 130


if __name__ == "__main__":
    sys.exit(main())
