from __future__ import annotations

import importlib
from contextlib import nullcontext

from edgeforge.stages import STAGES

PER_TARGET = ("select", "export", "package")


def add_parser(subparsers):
    parser = subparsers.add_parser("stage", help="run one pipeline stage (what dvc.yaml calls)")
    parser.add_argument("name", choices=STAGES, help="stage name, as in dvc.yaml")
    parser.add_argument("--target", help="target name, for select/export/package")
    parser.add_argument("--params", default="params.yaml", help="composed spec (default: params.yaml)")
    return parser


def run(args) -> int:
    from edgeforge.quiet import quiet_native_logs, verbose_requested

    if args.name in PER_TARGET and not args.target:
        from edgeforge.errors import UserError

        raise UserError(f"stage '{args.name}' runs per target: pass --target NAME, a target in {args.params}")
    # TensorFlow's and the converter's log lines would be half of a build log: kept only with -v
    with nullcontext() if verbose_requested(args.verbose) else quiet_native_logs():
        module = importlib.import_module(f"edgeforge.stages.{args.name}")
        if args.name in PER_TARGET:
            module.run(args.target, params=args.params)
        else:
            module.run(params=args.params)
    return 0
