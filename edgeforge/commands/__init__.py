"""CLI subcommands: each module has `add_parser(subparsers)` and `run(args) -> int`.

`run` returns 0 or raises an `edgeforge.errors` class, which sets the exit code; it never
calls `sys.exit` or returns another code (tests/unit/test_errors.py checks).
"""
