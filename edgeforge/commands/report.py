from __future__ import annotations

from edgeforge.commands import print_json
from edgeforge.layout import BUILD


def add_parser(subparsers):
    parser = subparsers.add_parser("report", help="per target: the chosen candidate, its metrics, constraints")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the report as JSON")
    form.add_argument("--markdown", action="store_true", help="print the report as Markdown (a pull-request comment)")
    form.add_argument(
        "--html", nargs="?", const=BUILD.report_html.as_posix(), metavar="PATH",
        help=f"write the report as one self-contained HTML page (default: {BUILD.report_html.as_posix()})",
    )
    return parser


def run(args) -> int:
    from edgeforge.report import build_report

    report = build_report()
    if args.json:
        print_json(report, sort_keys=True)
    elif args.markdown:
        from edgeforge.report.markdown import render_markdown

        print(render_markdown(report), end="")
    elif args.html:
        from edgeforge.report.html import write_html

        path = write_html(report, args.html)
        missing = sum(len(target.get("missing", [])) for target in report["targets"].values()) + len(report["missing"])
        print(f"wrote {path}" + (f" (incomplete build: {missing} missing, listed at its top)" if missing else ""))
    else:
        from edgeforge.report.text import print_report

        print_report(report)
    return 0
