"""The `edgeforge` command: one entry point, subcommands thin over the library.

Each subcommand is a module in `edgeforge.commands` with `add_parser(subparsers)` and
`run(args) -> int`; COMMANDS is the explicit list. Heavy libraries are imported inside `run`,
so `edgeforge --help` stays fast. `run` returns 0 or raises an `EdgeforgeError`: `main` prints
its message on one line and exits with the class's code (see `edgeforge.errors`). Any other
exception is a bug: one line too (never a traceback on the terminal: it goes to a file the line
names, or to the terminal with -v), and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edgeforge import __version__
from edgeforge.errors import EdgeforgeError, InternalError

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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given the command line, of the command it names alone (when it
    names one): `dvc repro` starts an `edgeforge stage` process per stage, and importing the other
    commands and building their parsers would cost each of them tens of milliseconds."""
    parser = argparse.ArgumentParser(
        prog="edgeforge",
        description="Declarative build system for edge-AI models: specs in, verified per-device models out.",
    )
    parser.add_argument("--version", action="version", version=f"edgeforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = _named_command(argv)
    for name in COMMANDS if named is None else [named]:
        module = importlib.import_module(f"edgeforge.commands.{name}")
        command_parser = module.add_parser(subparsers)
        command_parser.set_defaults(run=module.run)
    return parser


def _named_command(argv: list[str] | None) -> str | None:
    """The command `argv` runs: its first word after -v, if that is one of COMMANDS. None otherwise
    (--help, --version, a typo): every command is registered, so that the top-level help and
    argparse's "invalid choice" error list them all."""
    for word in argv or ():
        if word not in ("-v", "--verbose"):
            return word if word in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
    except Exception as error:  # a bug, or bad input nothing caught: one line, the traceback in a file
        if args.verbose:
            raise
        print(f"edgeforge {args.command}: internal error: {_internal_error(error)}", file=sys.stderr)
        return InternalError.exit_code


def _internal_error(error: Exception) -> str:
    """One line for an unexpected exception; its traceback goes to a file the line names."""
    import tempfile
    import traceback

    first = (str(error).strip().splitlines() or [""])[0]
    try:
        with tempfile.NamedTemporaryFile("w", prefix="edgeforge-traceback-", suffix=".txt", delete=False) as file:
            traceback.print_exception(error, file=file)
        where = f"traceback in {file.name}"
    except OSError:
        where = "rerun with -v for the traceback"
    return f"{type(error).__name__}: {first} ({where}; please report it)"


if __name__ == "__main__":
    sys.exit(main())
