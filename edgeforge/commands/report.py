from __future__ import annotations

import json


def add_parser(subparsers):
    parser = subparsers.add_parser("report", help="per target: the chosen candidate, its metrics, constraints")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def run(args) -> int:
    from edgeforge.report import build_report

    report = build_report()
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    from edgeforge.report.text import print_report

    print_report(report)
    return 0
