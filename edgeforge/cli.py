"""The `edgeforge` command: one entry point, subcommands thin over the library.

Each subcommand is a module in `edgeforge.commands` with `add_parser(subparsers)` and
`run(args) -> int`; COMMANDS is the explicit list. Heavy libraries are imported inside `run`,
so `edgeforge --help` stays fast. `run` returns 0 or raises an `EdgeforgeError`: `main` prints
its message on one line and exits with the class's code (see `edgeforge.errors`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edgeforge import __version__
from edgeforge.errors import EdgeforgeError

COMMANDS = [
    "init",
    "validate",
    "compose",
    "schema",
    "devices",
    "stage",
    "report",
    "profile",
    "keys",
    "release",
    "device",
    "monitor",
    "verify",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeforge",
        description="Declarative build system for edge-AI models: specs in, verified per-device models out.",
    )
    parser.add_argument("--version", action="version", version=f"edgeforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"edgeforge.commands.{name}")
        command_parser = module.add_parser(subparsers)
        command_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except EdgeforgeError as error:
        if args.verbose:
            raise
        print(f"edgeforge {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # output piped into `head` and friends
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
