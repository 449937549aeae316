"""What each pass of a chosen candidate changed, read from the search's own measurements.

A candidate is its recipe's passes applied one at a time, then PTQ. Walking that chain from the
base model, each step is a pair of candidates the search measured on the target (the recipe
before and after the pass, in the chosen PTQ mode; for PTQ, the float32 model and the chosen
one), so the report can say what each pass did to sparsity, unique weights, size and accuracy.
A step whose candidates the search did not measure on this target says so (`None`).
"""

from __future__ import annotations

from edgeforge.outputs import TargetSearch
from edgeforge.search.candidates import Candidate, parent_recipe, recipe_passes

EFFECT_METRICS = ("accuracy", "model_bytes", "weight_sparsity", "max_unique_weights", "arena_bytes", "latency_ms")


def pass_effects(result: TargetSearch, chosen_id: str) -> list[dict]:
    """One row per pass of the chosen candidate: {pass, before, after}, ids and metrics of both."""
    measured = {entry.id: entry for entry in result.measured() if not entry.probe}
    chosen = Candidate(**measured[chosen_id].config)
    recipes = [chosen.training]
    while not recipes[0].is_base:
        recipes.insert(0, parent_recipe(recipes[0]))

    def state(recipe, mode: str) -> dict:
        candidate_id = Candidate(**recipe.config(), quantization=mode).id
        entry = measured.get(candidate_id)
        metrics = {key: entry.metrics.get(key) for key in EFFECT_METRICS} if entry else None
        return {"id": candidate_id, "metrics": metrics}

    rows = [
        {"pass": recipe_passes(after)[-1][0], "before": state(before, chosen.quantization), "after": state(after, chosen.quantization)}
        for before, after in zip(recipes, recipes[1:])
    ]
    if chosen.quantization != "float32":
        rows.append({"pass": "ptq", "before": state(chosen.training, "float32"), "after": state(chosen.training, chosen.quantization)})
    return rows
