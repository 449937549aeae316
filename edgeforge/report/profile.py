"""`edgeforge profile` as tables: the totals, then one row per operator."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_profile(result: dict, console: Console | None = None) -> None:
    console = console or Console()
    summary = Table(title=f"{Path(result['model']).name} on {result['device']} ({result['runtime']})", show_header=False)
    summary.add_column("figure", no_wrap=True)
    summary.add_column("value", justify="right", no_wrap=True)
    rows = [
        ("params", f"{result['params']:,}"),
        ("MACs", f"{result['macs']:,}"),
        ("model", f"{result['model_bytes'] / 1024:,.1f} KiB"),
        ("flash (model + runtime code)", f"{result['flash_bytes'] / 1024:,.1f} KiB"),
        (f"arena RAM ({result['arena_source']})", f"{result['arena_bytes'] / 1024:,.1f} KiB"),
        ("arena RAM (planner estimate)", f"{result['arena_estimate_bytes'] / 1024:,.1f} KiB"),
        ("latency", f"{result['latency_ms']:,.3f} ms"),
        ("energy per inference", f"{result['energy_mj']:,.4f} mJ"),
    ]
    if "avg_power_mw" in result:
        rows.append((f"average power at {result['inference_hz']:g} Hz", f"{result['avg_power_mw']:,.3f} mW"))
    for name, check in result.get("fits", {}).items():
        verdict = "[green]ok[/green]" if check["ok"] else "[red]exceeds[/red]"
        rows.append((f"fits {name} <= {check['limit']:g}" if name != "min_accuracy" else name, f"{check['value']:,.2f} {verdict}"))
    for row in rows:
        summary.add_row(*row)
    console.print(summary)
    ops = Table(title="per operator")
    for column in ("#", "op", "dtype", "MACs", "output bytes", "latency ms"):
        ops.add_column(column, justify="left" if column in ("op", "dtype") else "right", no_wrap=True)
    for op in result["ops"]:
        ops.add_row(str(op["index"]), op["type"], op["dtype"], f"{op['macs']:,}", f"{op['output_bytes']:,}", f"{op['latency_ms']:.4f}")
    console.print(ops)
