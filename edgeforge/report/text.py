"""The report as rich tables for a terminal: a summary row per target, then each target's detail.

Everything fits 80 columns without cutting a key cell: device over runtime and chosen candidate
over verdict share a cell each (stacked), per-operator numbers are short (`84.2k`), and the columns
holding names (target, device, candidate ids, op types) never shrink below their longest value.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from edgeforge.report.classes import format_class_accuracy
from edgeforge.report.rows import metric_rows, search_line, short_number

OK, NOT_OK = "[green]yes[/green]", "[red]no[/red]"


def print_report(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    targets = report["targets"]
    overview = Table(title="edgeforge build: one verified model per target", box=box.SQUARE, show_lines=True)
    _key_column(overview, "target", targets)
    _key_column(overview, "device / runtime", [t["device"] for t in targets.values()] + [t["runtime"] for t in targets.values()])
    _key_column(overview, "chosen / verdict", [t["candidate"]["id"] for t in targets.values() if t["candidate"]])
    for name, target in targets.items():
        verdict = "[green]all constraints met[/green]" if target["feasible"] else "[red]no feasible candidate[/red]"
        chosen = target["candidate"]["id"] if target["candidate"] else "-"
        overview.add_row(name, f"{target['device']}\n{target['runtime']}", f"{chosen}\n{verdict}")
    console.print(overview)
    for name, target in targets.items():
        if target["feasible"]:
            console.print(_detail(name, target))
            if target.get("per_class"):
                console.print(_classes(name, target))
            if target.get("passes"):
                console.print(_passes(name, target["passes"], target.get("metric_label", "accuracy")))
            if target.get("choice_note"):
                console.print(f"{name}: {target['choice_note']}", highlight=False)
            if target.get("ram_note"):
                console.print(f"{name}: {target['ram_note']}", highlight=False)
            if target.get("ops"):
                console.print(_ops(name, target["ops"]))
        elif target.get("explanation"):
            console.print(f"[red]{target['explanation']}[/red]", highlight=False)
        for fallback in target.get("fallbacks", []):
            console.print(f"[yellow]{name}: {fallback['candidate']} not shipped: its {fallback['format']} export failed: "
                          f"{fallback['reason']}[/yellow]", highlight=False)
        for candidate, reason in sorted(target.get("failed", {}).items()):
            console.print(f"[yellow]{name}: {candidate} failed: {reason}[/yellow]", highlight=False)
    missing = report.get("missing", []) + [f"{n}: {m}" for n, t in targets.items() for m in t.get("missing", [])]
    for line in missing:
        console.print(f"[yellow]missing: {line}[/yellow]", highlight=False)
    console.print(search_line(report["search"]), highlight=False)


def _key_column(table: Table, header: str, values, **options) -> None:
    """A column that is never narrower than its longest value: names are never cut."""
    width = max([len(header), *(len(line) for value in values for line in str(value).splitlines())])
    table.add_column(header, min_width=width, overflow="fold", **options)


def _detail(name: str, target: dict) -> Table:
    table = Table(title=f"{name}: {target['candidate']['id']} (objective {target['objective']})", box=box.SQUARE)
    for column in ("metric", "value", "constraint", "ok"):
        table.add_column(column, overflow="fold")
    for label, value, limit, ok in metric_rows(target):
        table.add_row(label, value, limit, "" if ok is None else (OK if ok else NOT_OK))
    return table


def _classes(name: str, target: dict) -> Table:
    """Accuracy per class of the chosen model, in the runtime that measured its accuracy."""
    runtime = target["metrics"].get("accuracy_runtime", target["runtime"])
    table = Table(title=f"{name}: accuracy per class", caption=f"held-out split, in {runtime}", box=box.SQUARE)
    _key_column(table, "class", [row["name"] for row in target["per_class"]])
    table.add_column("accuracy", justify="right")
    table.add_column("samples", justify="right")
    for row in target["per_class"]:
        table.add_row(row["name"], format_class_accuracy(row), "-" if row["samples"] is None else str(row["samples"]))
    return table


def _passes(name: str, rows: list[dict], quality: str = "accuracy") -> Table:
    """What each pass of the chosen candidate changed (before -> after; '?' where not measured)."""
    table = Table(title=f"{name}: what each pass changed", box=box.SQUARE)
    _key_column(table, "pass", [row["pass"] for row in rows])
    for column in (quality, "size B", "sparsity", "unique w"):
        table.add_column(column, justify="right", overflow="fold")

    def change(row: dict, key: str, form) -> str:
        values = [(row[side]["metrics"] or {}).get(key) for side in ("before", "after")]
        return " → ".join("?" if value is None else form(value) for value in values)

    for row in rows:
        table.add_row(
            row["pass"], change(row, "accuracy", lambda v: f"{v:.3f}"), change(row, "model_bytes", short_number),
            change(row, "weight_sparsity", lambda v: f"{v:.2f}"), change(row, "max_unique_weights", short_number),
        )
    return table


def _ops(name: str, ops: list[dict]) -> Table:
    peak = next((op for op in ops if op.get("peak")), None)
    caption = f"▲ sets the arena peak: {peak['live_bytes']:,} bytes live" if peak else None
    table = Table(title=f"{name}: per-operator cost of the chosen model", caption=caption, box=box.SQUARE)
    table.add_column("#", justify="right")
    _key_column(table, "op", [f"{op['type']} ▲" if op.get("peak") else op["type"] for op in ops])
    _key_column(table, "dtype", [op.get("dtype", "") for op in ops])
    for column in ("MACs", "params", "out B", "ms"):
        table.add_column(column, justify="right")
    for op in ops:
        table.add_row(
            str(op["index"]), f"{op['type']} ▲" if op.get("peak") else op["type"], str(op.get("dtype", "")),
            short_number(op.get("macs")), short_number(op.get("params")), short_number(op.get("output_bytes")),
            f"{op['latency_ms']:.4f}",
        )
    return table
