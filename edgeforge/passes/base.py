"""The Pass interface: one optimization, one module, one small pydantic config.

A training-time pass takes a trained tf_keras model and returns a new one::

    class Prune(Pass):
        name: ClassVar[str] = "prune"

        class Config(PassConfig):
            sparsity: float = Field(gt=0, lt=1, description="final fraction of zero weights")

        def apply(self, model, context):
            ...  # wrap, fine-tune on context.splits, strip
            return pruned_model

The conversion pass (`ptq`) turns the final Keras model into TFLite bytes instead. A candidate's
passes run in PASS_ORDER; `edgeforge.passes.PASSES` registers them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from edgeforge.spec.base import StrictModel

PASS_ORDER = ("distill", "prune", "cluster", "qat", "ptq")


class PassConfig(StrictModel):
    pass


@dataclass
class TrainContext:
    """What a training-time pass may use: data, the teacher (base model) and its budget."""

    splits: Any
    teacher: Any
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    model_name: str = "tiny_cnn"
    distill_epochs: int | None = None  # a student trains from scratch: it may need more than `epochs`


class Pass:
    name: ClassVar[str]
    Config: ClassVar[type[PassConfig]] = PassConfig

    def __init__(self, config: PassConfig | dict | None = None):
        self.config = config if isinstance(config, PassConfig) else self.Config.model_validate(config or {})

    def apply(self, model, context: TrainContext):
        """Return the optimized model (training-time passes)."""
        raise TypeError(f"pass '{self.name}' does not transform Keras models")

    def __repr__(self) -> str:
        return f"{self.name}({self.config.model_dump()})"
