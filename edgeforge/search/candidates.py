"""Candidates: one combination of the search space, with a stable id and its derived passes.

A `Candidate` holds one value per registered pass's search setting (`edgeforge.passes.PASSES`,
in pass order), a `TrainingRecipe` the values of the training passes only: what must be trained,
shared by the candidates that differ only in their conversion. Both are frozen dataclasses whose
fields are the settings' keys, built from the registry:

    >>> Candidate(width=0.5, qat=True, quantization="int8").id
    'w0.5-s0-c0-qat-int8'
    >>> Candidate(width=0.5, qat=True, quantization="int8").training
    TrainingRecipe(width=0.5, sparsity=0.0, clusters=0, qat=True)

Ids name files of the build and the memo, and `config()` dicts are hashed into memo keys: both
must stay the same for the same values.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from typing import ClassVar

from edgeforge.passes import PASSES, SearchSetting, training_passes
from edgeforge.passes.chain import rejection_reason, training_passes_for


class _Combination:
    """Methods of Candidate and TrainingRecipe; their fields are `settings`' keys, in pass order."""

    settings: ClassVar[tuple[SearchSetting, ...]] = ()

    @property
    def id(self) -> str:
        """The values' labels joined with '-', e.g. `w1-s0.5-c16-int8` (off flags are left out)."""
        labels = (setting.label(getattr(self, setting.key)) for setting in self.settings)
        return "-".join(label for label in labels if label)

    @property
    def is_base(self) -> bool:
        """Every pass off: the base model as it was trained."""
        return all(getattr(self, setting.key) == setting.off for setting in self.settings)

    def config(self) -> dict:
        return dataclasses.asdict(self)


class _CandidateMethods(_Combination):
    @property
    def training(self) -> TrainingRecipe:
        """What must be trained for this candidate; candidates sharing it share one trained model."""
        return TrainingRecipe(**{setting.key: getattr(self, setting.key) for setting in TrainingRecipe.settings})


def combination_class(name: str, settings: Iterable[SearchSetting], base: type = _Combination) -> type:
    """A frozen, ordered dataclass `name` with one field per setting, defaulting to its off value."""
    settings = tuple(settings)
    fields = [(setting.key, setting.type, dataclasses.field(default=setting.off)) for setting in settings]
    cls = dataclasses.make_dataclass(
        name, fields, bases=(base,), namespace={"settings": settings}, frozen=True, order=True
    )
    cls.__module__ = __name__  # so that pickle (the Dask executor) finds it
    return cls


TrainingRecipe = combination_class("TrainingRecipe", [cls.search for cls in training_passes()])
Candidate = combination_class("Candidate", [cls.search for cls in PASSES.values()], base=_CandidateMethods)


def enumerate_space(space) -> list[Candidate]:
    """Every meaningful combination of `space` (a `search.space`), sorted: a pass that refuses a
    combination drops it (QAT is only paired with int8 PTQ, the inference it simulates)."""
    values = itertools.product(*(getattr(space, setting.key) for setting in Candidate.settings))
    candidates = {Candidate(*combination) for combination in values}
    return sorted(candidate for candidate in candidates if rejection_reason(candidate.config()) is None)


def parent_recipe(recipe: TrainingRecipe) -> TrainingRecipe:
    """The recipe without its last pass that runs: what it trains on top of (the base is its own)."""
    for setting in reversed(recipe.settings):
        if getattr(recipe, setting.key) != setting.off:
            return dataclasses.replace(recipe, **{setting.key: setting.off})
    return recipe


def recipe_depth(recipe: TrainingRecipe) -> int:
    """Passes the recipe runs: 0 for the base model."""
    depth = 0
    while not recipe.is_base:
        recipe, depth = parent_recipe(recipe), depth + 1
    return depth


def simplicity(config: dict) -> tuple[int, str]:
    """A candidate's place when equally good candidates are ordered, simplest first (see
    `constraints.choose`): the training passes it runs, then its id."""
    candidate = Candidate(**config)
    return recipe_depth(candidate.training), candidate.id


def recipe_passes(recipe: TrainingRecipe, distillation: dict | None = None) -> list[tuple[str, dict]]:
    """The recipe's training-time passes in order (its candidates add only `ptq`); `distillation`
    adds the spec's temperature and soft_weight to distill."""
    return training_passes_for(recipe.config(), {"distill": distillation or {}})

