"""Stage `select@T`: the target's best feasible candidate → build/targets/T/selected.json."""

from __future__ import annotations

from pathlib import Path

from edgeforge.atomic import read_json, write_json


def run(target: str, params: str = "params.yaml") -> None:
    """`params` is unused: the target's objective and constraints come with its search results."""
    from edgeforge.search.select import select_candidate

    out = Path("build/targets") / target / "selected.json"
    out.unlink(missing_ok=True)  # never leave a stale choice behind a failed selection
    target_result = read_json(Path("build/search/targets") / f"{target}.json")
    chosen = select_candidate(target_result)
    write_json(out, {
        "target": target,
        "device": target_result["device"],
        "runtime": target_result["runtime"],
        "objective": target_result["objective"],
        "base_accuracy": target_result["base_accuracy"],
        "candidate": {"id": chosen["id"], "config": chosen["config"]},
        "metrics": chosen["metrics"],
        "constraints": {c["constraint"]: {"limit": c["limit"], "value": c["value"], "ok": c["ok"]} for c in chosen["checks"]},
        "artifact": chosen["artifact"],
        "sha256": chosen["sha256"],
    })
    print(f"{target}: selected {chosen['id']} ({target_result['objective']})")
