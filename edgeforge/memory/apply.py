"""Plan a model, write the plan into it, check it, and keep it only if it is verified and smaller.

    outcome = apply_memory_plan(model_bytes, held_out=x_test)
    outcome.model_bytes      # what ships: the planned model when kept, else the model as given
    outcome.default, outcome.planned, outcome.lower_bound_head_bytes

Every plan goes through the same checks before it is kept; one that fails any is discarded with
a warning, and the model ships as it was:
1. `check.check_plan`: the offsets of tensors alive together never overlap (independent code);
2. `verify.compare_outputs`: the planned and the unplanned model give bit-identical outputs in
   TFLite Micro's interpreter on held-out and random inputs;
3. `cost.arena.measure_arena`: the allocator's arena, measured with the plan in place, is below
   TFLite Micro's own (a plan that saves nothing is dropped quietly: the model ships unchanged).

A model that already holds an offline plan is not planned again: its plan goes through checks 1
and 2 (against the model without it) and is reported as it is; one that fails them ships without
its plan, with a warning. Models with control flow
(several subgraphs) are refused with the reason; variable tensors stay with TFLite Micro, which
keeps them in the persistent tail, and the operators using them keep their order.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from edgeforge.cost.arena import ArenaUsage, live_peak_bytes, measure_arena, planned_buffers
from edgeforge.cost.graph import read_graph
from edgeforge.errors import ModelFileError
from edgeforge.memory.check import check_plan
from edgeforge.memory.planner import MemoryPlan, plan_memory, plan_refusal
from edgeforge.memory.verify import HELD_OUT_SAMPLES, compare_outputs, verification_inputs
from edgeforge.memory.writer import read_plan, strip_plan, write_plan

_CACHE_ENTRIES = 16


@dataclass(frozen=True)
class PlanOutcome:
    model_bytes: bytes  # what ships under `memory_plan: offline`
    kept: bool  # `model_bytes` carries a verified offline plan
    reason: str  # why no plan is kept ("" when one is)
    as_given: ArenaUsage  # the model as it came, measured
    default: ArenaUsage  # TFLite Micro's own planner: the model without any offline plan
    planned: ArenaUsage | None  # measured with the offline plan in place (None: no plan got that far)
    lower_bound_head_bytes: int | None  # live-bytes peak of the shipped order: no layout is lower
    plan: MemoryPlan | None = None  # edgeforge's plan, when it made one
    preplanned: bool = False  # the model came with its own offline plan
    samples: int = 0  # inputs the outputs were compared on
    warning: str | None = None  # what was warned about: a plan that failed a check

    @property
    def shipped(self) -> ArenaUsage:
        """The arena of `model_bytes`."""
        return self.planned if self.kept and self.planned is not None else self.default

    @property
    def lower_bound_bytes(self) -> int | None:
        """Arena of the lower-bound head plus the persistent tail (which no plan changes)."""
        if self.lower_bound_head_bytes is None:
            return None
        return self.lower_bound_head_bytes + self.default.persistent_bytes

    def summary(self) -> dict:
        """JSON-able description for reports and `edgeforge profile --json`."""
        result = {
            "kept": self.kept,
            "reason": self.reason,
            "preplanned": self.preplanned,
            "default_head_bytes": self.default.planned_bytes,
            "planned_head_bytes": self.planned.planned_bytes if self.planned else None,
            "lower_bound_head_bytes": self.lower_bound_head_bytes,
            "persistent_bytes": self.default.persistent_bytes,
            "verified_samples": self.samples,
            "warning": self.warning,
            "sha256": hashlib.sha256(self.model_bytes).hexdigest(),
            "model_bytes": len(self.model_bytes),  # of what ships (a plan adds its metadata)
        }
        if self.plan is not None:
            result.update(
                order_changed=self.plan.order_changed,
                order_exact=self.plan.order_exact,
                packing_exact=self.plan.packing_exact,
                packing_method=self.plan.packing_method,
                offline_tensors=len(self.plan.offsets),
            )
        return result


_outcomes: OrderedDict[tuple[str, str], PlanOutcome] = OrderedDict()


def apply_memory_plan(model_bytes: bytes, held_out: np.ndarray | None = None) -> PlanOutcome:
    """The verified outcome of planning `model_bytes` (see the module docstring); cached per model
    and inputs in this process, so the search's artifact and its costs share one plan."""
    if held_out is not None:
        held_out = np.ascontiguousarray(held_out[:HELD_OUT_SAMPLES])  # all the verification runs
    key = (_sha256(model_bytes), _sha256(held_out.tobytes()) if held_out is not None else "")
    if key in _outcomes:
        _outcomes.move_to_end(key)
        return _outcomes[key]
    outcome = _plan_and_verify(model_bytes, held_out)
    _outcomes[key] = outcome
    while len(_outcomes) > _CACHE_ENTRIES:
        _outcomes.popitem(last=False)
    return outcome


def _plan_and_verify(model_bytes: bytes, held_out: np.ndarray | None) -> PlanOutcome:
    graph = read_graph(model_bytes)
    _check_plan_format(model_bytes, graph)
    as_given = measure_arena(model_bytes)  # BuildError when TFLite Micro cannot run the model at all
    if read_plan(model_bytes) is not None:
        return _check_existing(model_bytes, held_out, as_given, graph.source)
    refusal = plan_refusal(graph, external_buffers=_has_external_buffers(model_bytes))
    if refusal:
        return PlanOutcome(model_bytes, False, f"not planned: {refusal}", as_given, as_given, None, None)
    plan = plan_memory(graph)
    planned_bytes = write_plan(model_bytes, plan.order, plan.offsets)
    samples = verification_inputs(model_bytes, held_out)
    problem = _problem(model_bytes, planned_bytes, samples)
    if problem:
        warning = f"{graph.source}: offline memory plan discarded: {problem}"
        warnings.warn(warning, stacklevel=3)
        return PlanOutcome(
            model_bytes, False, f"discarded: {problem}", as_given, as_given, None, plan.lower_bound_bytes, plan, warning=warning
        )
    planned = measure_arena(planned_bytes)
    if planned.total_bytes >= as_given.total_bytes:
        reason = f"TFLite Micro's own plan is as small (head {as_given.planned_bytes} B, edgeforge's {planned.planned_bytes} B)"
        return PlanOutcome(model_bytes, False, reason, as_given, as_given, planned, plan.lower_bound_bytes, plan, samples=len(samples))
    return PlanOutcome(planned_bytes, True, "", as_given, as_given, planned, plan.lower_bound_bytes, plan, samples=len(samples))


def _check_existing(model_bytes: bytes, held_out, as_given: ArenaUsage, source: str) -> PlanOutcome:
    """A model that came with an offline plan: check that plan, measure it, do not replan."""
    unplanned = strip_plan(model_bytes)
    default = measure_arena(unplanned)
    bound = live_peak_bytes(planned_buffers(read_graph(model_bytes)))
    samples = verification_inputs(unplanned, held_out)
    problem = _problem(unplanned, model_bytes, samples)
    if problem:
        warning = f"{source}: the model's own offline memory plan is wrong: {problem}"
        warnings.warn(warning, stacklevel=3)
        # What ships is the model without its plan: TFLite Micro then plans every tensor itself.
        reason = f"the model's own plan is wrong: {problem}"
        return PlanOutcome(unplanned, False, reason, as_given, default, as_given, bound, preplanned=True, warning=warning)
    return PlanOutcome(model_bytes, True, "", as_given, default, as_given, bound, preplanned=True, samples=len(samples))


def _check_plan_format(model_bytes: bytes, graph) -> None:
    """Refuse a model whose offline plan TFLite Micro would refuse to load, saying how to fix it."""
    words = read_plan(model_bytes)
    if words is None:
        return
    tensors = len(graph.tensors) if graph.subgraph_count == 1 else None  # (graph.tensors: the main subgraph's)
    if len(words) < 3 or len(words) != 3 + words[2] or (tensors is not None and words[2] != tensors):
        listed = words[2] if len(words) >= 3 else "no"
        raise ModelFileError(
            f"{graph.source}: its OfflineMemoryAllocation metadata lists {listed} offsets in {len(words)} words"
            + (f" for {tensors} tensors" if tensors is not None else "")
            + "; TFLite Micro refuses such a model: remove that metadata entry, and edgeforge plans the model itself"
        )


def _problem(unplanned: bytes, planned: bytes, samples) -> str | None:
    check = check_plan(planned)
    if check.problems:
        return "; ".join(check.problems[:3]) + (f" (and {len(check.problems) - 3} more)" if len(check.problems) > 3 else "")
    return compare_outputs(unplanned, planned, samples)


def _has_external_buffers(model_bytes: bytes) -> bool:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_bytes, 0)
    return any(model.Buffers(i).Offset() > 1 for i in range(model.BuffersLength()))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
