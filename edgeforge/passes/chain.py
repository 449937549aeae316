"""A candidate's ordered passes, derived from its config, and running the training-time ones.

    >>> passes_for({"width": 0.5, "sparsity": 0.5, "clusters": 0, "qat": True, "quantization": "int8"})
    [('distill', {'width': 0.5}), ('prune', {'sparsity': 0.5}), ('qat', {'preserve': 'sparsity'}),
     ('ptq', {'mode': 'int8'})]

Width 1.0, sparsity 0, clusters 0 and qat false skip that pass. Each prefix of the list is a
trained model of its own, so candidates sharing a prefix can share the training.
"""

from __future__ import annotations

import time

from edgeforge.errors import BuildError
from edgeforge.passes import PASSES
from edgeforge.passes.base import TrainContext
from edgeforge.spec.models import QAT_MODES


def rejection_reason(config: dict) -> str | None:
    """Why this combination makes no sense, or None."""
    if config.get("qat") and config["quantization"] not in QAT_MODES:
        return (
            f"qat with quantization '{config['quantization']}' is pointless: QAT trains for int8 inference; "
            f"use quantization {' or '.join(QAT_MODES)}, or qat false"
        )
    return None


def passes_for(config: dict, distillation: dict | None = None) -> list[tuple[str, dict]]:
    """The candidate's passes in PASS_ORDER; `distillation` adds temperature and soft_weight."""
    reason = rejection_reason(config)
    if reason:
        raise BuildError(reason)
    sparsity, clusters = config.get("sparsity", 0.0), config.get("clusters", 0)
    passes: list[tuple[str, dict]] = []
    if config.get("width", 1.0) < 1.0:
        passes.append(("distill", {"width": config["width"], **(distillation or {})}))
    if sparsity > 0:
        passes.append(("prune", {"sparsity": sparsity}))
    if clusters:
        passes.append(("cluster", {"clusters": clusters, **({"preserve_sparsity": True} if sparsity > 0 else {})}))
    if config.get("qat"):
        passes.append(("qat", {"preserve": qat_preserve(sparsity, clusters)}))
    passes.append(("ptq", {"mode": config["quantization"]}))
    return passes


def qat_preserve(sparsity: float, clusters: int) -> str:
    """What QAT must keep of the passes before it (plain QAT would undo both)."""
    if sparsity > 0 and clusters:
        return "both"
    if sparsity > 0:
        return "sparsity"
    return "clusters" if clusters else "none"


def apply_training_passes(base_model, passes: list[tuple[str, dict]], context: TrainContext):
    """Run the passes other than ptq in order; return (model, seconds spent training)."""
    start = time.perf_counter()
    model = base_model
    for name, options in passes:
        if name != "ptq":
            model = PASSES[name](options).apply(model, context)
    return model, time.perf_counter() - start
