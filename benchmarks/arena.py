"""TFLite Micro's tensor arena with its own planner vs edgeforge's offline memory plan vs the lower
bound, measured by TFLite Micro's allocator on every MLPerf Tiny reference model and on the
default build's candidates.

For each model: TFLite Micro's arena as it plans it (head + tail, from the recording allocator),
the arena with edgeforge's verified plan in place (operator order + OfflineMemoryAllocation), and
the lower bound: the live-bytes peak of the chosen order plus the same tail. Every planned model
is checked (no live tensors overlap, bit-identical outputs in the interpreter) before it counts.
The default build's candidates are read from build/search/models/ when a build exists, else the
default spec's model is converted (untrained: the arena depends on the graph, not the weights)
at each width and PTQ mode TFLite Micro runs.

    python benchmarks/arena.py [--models DIR] [--no-candidates] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MLPERF_TINY = REPO.parent / "shared" / "external" / "mlperf_tiny"
if not MLPERF_TINY.is_dir():  # the copy vendored in the repository
    MLPERF_TINY = REPO / "examples" / "mlperf_tiny"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=MLPERF_TINY, help=f"folder of .tflite files (default: {MLPERF_TINY})")
    parser.add_argument("--no-candidates", action="store_true", help="skip the default build's candidates")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()

    models = [(f"mlperf_tiny/{path.name}", path.read_bytes()) for path in sorted(args.models.glob("*.tflite"))]
    if not args.no_candidates:
        models += default_candidates()
    from rich.progress import Progress

    rows = []
    with Progress(transient=True, disable=args.json) as progress:
        task = progress.add_task("planning", total=len(models))
        for name, model_bytes in models:
            progress.update(task, description=name)
            rows.append(measure(name, model_bytes))
            progress.advance(task)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)


def measure(name: str, model_bytes: bytes) -> dict:
    """One row: TFLM default, edgeforge plan and lower bound of `model_bytes`, or why not."""
    import warnings

    from edgeforge.errors import BuildError
    from edgeforge.memory import apply_memory_plan

    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome = apply_memory_plan(model_bytes)
    except BuildError as error:
        return {"model": name, "skipped": str(error).split(": ", 1)[-1]}
    default, shipped, bound = outcome.default, outcome.shipped, outcome.lower_bound_head_bytes
    plan = outcome.plan
    return {
        "model": name,
        "arena_default_bytes": default.total_bytes,
        "arena_planned_bytes": shipped.total_bytes,
        "arena_lower_bound_bytes": outcome.lower_bound_bytes,
        "head_default_bytes": default.planned_bytes,
        "head_planned_bytes": shipped.planned_bytes,
        "head_lower_bound_bytes": bound,
        "tail_bytes": default.persistent_bytes,
        "saved_ratio": round(1 - shipped.total_bytes / default.total_bytes, 4),
        "head_over_bound_ratio": round(shipped.planned_bytes / bound, 4) if bound else None,
        "plan_kept": outcome.kept,
        "order_changed": bool(plan and plan.order_changed and outcome.kept),
        "order_exact": plan.order_exact if plan else None,
        "packing_exact": plan.packing_exact if plan else None,
        "verified_samples": outcome.samples,
        "note": outcome.reason or "; ".join(str(w.message) for w in caught),
        "seconds": round(time.perf_counter() - started, 3),
    }


def default_candidates() -> list[tuple[str, bytes]]:
    """(name, .tflite) of the default build's candidates (see the module docstring)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    built = REPO / "build" / "search" / "models"
    if built.is_dir():
        # The converted candidates (<id>.tflite); files a target's runtime rewrote (<id>.<runtime>.tflite) are derived.
        return [(f"build/{path.name}", path.read_bytes()) for path in sorted(built.glob("*.tflite")) if path.stem.count(".") == 0]
    from edgeforge.data import load_dataset
    from edgeforge.models import build_model
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.spec.compose import compose_spec
    from edgeforge.tfcompat import seed_everything

    spec, _ = compose_spec(REPO / "specs")
    x, y = load_dataset(spec.dataset, root=REPO)
    modes = [m for m in spec.search.space.quantization if m in RUNTIMES["tflite-micro"].quantization_modes]
    candidates = []
    for width in spec.search.space.width:
        seed_everything(spec.project.seed)
        model = build_model(spec.model.name, x.shape[1:], int(y.max()) + 1, width=width * spec.model.width)
        for mode in modes:
            converted = PostTrainingQuantization({"mode": mode}).convert(model, x[:200])
            candidates.append((f"default/{spec.model.name}-w{width:g}-{mode}", converted))
    return candidates


def status(row: dict) -> str:
    if row["plan_kept"]:
        return f"kept, verified on {row['verified_samples']} inputs"
    if row["head_default_bytes"] == row["head_lower_bound_bytes"]:
        return "TFLM's own plan is at the bound"
    return row["note"][:60]


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="TFLite Micro arena: its own plan vs edgeforge's offline plan vs the lower bound (bytes)")
    for column in ("model", "TFLM default", "edgeforge plan", "lower bound", "saved", "head / bound", "order", "plan"):
        table.add_column(column, justify="left" if column in ("model", "order", "plan") else "right", no_wrap=column != "plan")
    for row in rows:
        if "skipped" in row:
            table.add_row(row["model"], "-", "-", "-", "-", "-", "-", f"skipped: {row['skipped'][:60]}")
            continue
        table.add_row(
            row["model"],
            f"{row['arena_default_bytes']:,} ({row['head_default_bytes']:,})",
            f"{row['arena_planned_bytes']:,} ({row['head_planned_bytes']:,})",
            f"{row['arena_lower_bound_bytes']:,} ({row['head_lower_bound_bytes']:,})",
            f"{row['saved_ratio']:.1%}",
            f"{row['head_over_bound_ratio']:.4f}",
            "reordered" if row["order_changed"] else "as stored",
            status(row),
        )
    console = Console(width=max(Console().width, 180))
    console.print(table)
    console.print("totals as head + tail; heads in parentheses. saved = 1 - planned / default.")
    measured = [r for r in rows if "skipped" not in r]
    worst = max((r["head_over_bound_ratio"] for r in measured), default=None)
    never_above = all(r["arena_planned_bytes"] <= r["arena_default_bytes"] for r in measured)
    console.print(f"never above TFLM's default: {'yes' if never_above else 'NO'}; worst head / bound: {worst}")
    if not never_above:
        sys.exit(1)


if __name__ == "__main__":
    main()
