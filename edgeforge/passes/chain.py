"""A candidate's ordered passes, derived from its search values, and running the training-time ones.

    >>> passes_for({"width": 0.5, "sparsity": 0.5, "clusters": 0, "qat": True, "quantization": "int8"})
    [('distill', {'width': 0.5}), ('prune', {'sparsity': 0.5}), ('qat', {'preserve': 'sparsity'}),
     ('ptq', {'mode': 'int8'})]

The passes come in registry order (`edgeforge.passes.PASSES`); a training pass at its setting's
`off` value (width 1.0, sparsity 0, clusters 0, qat false) is skipped, and each pass derives its
options from the values (`Pass.options`). Each prefix of the list is a trained model of its own,
so candidates sharing a prefix can share the training.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from edgeforge.errors import BuildError
from edgeforge.passes import PASSES, Pass, training_passes
from edgeforge.passes.base import TrainContext


def rejection_reason(values: Mapping[str, Any]) -> str | None:
    """Why this combination makes no sense (the first pass that refuses it says), or None."""
    return next((reason for cls in PASSES.values() if (reason := cls.rejection(values))), None)


def passes_for(values: Mapping[str, Any], fixed: Mapping[str, Mapping] | None = None) -> list[tuple[str, dict]]:
    """A candidate's passes with their options; `fixed` holds what the spec sets per pass outside
    the space, by pass name (`{"distill": {"temperature": 4.0, "soft_weight": 0.7}}`)."""
    reason = rejection_reason(values)
    if reason:
        raise BuildError(reason)
    return _chain(PASSES.values(), values, fixed)


def training_passes_for(values: Mapping[str, Any], fixed: Mapping[str, Mapping] | None = None) -> list[tuple[str, dict]]:
    """A training recipe's passes: those of its candidates but the conversion."""
    return _chain(training_passes(), values, fixed)


def _chain(passes: Iterable[type[Pass]], values: Mapping[str, Any], fixed: Mapping[str, Mapping] | None):
    fixed = fixed or {}
    return [(cls.name, cls.options(values, fixed.get(cls.name, {}))) for cls in passes if cls.runs_for(values)]


def apply_training_passes(base_model, passes: list[tuple[str, dict]], context: TrainContext):
    """Run the training passes in order (skipping the conversion); return the model."""
    model = base_model
    for name, options in passes:
        if PASSES[name].trains:
            model = PASSES[name](options).apply(model, context)
    return model
