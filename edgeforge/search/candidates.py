"""Candidates: one combination of the search space, with a stable id and its derived passes."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import asdict, dataclass

from edgeforge.spec.models import QAT_MODES, Space


@dataclass(frozen=True, order=True)
class Candidate:
    width: float = 1.0
    sparsity: float = 0.0
    clusters: int = 0
    qat: bool = False
    quantization: str = "float32"

    @property
    def id(self) -> str:
        parts = [f"w{self.width:g}", f"s{self.sparsity:g}", f"c{self.clusters}"]
        if self.qat:
            parts.append("qat")
        return "-".join(parts + [self.quantization])

    @property
    def training(self) -> TrainingRecipe:
        """What must be trained for this candidate; candidates sharing it share one trained model."""
        return TrainingRecipe(self.width, self.sparsity, self.clusters, self.qat)

    def config(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, order=True)
class TrainingRecipe:
    width: float = 1.0
    sparsity: float = 0.0
    clusters: int = 0
    qat: bool = False

    @property
    def id(self) -> str:
        return f"w{self.width:g}-s{self.sparsity:g}-c{self.clusters}" + ("-qat" if self.qat else "")

    @property
    def is_base(self) -> bool:
        return self == TrainingRecipe()

    def config(self) -> dict:
        return asdict(self)


def enumerate_space(space: Space) -> list[Candidate]:
    """Every meaningful combination; QAT is only paired with int8 PTQ (the inference it simulates)."""
    combos = itertools.product(space.width, space.sparsity, space.clusters, space.qat, space.quantization)
    candidates = {
        Candidate(float(w), float(s), int(c), bool(q), m)
        for w, s, c, q, m in combos
        if not (q and m not in QAT_MODES)
    }
    return sorted(candidates, key=lambda c: (c.training, c.quantization))


def parent_recipe(recipe: TrainingRecipe) -> TrainingRecipe:
    """The recipe without its last pass (distill → prune → cluster → qat): what it trains on top of."""
    if recipe.qat:
        return dataclasses.replace(recipe, qat=False)
    if recipe.clusters:
        return dataclasses.replace(recipe, clusters=0)
    if recipe.sparsity:
        return dataclasses.replace(recipe, sparsity=0.0)
    return TrainingRecipe()


def recipe_passes(recipe: TrainingRecipe, distillation: dict | None = None) -> list[tuple[str, dict]]:
    """The recipe's training-time passes in order (its candidates add only `ptq`)."""
    from edgeforge.passes.chain import QAT_MODES, passes_for

    quantization = QAT_MODES[0] if recipe.qat else "float32"
    return passes_for({**recipe.config(), "quantization": quantization}, distillation)[:-1]
