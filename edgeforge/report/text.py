"""The report as rich tables for a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

COLUMNS = (
    ("accuracy", "accuracy", "{:.4f}"),
    ("latency ms", "latency_ms", "{:.3f}"),
    ("arena KiB", "arena_bytes", "kib"),
    ("flash KiB", "flash_bytes", "kib"),
    ("energy mJ", "energy_mj", "{:.4f}"),
)


def _format(value, style: str) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:.1f}" if style == "kib" else style.format(value)


def print_report(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="edgeforge build: one model per target")
    for column in ("target", "device / runtime", "chosen candidate", *(c[0] for c in COLUMNS), "constraints"):
        table.add_column(column, no_wrap=column in ("target", "chosen candidate"))
    for name, target in report["targets"].items():
        metrics = target["metrics"] or {}
        constraints = ", ".join(
            f"{key} {'ok' if check['ok'] else 'FAIL'}" for key, check in target["constraints"].items()
        )
        table.add_row(
            name,
            f"{target['device']} / {target['runtime']}",
            target["candidate"]["id"] if target["candidate"] else "[red]none feasible[/red]",
            *(_format(metrics.get(key), style) for _, key, style in COLUMNS),
            constraints,
        )
    console.print(table)
    for name, target in report["targets"].items():
        if not target["feasible"]:
            console.print(f"[red]{target['explanation']}[/red]")
    search = report["search"]
    console.print(
        f"search ({search['strategy']}): {search['space_size']} candidates in the space, "
        f"{search['evaluated']} evaluated, {search['trained']} trained, {search['memo_hits']} memo hits, "
        f"{search.get('pruned_analytically', 0)} pruned analytically"
    )
