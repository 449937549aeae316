"""Small specs and models for search tests: the repo's specs with a quick training and a chosen space."""

from __future__ import annotations

from functools import cache

from tests.conftest import REPO

# The issue-6 space: every training-time pass, both widths and all PTQ modes (48 combinations).
FULL_SPACE = {
    "width": [1.0, 0.5], "sparsity": [0.0, 0.5], "clusters": [0, 16], "qat": [False, True],
    "quantization": ["float32", "float16", "dynamic", "int8", "int16x8"],
}


@cache
def repo_spec():
    from edgeforge.spec.compose import compose_spec

    spec, _ = compose_spec(REPO / "specs")
    return spec


def quick_spec(space: dict | None = None, constraints: dict[str, dict] | None = None, **search):
    """The repo's spec with 3 base epochs, 1 fine-tune epoch and the given space, search and constraints."""
    spec = repo_spec()
    data = spec.model_dump(by_alias=True)
    data["train"]["epochs"] = 3
    data["search"].update({"finetune_epochs": 1, **search})
    data["search"]["space"].update(space or {})
    for name, limits in (constraints or {}).items():
        data["targets"][name]["constraints"] = limits
    return type(spec).model_validate(data)


@cache
def digits():
    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.spec.models import Dataset

    dataset = Dataset(name="digits")
    x, y = load_dataset(dataset)
    return split_dataset(x, y, dataset, seed=0)


@cache
def quick_base_model():
    from edgeforge.models.training import train_base

    spec = quick_spec()
    model, _ = train_base(spec.model, spec.train, digits(), spec.project.seed)
    return model
