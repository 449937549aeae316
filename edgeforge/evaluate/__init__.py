"""Run converted models in their real runtimes: LiteRT, TFLite Micro (and ONNX Runtime)."""

from edgeforge.evaluate.base import RUNTIMES, Evaluation, evaluate_model, predict

__all__ = ["RUNTIMES", "Evaluation", "evaluate_model", "predict"]
