from __future__ import annotations

import importlib

from edgeforge.stages import STAGES

PER_TARGET = ("select", "export", "package")


def add_parser(subparsers):
    parser = subparsers.add_parser("stage", help="run one pipeline stage (what dvc.yaml calls)")
    parser.add_argument("name", choices=STAGES, help="stage name, as in dvc.yaml")
    parser.add_argument("--target", help="target name, for select/export/package")
    parser.add_argument("--params", default="params.yaml", help="composed spec (default: params.yaml)")
    return parser


def run(args) -> int:
    module = importlib.import_module(f"edgeforge.stages.{args.name}")
    if args.name in PER_TARGET:
        if not args.target:
            from edgeforge.errors import UserError

            raise UserError(f"stage '{args.name}' runs per target: pass --target NAME, a target in {args.params}")
        module.run(args.target, params=args.params)
    else:
        module.run(params=args.params)
    return 0
