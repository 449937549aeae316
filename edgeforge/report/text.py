"""The report as rich tables for a terminal: a summary row per target, then each target's detail."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from edgeforge.outputs import CONSTRAINT_METRICS

METRICS = (
    ("accuracy", "accuracy", "{:.4f}"),
    ("latency", "latency_ms", "{:.3f} ms"),
    ("arena RAM", "arena_bytes", "kib"),
    ("flash", "flash_bytes", "kib"),
    ("model", "model_bytes", "kib"),
    ("energy", "energy_mj", "{:.4f} mJ"),
)


def _format(value, style: str) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:.1f} KiB" if style == "kib" else style.format(value)


def print_report(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    overview = Table(title="edgeforge build: one verified model per target")
    for column in ("target", "device", "runtime", "chosen", "verdict"):
        overview.add_column(column, no_wrap=True)
    for name, target in report["targets"].items():
        verdict = "[green]all constraints met[/green]" if target["feasible"] else "[red]no feasible candidate[/red]"
        chosen = target["candidate"]["id"] if target["candidate"] else "-"
        overview.add_row(name, target["device"], target["runtime"], chosen, verdict)
    console.print(overview)
    for name, target in report["targets"].items():
        if target["feasible"]:
            console.print(_detail(name, target))
            if target.get("ops"):
                console.print(_ops(name, target["ops"]))
        else:
            console.print(f"[red]{target['explanation']}[/red]")
    search = report["search"]
    console.print(
        f"search ({search['strategy']}): {search['space_size']} candidates in the space, "
        f"{search['evaluated']} evaluated, {search['trained']} trained, {search['memo_hits']} memo hits, "
        f"{search.get('pruned_analytically', 0)} pruned analytically"
    )


def _detail(name: str, target: dict) -> Table:
    metrics = target["metrics"]
    table = Table(title=f"{name}: {target['candidate']['id']} (objective {target['objective']})")
    for column in ("metric", "value", "constraint", "ok"):
        table.add_column(column, no_wrap=True)
    limits = {CONSTRAINT_METRICS[key][0]: (key, check) for key, check in target["constraints"].items()}
    for label, key, style in METRICS:
        constraint, check = limits.get(key, (None, None))
        table.add_row(
            label,
            _format(metrics.get(key), style),
            f"{constraint} {check['limit']:g}" if check else "",
            ("[green]yes[/green]" if check["ok"] else "[red]no[/red]") if check else "",
        )
    if "accuracy_drop" in limits:
        constraint, check = limits["accuracy_drop"]
        table.add_row("accuracy drop", f"{metrics['accuracy_drop']:.4f}", f"{constraint} {check['limit']:g}",
                      "[green]yes[/green]" if check["ok"] else "[red]no[/red]")
    return table


def _ops(name: str, ops: list[dict]) -> Table:
    table = Table(title=f"{name}: per-operator cost of the chosen model")
    for column in ("#", "op", "dtype", "MACs", "latency ms"):
        table.add_column(column, justify="left" if column in ("op", "dtype") else "right", no_wrap=True)
    for op in ops:
        table.add_row(str(op["index"]), op["type"], op["dtype"], f"{op['macs']:,}", f"{op['latency_ms']:.4f}")
    return table
