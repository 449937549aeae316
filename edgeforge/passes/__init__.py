"""Optimization passes, registered by name; a candidate runs them in PASS_ORDER."""

from edgeforge.passes.base import PASS_ORDER, Pass, PassConfig, TrainContext
from edgeforge.passes.ptq import PostTrainingQuantization

PASSES: dict[str, type[Pass]] = {cls.name: cls for cls in (PostTrainingQuantization,)}

__all__ = ["PASSES", "PASS_ORDER", "Pass", "PassConfig", "TrainContext"]
