"""Analytic pre-filter: predict each combination's resources before training, drop what cannot fit.

Flash, arena and latency depend on the architecture and the quantization mode, not on the trained
weight values: pruning and clustering leave the dense TFLite graph as it is (same tensors, same
bytes), and QAT int8 converts to the same int8 graph as PTQ int8. So one structural model per
width × PTQ mode predicts every combination sharing them: the trained base model at width 1.0
(its conversions are needed anyway) and a seeded, untrained student at each narrower width. Each
is converted once (memoized like any conversion) and costed with the profile's functions: MACs
and the per-op latency model, flash = model + runtime code, and the arena from the memory planner
replayed in Python (`estimate_arena_bytes`; for TFLite Micro targets with `memory_plan: offline`,
the head of edgeforge's offline plan, `Runtime.predicted_costs`), never by running the model.

A combination is dropped for a target when a prediction exceeds one of its resource limits by
more than `MARGIN`, so an estimate a little above the measured value never drops a feasible one
(tests/unit/search/test_prefilter.py compares predicted and measured on the default space).
Accuracy constraints are never pre-filtered: only training tells.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from edgeforge.errors import UserError
from edgeforge.search.candidates import Candidate
from edgeforge.cost.fits import judged_value
from edgeforge.outputs import CONSTRAINT_METRICS, Exclusion

# Resource limits a prediction can check; the accuracy constraints need a trained model.
RESOURCE_CONSTRAINTS = ("ram_kb", "flash_kb", "latency_ms", "energy_mj", "avg_power_mw")
# Drop only when the prediction is this far past the limit (relative): the estimate's tolerance.
MARGIN = 0.05


@dataclass
class Prefilter:
    """Predictions per candidate id and target, and what each target keeps or drops."""

    predictions: dict[str, dict[str, dict]]  # candidate id -> target -> predicted metrics
    kept: dict[str, list[Candidate]]  # target -> candidates that may fit it
    dropped: dict[str, dict[str, list[Exclusion]]] = field(default_factory=dict)  # target -> id -> why

    def pruned_everywhere(self, space: list[Candidate]) -> list[Candidate]:
        """Combinations no target keeps: they are never trained or evaluated."""
        kept = {c.id for candidates in self.kept.values() for c in candidates}
        return [c for c in space if c.id not in kept]


def predict_metrics(
    model_bytes: bytes, device, runtime: str, inference_hz: float | None = None, memory_plan: str | None = None
) -> dict:
    """The resource metrics of a .tflite on a device, from the graph alone (no runtime run); the
    arena under the target's `memory_plan` where the runtime can plan it offline."""
    from edgeforge.cost.arena import arena_under_plan, estimate_arena_bytes
    from edgeforge.cost.energy import avg_power_mw, energy_mj
    from edgeforge.cost.flash import flash_bytes
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.latency import latency_fields, predict_model
    from edgeforge.runtimes import get_runtime

    graph = read_graph(model_bytes)
    predicted = get_runtime(runtime).predicted_costs(model_bytes, device)
    latency_ms = predicted.get("latency_ms")
    if latency_ms is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown ops: the search's own profile warns once per model
            latency_ms = predict_model(graph, device, runtime).latency_ms  # the profile's per-op model
    metrics = {
        "model_bytes": graph.model_bytes,
        "flash_bytes": predicted.get("flash_bytes") or flash_bytes(graph.model_bytes, graph.op_types, runtime, device.arch),
        "arena_bytes": arena_under_plan(predicted, memory_plan) or estimate_arena_bytes(graph),
        "ram_bytes": get_runtime(runtime).reserved_ram_bytes(arena_under_plan(predicted, memory_plan) or estimate_arena_bytes(graph)),
        "latency_ms": latency_ms,
        "energy_mj": energy_mj(latency_ms, device),
        **{k: v for k, v in latency_fields(predicted, device, runtime, latency_ms).items() if k.endswith("_error")},
    }
    if inference_hz is not None:
        metrics["avg_power_mw"] = avg_power_mw(latency_ms, device, inference_hz)
    return metrics


def exclusions(predicted: dict, constraints) -> list[Exclusion]:
    """The resource limits `predicted` exceeds by more than MARGIN."""
    found = []
    for key in RESOURCE_CONSTRAINTS:
        limit = getattr(constraints, key)
        metric, scale, _ = CONSTRAINT_METRICS[key]
        if limit is None or metric not in predicted:
            continue
        value = judged_value(key, predicted, constraints)  # the upper bound under confidence: conservative
        if value * (1 - MARGIN) > limit:
            found.append(Exclusion(constraint=key, limit=float(limit), predicted=round(float(value), 6)))
    return found


def structural_bytes(evaluator, width: float, mode: str) -> bytes:
    """A .tflite with the structure of every combination at this width and PTQ mode."""
    if width == 1.0:
        model_bytes, _ = evaluator.converted(Candidate(quantization=mode))
        return model_bytes
    return evaluator.untrained_converted(width, mode)


def run_prefilter(evaluator, space: list[Candidate], targets_of) -> Prefilter:
    """Predict every combination's resources per target and drop those that cannot fit.

    `targets_of(candidate)` names the targets whose runtime can run the candidate at all.
    """
    from edgeforge.runtimes import get_runtime

    spec = evaluator.spec
    structures: dict[tuple[float, str], bytes] = {}
    structure_metrics: dict[tuple[tuple[float, str], str], dict] = {}  # every combination of a structure predicts alike
    predictions: dict[str, dict[str, dict]] = {}
    kept: dict[str, list[Candidate]] = {name: [] for name in spec.targets}
    dropped: dict[str, dict[str, list[Exclusion]]] = {name: {} for name in spec.targets}
    # an ONNX base with no TFLite twin (search/conversion.py): each runtime's own artifact is the structure
    onnx_base = evaluator.trainer.onnx_base_reason is not None
    for candidate in space:
        key = (candidate.width, candidate.quantization)
        if key not in structures and not onnx_base:
            structures[key] = structural_bytes(evaluator, *key)
        for name in targets_of(candidate):
            target = spec.targets[name]
            structure = structures.get(key)
            if onnx_base:
                artifact = get_runtime(target.runtime).artifact
                if artifact == "tflite":  # nothing to predict from: kept, and its evaluation fails saying why
                    predictions.setdefault(candidate.id, {})[name] = {}
                    kept[name].append(candidate)
                    continue
                structure, _ = evaluator.converter.cost_source(Candidate(quantization=candidate.quantization), artifact)
            if (key, name) not in structure_metrics:  # one parse and prediction per structure and target
                structure_metrics[key, name] = predict_metrics(
                    structure, target.device, target.runtime, target.constraints.inference_hz, target.memory_plan
                )
            predicted = dict(structure_metrics[key, name])
            # the device file may be smaller than the dense structure (TFLite Micro's LUT-compressed clusters)
            saving = get_runtime(target.runtime).predicted_flash_saving_bytes(structure, candidate.config(), target)
            if saving:
                predicted = {**predicted, "flash_bytes": predicted["flash_bytes"] - saving}
            predictions.setdefault(candidate.id, {})[name] = predicted
            excluded = exclusions(predicted, target.constraints)
            if excluded:
                dropped[name][candidate.id] = excluded
            else:
                kept[name].append(candidate)
    return Prefilter(predictions, kept, dropped)


def check_some_fit(prefilter: Prefilter) -> None:
    """Fail before any training when a target keeps no combination, naming what excludes them."""
    problems = [explain_all_dropped(name, prefilter) for name, kept in prefilter.kept.items() if not kept]
    if problems:
        raise UserError("\n".join(problems))


def explain_all_dropped(name: str, prefilter: Prefilter) -> str:
    """Which resource limit (alone, or together) leaves the target no combination."""
    dropped = prefilter.dropped[name]
    limits = {e.constraint: e.limit for excluded in dropped.values() for e in excluded}
    counts = {key: sum(any(e.constraint == key for e in excluded) for excluded in dropped.values()) for key in limits}
    alone = sorted(key for key, count in counts.items() if count == len(dropped))
    if alone:
        reasons = []
        for key in alone:
            metric, scale, _ = CONSTRAINT_METRICS[key]
            smallest = min(by_target[name][metric] * scale for by_target in prefilter.predictions.values() if name in by_target)
            reasons.append(
                f"{key} = {limits[key]:g} excludes every one of the {len(dropped)} combinations "
                f"(the smallest predicted is {smallest:.4g}); raise {key} to about {smallest:.3g} or narrow the model"
            )
    else:
        reasons = [f"{', '.join(sorted(counts))} together exclude all {len(dropped)} combinations ("
                   + ", ".join(f"{key} excludes {counts[key]}" for key in sorted(counts)) + ")"]
    return f"targets.{name}.constraints: no combination of the search space can fit before any training: " + "; ".join(reasons)
