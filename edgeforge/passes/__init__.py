"""Optimization passes, registered by name in the order a candidate runs them.

This registry is the one place that lists the passes: the spec's `search.space`, candidate ids,
training recipes, pass chains and the solver's distributions all follow it (each pass declares
its `search` setting). Adding a pass is its module plus one entry here; the conversion pass
(`ptq`) stays last.
"""

from edgeforge.passes.base import Pass, PassConfig, SearchSetting, TrainContext
from edgeforge.passes.cluster import Cluster
from edgeforge.passes.distill import Distill
from edgeforge.passes.prune import Prune
from edgeforge.passes.ptq import PostTrainingQuantization
from edgeforge.passes.qat import Qat

PASSES: dict[str, type[Pass]] = {
    cls.name: cls for cls in (Distill, Prune, Cluster, Qat, PostTrainingQuantization)
}


def training_passes() -> list[type[Pass]]:
    """The passes a training recipe is made of: all but the conversion, in order."""
    return [cls for cls in PASSES.values() if cls.trains]


__all__ = ["PASSES", "Pass", "PassConfig", "SearchSetting", "TrainContext", "training_passes"]
