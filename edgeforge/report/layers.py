"""The chosen model layer by layer: per-operator costs, and the tensor arena over time.

The per-operator figures are `edgeforge profile`'s (the search's own functions). The arena over
time is the bytes of activation and scratch buffers alive while each operator runs, from the
lifetimes TFLite Micro's greedy planner works with (`cost.arena.live_bytes_per_op`); the operator
where that peaks is the one that sets the memory any plan needs. Beside it: the head of TFLite
Micro's own plan and of edgeforge's offline plan (`edgeforge.memory`), where the runtime makes one.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from edgeforge.spec.device import Device


def chosen_model_layers(model: Path, device: Device, runtime: str, memo_dir: Path | None = None) -> dict:
    """{"ops": per-operator rows (with `live_bytes` and `peak`), "arena": the plan's figures}.

    With `memo_dir`, the figures come back from there when the same model was costed on the same
    device and runtime by the same code before: the report stage reruns on every constraint edit,
    and profiling a TFLite Micro model (measuring its arena in the interpreter) is most of its time.
    """
    if memo_dir is None:
        return _profile_layers(model, device, runtime)
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.search.codeversion import code_version
    from edgeforge.search.memo import Memo, hash_of, sha256_file

    runtime_packages = RUNTIMES[runtime].packages if runtime in RUNTIMES else ()
    key = hash_of(
        "layers",
        code_version(("",), runtime_packages),  # all of edgeforge: the profile leans on cost/, runtimes/, memory/
        sha256_file(model),
        device.model_dump(mode="json", by_alias=True),
        runtime,
    )
    memo = Memo(memo_dir)
    record = memo.record("layers", key)
    if record is not None:
        return record
    profiled = _profile_layers(model, device, runtime)
    try:
        layers = json.loads(json.dumps(profiled))  # as the memo gives it back
    except (TypeError, ValueError):
        return profiled  # a figure JSON cannot hold: nothing to remember
    try:
        memo.store("layers", key, lambda entry: layers)
    except OSError:
        pass  # a read-only build (`edgeforge report` on someone else's folder): report it, remember nothing
    return layers


def _profile_layers(model: Path, device: Device, runtime: str) -> dict:
    from edgeforge.cost.arena import estimate_arena, live_bytes_per_op
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.profile import profile_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the search already reported unknown ops
        profile = profile_model(model, device, runtime)
    graph = read_graph(model)
    live = live_bytes_per_op(graph)
    peak = max(range(len(live)), key=lambda i: (live[i], -i), default=None)
    timeline = [{"index": op.index, "type": op.type, "live_bytes": live[op.index]} for op in graph.operators]
    ops = [dict(op) for op in profile["ops"]]
    if len(ops) == len(graph.operators):  # a runtime that compiles ops away (Vela) reports its own list
        for op in ops:
            op["live_bytes"] = live[op["index"]]
            op["peak"] = op["index"] == peak
    replayed = estimate_arena(graph)
    plan = profile.get("memory_plan") or {}  # where the runtime plans offline (TFLite Micro)
    return {
        "ops": ops,
        "arena": {
            "timeline": timeline,
            "peak_op": peak,
            "peak_live_bytes": live[peak] if peak is not None else 0,
            # TFLite Micro's greedy plan of the head: as the runtime reports it, else replayed here
            "planned_bytes": plan.get("default_head_bytes") or replayed.planned_bytes,
            "persistent_bytes": plan.get("persistent_bytes") or replayed.persistent_bytes,
            # edgeforge's offline plan (operator order + offsets) and whether the build ships it
            "edgeforge_bytes": plan.get("planned_head_bytes"),
            "edgeforge_kept": plan.get("kept"),
            "edgeforge_note": plan.get("reason") or "",
            "arena_bytes": profile["arena_bytes"],  # what the runtime reports (measured for TFLM)
            "arena_source": profile["arena_source"],
        },
    }
