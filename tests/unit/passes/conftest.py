"""One trained digits model per session, and a memo of pass chains run on it (prefixes shared)."""

from __future__ import annotations

import pytest

from edgeforge.passes.base import TrainContext
from tests.conftest import train_tiny_cnn

BASE_EPOCHS = 12
FINETUNE_EPOCHS = 1


@pytest.fixture(scope="session")
def base_model(digits):
    return train_tiny_cnn(digits, BASE_EPOCHS)


@pytest.fixture(scope="session")
def context(digits, base_model) -> TrainContext:
    return TrainContext(
        splits=digits, teacher=base_model, epochs=FINETUNE_EPOCHS, batch_size=64, learning_rate=0.001, seed=0
    )


class TrainedModels:
    """`get(("prune", {...}), ("qat", {...}))`: the base model after those passes, each prefix trained once."""

    def __init__(self, base_model, context: TrainContext):
        self.base_model, self.context = base_model, context
        self.memo: dict[str, object] = {}

    def get(self, *passes: tuple[str, dict]):
        from edgeforge.passes.chain import apply_training_passes

        if not passes:
            return self.base_model
        key = repr(passes)
        if key not in self.memo:
            self.memo[key] = apply_training_passes(self.get(*passes[:-1]), [passes[-1]], self.context)
        return self.memo[key]


@pytest.fixture(scope="session")
def trained(base_model, context) -> TrainedModels:
    return TrainedModels(base_model, context)


@pytest.fixture(scope="session")
def convert(digits):
    """convert(model, mode) -> TFLite bytes through the ptq pass, each (model, mode) once."""
    from edgeforge.passes.ptq import PostTrainingQuantization

    converted: dict[tuple[int, str], tuple[object, bytes]] = {}

    def run(model, mode: str) -> bytes:
        key = (id(model), mode)
        if key not in converted:  # keep the model alive so its id is not reused
            converted[key] = model, PostTrainingQuantization({"mode": mode}).convert(model, digits.x_train)
        return converted[key][1]

    return run
