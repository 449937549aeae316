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
        (f"arena RAM ({result['arena_source']}{', offline plan' if result.get('arena_plan') == 'offline' else ''})",
         f"{result['arena_bytes'] / 1024:,.1f} KiB"),
        ("arena RAM (planner estimate)", f"{result['arena_estimate_bytes'] / 1024:,.1f} KiB"),
        (f"latency ({result.get('latency_source', 'predicted')})", f"{result['latency_ms']:,.3f} ms{_error_bar(result.get('latency_error'))}"),
        ("energy per inference", f"{result['energy_mj']:,.4f} mJ{_error_bar(result.get('energy_error'))}"),
    ]
    if result.get("latency_predicted_ms") is not None:  # measured on this machine: the model's prediction beside it
        rows.insert(rows.index(next(r for r in rows if r[0].startswith("latency"))) + 1,
                    ("latency (predicted)", f"{result['latency_predicted_ms']:,.3f} ms"))
    compiled_bytes = result.get("npu", {}).get("vela_model_bytes")
    if compiled_bytes is not None:  # what the flash holds instead of the model itself
        rows.insert(3, ("model, compiled for the NPU", f"{compiled_bytes / 1024:,.1f} KiB"))
    if "avg_power_mw" in result:
        rows.append((f"average power at {result['inference_hz']:g} Hz", f"{result['avg_power_mw']:,.3f} mW"))
    for name, check in result.get("fits", {}).items():
        verdict = "[green]ok[/green]" if check["ok"] else "[red]exceeds[/red]"
        rows.append((f"fits {name} <= {check['limit']:g}" if name != "min_accuracy" else name, f"{check['value']:,.2f} {verdict}"))
    for row in rows:
        summary.add_row(*row)
    console.print(summary)
    print_arena_plans(result, console)
    # A runtime with an accelerator (an NPU) says where each operator runs and its NPU cycles.
    placed = any("target" in op for op in result["ops"])
    columns = ["#", "op", "dtype", "MACs", "output bytes", "latency ms"] + (["runs on", "NPU cycles"] if placed else [])
    ops = Table(title="per operator")
    for column in columns:
        ops.add_column(column, justify="left" if column in ("op", "dtype", "runs on") else "right", no_wrap=True)
    for op in result["ops"]:
        row = [str(op["index"]), op["type"], op["dtype"], f"{op['macs']:,}", f"{op['output_bytes']:,}", f"{op['latency_ms']:.4f}"]
        if placed:
            cycles = op.get("npu_cycles")
            row += [op.get("target", ""), f"{cycles:,}" if cycles is not None else ""]
        ops.add_row(*row)
    console.print(ops)
    if "cpu_ops" in result:
        fallback = result["cpu_ops"]
        if fallback:
            listed = ", ".join(
                f"{op['type']} #{op['index']}" + (f" ({op['reason']})" if op.get("reason") else "") for op in fallback
            )
            console.print(f"CPU fallback: {len(fallback)} operator(s) the accelerator cannot run: {listed}")
        else:
            console.print("CPU fallback: none; every operator runs on the accelerator")
    for note in result.get("notes", []):
        console.print(f"note: {note}")
    if result.get("latency_uncalibrated"):
        console.print(
            "[yellow]uncalibrated latency[/yellow]: no fitted rate for "
            + ", ".join(result["latency_uncalibrated"])
            + "; priced at the preset's default rate (edgeforge/cost/latency.py), so the error bar may not hold"
        )


def print_arena_plans(result: dict, console: Console) -> None:
    """TFLite Micro's own arena, edgeforge's offline plan and the lower bound, side by side."""
    if result.get("arena_default_bytes") is None:
        return
    plan = result.get("memory_plan") or {}
    tail = plan.get("persistent_bytes", 0)
    heads = (plan.get("default_head_bytes"), plan.get("planned_head_bytes") if plan.get("kept") else plan.get("default_head_bytes"),
             plan.get("lower_bound_head_bytes"))
    totals = (result["arena_default_bytes"], result["arena_planned_bytes"], result["arena_lower_bound_bytes"])
    table = Table(title="tensor arena (TFLite Micro allocator)")
    for column in ("", "TFLite Micro's plan", "edgeforge plan", "lower bound"):
        table.add_column(column, justify="right" if column else "left", no_wrap=True)

    def kib(n_bytes):
        return f"{n_bytes / 1024:,.1f} KiB" if n_bytes is not None else "-"

    table.add_row("head (activations)", *(kib(h) for h in heads))
    table.add_row("tail (persistent)", *(kib(tail if total is not None else None) for total in totals))
    table.add_row("total", *(kib(t) for t in totals))
    console.print(table)
    if plan.get("kept") and result["arena_default_bytes"]:
        saved = 1 - result["arena_planned_bytes"] / result["arena_default_bytes"]
        how = "the model's own offline plan, checked" if plan.get("preplanned") else (
            "operators reordered, offline plan" if plan.get("order_changed") else "offline plan")
        console.print(f"edgeforge plan: {how}, {saved:.1%} less arena; outputs bit-identical on {plan.get('verified_samples', 0)} inputs")
    elif plan.get("reason"):
        console.print(f"edgeforge plan: none kept: {plan['reason']}")


def _error_bar(error: float | None) -> str:
    """' ±18%' for a relative error, '' when there is none (a compiler's own estimate)."""
    return f" ±{error:.0%}" if error is not None else ""
