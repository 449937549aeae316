"""Optimization passes, registered by name; a candidate runs them in PASS_ORDER."""

from edgeforge.passes.base import PASS_ORDER, Pass, PassConfig, TrainContext
from edgeforge.passes.cluster import Cluster
from edgeforge.passes.distill import Distill
from edgeforge.passes.prune import Prune
from edgeforge.passes.ptq import PostTrainingQuantization
from edgeforge.passes.qat import Qat

PASSES: dict[str, type[Pass]] = {
    cls.name: cls for cls in (Distill, Prune, Cluster, Qat, PostTrainingQuantization)
}

__all__ = ["PASSES", "PASS_ORDER", "Pass", "PassConfig", "TrainContext"]
