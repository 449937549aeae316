from __future__ import annotations

from edgeforge.commands import print_json


def add_parser(subparsers):
    parser = subparsers.add_parser("devices", help="list device presets with their limits and sources")
    parser.add_argument("--specs", default="specs", help="spec directory (default: specs)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    return parser


def run(args) -> int:
    from edgeforge.spec.presets import load_presets

    devices = load_presets(args.specs)
    if args.json:
        print_json([d.model_dump(by_alias=True) for d in devices])
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    show_cpu = console.width >= 120  # the cpu descriptions are long; keep narrow terminals readable
    table = Table(title="edgeforge device presets (--json for sources)")
    for column in ("name", "class", "MHz", "RAM", "flash", "runtimes") + (("cpu",) if show_cpu else ()):
        table.add_column(column, justify="right" if column in ("MHz", "RAM", "flash") else "left", no_wrap=column != "runtimes")
    for d in devices:
        cells = [d.name, d.device_class, f"{d.clock_mhz:g}", _size(d.ram_kb), _size(d.flash_kb), " ".join(d.runtimes)]
        table.add_row(*cells, *([d.cpu] if show_cpu else []))
    console.print(table)
    return 0


def _size(kib: float) -> str:
    for unit, scale in (("GiB", 1024 * 1024), ("MiB", 1024)):
        if kib >= scale:
            return f"{kib / scale:g} {unit}"
    return f"{kib:g} KiB"
