"""The issue's acceptance end to end: the repo's MCU target (STM32F746, TFLite Micro) with a RAM
limit between the arena of edgeforge's offline plan and TFLite Micro's own is feasible with
`memory_plan: offline` (the default) and infeasible with `memory_plan: tflm`.

The repo's digits tiny_cnn is a chain TFLite Micro already plans at the lower bound, so the
project here differs in its data only: 8x8x48 inputs for ds_cnn, whose first layers TFLite
Micro's biggest-first planner fragments (input 3 KiB, activations 2 KiB each: 6 KiB vs 5 KiB).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import yaml

CONFIG = {
    "defaults": [{"device@targets.mcu.device": "stm32f746_disco"}, "_self_"],
    "project": {"name": "memory-plan", "seed": 0},
    "dataset": {"name": "npz", "path": "data.npz"},
    "model": {"name": "ds_cnn"},
    "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.003},
}
SPACE = {"width": [1.0], "sparsity": [0.0], "clusters": [0], "qat": [False], "quantization": ["int8"]}


def search_mcu(project, memo, memory_plan: str, ram_kb: float | None):
    """(the int8 candidate's evaluation on target mcu, the search result and evaluator)."""
    from edgeforge.data.loaders import load_dataset
    from edgeforge.data.splits import split_dataset
    from edgeforge.search.engine import run_search
    from edgeforge.spec.compose import compose_spec

    constraints = {"ram_kb": ram_kb} if ram_kb else {}
    target = {"runtime": "tflite-micro", "formats": ["tflite", "tflm_c"], "constraints": constraints, "memory_plan": memory_plan}
    config = {**CONFIG, "search": {"strategy": "exhaustive", "space": SPACE}, "targets": {"mcu": target}}
    (project / "specs" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    spec, _ = compose_spec(project / "specs")
    splits = split_dataset(*load_dataset(spec.dataset, root=project), spec.dataset, seed=0)
    result, evaluator = run_search(spec, splits, base_model(spec, splits), memo)
    (evaluated,) = result.per_target["mcu"].values()
    return evaluated, result, evaluator


_base = {}


def base_model(spec, splits):
    from edgeforge.models.training import train_base

    if "model" not in _base:
        _base["model"], _ = train_base(spec.model, spec.train, splits, spec.project.seed)
    return _base["model"]


@pytest.mark.slow
def test_a_ram_limit_between_planned_and_default_arena_is_met_only_with_the_offline_plan(tmp_project, tmp_path):
    from edgeforge.cost.arena import measure_arena
    from edgeforge.runtimes.tflite_micro import TfliteMicro
    from edgeforge.errors import UserError
    from edgeforge.memory.writer import read_plan
    from edgeforge.search.memo import Memo

    rng = np.random.default_rng(0)
    x = rng.standard_normal((240, 8, 8, 48)).astype(np.float32)
    np.savez(tmp_project / "data.npz", x=x, y=(x[..., :24].mean(axis=(1, 2, 3)) > x[..., 24:].mean(axis=(1, 2, 3))).astype(int))
    memo = Memo(tmp_path / "memo")

    unconstrained, _, _ = search_mcu(tmp_project, memo, "offline", None)
    metrics = unconstrained.metrics
    planned, default = metrics["arena_bytes"], metrics["arena_default_bytes"]
    print(f"arena: planned {planned} B, TFLM default {default} B, lower bound {metrics['arena_lower_bound_bytes']} B")
    assert metrics["arena_planned_bytes"] == planned < default
    # ram_kb judges what the application reserves: the arena plus TFLite Micro's margin
    reserved = TfliteMicro().reserved_ram_bytes
    limit_kb = (reserved(planned) + reserved(default)) / 2 / 1024

    offline, _, evaluator = search_mcu(tmp_project, memo, "offline", limit_kb)
    assert offline.feasible
    shipped, suffix, record = evaluator.artifact(offline.candidate, "tflite-micro", offline.epochs, evaluator.spec.targets["mcu"])
    assert suffix == ".tflite-micro.tflite" and record["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert read_plan(shipped) is not None  # the file the search selects and exports carries the plan...
    assert measure_arena(shipped).total_bytes == offline.metrics["arena_bytes"]  # ...and was measured
    assert offline.metrics["ram_bytes"] == reserved(offline.metrics["arena_bytes"]) <= limit_kb * 1024

    try:
        tflm, _, _ = search_mcu(tmp_project, memo, "tflm", limit_kb)
    except UserError as error:  # the pre-filter already drops it
        assert "ram_kb" in str(error)
    else:
        assert not tflm.feasible
        assert tflm.metrics["arena_bytes"] == default and tflm.metrics["ram_bytes"] > limit_kb * 1024
        assert [c.constraint for c in tflm.checks if not c.ok] == ["ram_kb"]
