"""Less RAM than TFLite Micro gives: operator reordering and an offline memory plan.

TFLite Micro's arena head holds the activations, overlaid by its greedy planner. edgeforge can
do better with stock TFLite Micro: run the operators in an order whose live tensors peak lower
(`order`), place the tensors at offsets that approach that peak (`packing`), and write both into
the model (`writer`): reordered operators and the `OfflineMemoryAllocation` metadata TFLite Micro
reads. TFLite Micro never checks such a plan, so each one is checked by independent code
(`check`), run against the unplanned model in the interpreter for bit-identical outputs
(`verify`) and measured by the allocator (`apply`), and discarded with a warning if it fails.

    from edgeforge.memory import apply_memory_plan
    outcome = apply_memory_plan(model_bytes)
    outcome.model_bytes, outcome.default.total_bytes, outcome.shipped.total_bytes
"""

from edgeforge.memory.apply import PlanOutcome, apply_memory_plan
from edgeforge.memory.planner import MemoryPlan, plan_memory, plan_refusal

__all__ = ["MemoryPlan", "PlanOutcome", "apply_memory_plan", "plan_memory", "plan_refusal"]
