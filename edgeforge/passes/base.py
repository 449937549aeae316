"""The Pass interface: one optimization, one module, one small pydantic config, one search setting.

A training-time pass takes a trained tf_keras model and returns a new one; it also declares what
the search may vary (`search`), which is all the search needs to know about it::

    class Prune(Pass):
        name: ClassVar[str] = "prune"
        search: ClassVar[SearchSetting] = SearchSetting(
            key="sparsity", type=float, off=0.0, id_prefix="s",
            description="magnitude-pruning targets, in [0, 1)",
            check=lambda sparsity: 0 <= sparsity < 1, valid="sparsity is in [0, 1)",
        )

        class Config(PassConfig):
            sparsity: float = Field(gt=0, lt=1, description="final fraction of zero weights")

        def apply(self, model, context):
            ...  # wrap, fine-tune on context.splits, strip
            return pruned_model

From the registered passes' settings come the spec's `search.space` (one list per key, default
`[off]`), candidate ids (`w0.5-s0-c0-qat-int8`), training recipes, each candidate's pass list
(`options` turns a candidate's values into the pass's config) and the solver's distributions.
The conversion pass (`ptq`, `trains = False`) turns the final Keras model into TFLite bytes
instead, for every candidate. `edgeforge.passes.PASSES` registers the passes in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class SearchSetting:
    """What the search may vary for one pass: `search.space.<key>`, a list of values to try.

    `off` leaves the model as it is: a training pass is skipped there, and `[off]` is the space's
    default. In a candidate id the value follows `id_prefix` (`w0.5`, `c16`, a mode as it is); a
    bool shows only its prefix, and only when true (`qat`). `check` says whether one value is in
    range, `valid` says which values are, for the error message.
    """

    key: str
    type: Any  # of one value in the spec: float, int, bool, a Literal of names
    off: Any
    description: str
    id_prefix: str = ""
    check: Callable[[Any], bool] | None = None
    valid: str = ""

    def problem(self, value) -> str | None:
        """Why `value` cannot be searched, or None."""
        if self.check is None or self.check(value):
            return None
        return f"{self.key} {value} is out of range; {self.valid}"

    def label(self, value) -> str | None:
        """The value's part of a candidate id; None leaves it out."""
        if isinstance(value, bool):
            return self.id_prefix if value else None
        if isinstance(value, float):
            return f"{self.id_prefix}{value:g}"
        return f"{self.id_prefix}{value}"

    def distribution(self, values: Iterable):
        """The Optuna distribution a sampler draws this setting from: one of the space's values."""
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(sorted(set(values)))


class PassConfig(BaseModel):
    """A pass's options; unknown keys are errors. (Not a spec section: the spec imports the passes.)"""

    model_config = ConfigDict(extra="forbid")


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
    model_spec: Any = None  # the spec's `model` (any route); when None, the registry's `model_name`
    distill_epochs: int | None = None  # a student trains from scratch: it may need more than `epochs`
    # the task's loss (`evaluate.task`): splits.y_train holds class labels for classification, the
    # inputs themselves for an anomaly-detection autoencoder
    loss: Any = "sparse_categorical_crossentropy"
    augmentation: Any = None  # `train.augmentation`: seeded changes to the training batches (models/augmentation.py)


class Pass:
    """One optimization. Subclasses set `name`, `search` and `Config`, and implement `apply`."""

    name: ClassVar[str]
    search: ClassVar[SearchSetting]
    Config: ClassVar[type[PassConfig]] = PassConfig
    trains: ClassVar[bool] = True  # False: converts the trained model, for every candidate

    def __init__(self, config: PassConfig | dict | None = None):
        self.config = config if isinstance(config, PassConfig) else self.Config.model_validate(config or {})

    @classmethod
    def runs_for(cls, values: Mapping[str, Any]) -> bool:
        """Whether a candidate with these search values runs this pass (a missing value is off)."""
        return not cls.trains or values.get(cls.search.key, cls.search.off) != cls.search.off

    @classmethod
    def options(cls, values: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict:
        """This pass's config for a candidate's search values; `fixed` is what the spec sets for the
        pass outside the space (`search.distill` for distill). By default: the setting's value."""
        return {cls.search.key: values[cls.search.key], **fixed}

    @classmethod
    def rejection(cls, values: Mapping[str, Any]) -> str | None:
        """Why a combination of search values makes no sense with this pass, or None."""
        return None

    def apply(self, model, context: TrainContext):
        """Return the optimized model (training-time passes)."""
        raise TypeError(f"pass '{self.name}' does not transform Keras models")

    def __repr__(self) -> str:
        return f"{self.name}({self.config.model_dump()})"
