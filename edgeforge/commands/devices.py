from __future__ import annotations

import json


def add_parser(subparsers):
    parser = subparsers.add_parser("devices", help="list device presets with their limits and sources")
    parser.add_argument("--specs", default="specs", help="spec directory (default: specs)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    return parser


def run(args) -> int:
    from edgeforge.spec.presets import load_presets

    devices = load_presets(args.specs)
    if args.json:
        print(json.dumps([d.model_dump(by_alias=True) for d in devices], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="edgeforge device presets")
    table.add_column("name", no_wrap=True)
    for column in ("class", "cpu", "clock MHz", "RAM KiB", "flash KiB", "runtimes", "sources"):
        table.add_column(column, justify="right" if "KiB" in column or "MHz" in column else "left")
    for d in devices:
        table.add_row(
            d.name, d.device_class, d.cpu, f"{d.clock_mhz:g}", f"{d.ram_kb:,.0f}", f"{d.flash_kb:,.0f}",
            ", ".join(d.runtimes), str(len(d.sources)),
        )
    Console().print(table)
    return 0
