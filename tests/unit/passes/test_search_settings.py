"""Each pass declares what the search may vary; the space, ids, chains and distributions follow the registry."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from edgeforge.passes import PASSES, SearchSetting, training_passes
from edgeforge.spec.models import Space
from tests.conftest import REPO


@pytest.mark.parametrize("name", list(PASSES))
def test_every_registered_pass_declares_a_search_setting_whose_off_value_is_valid(name):
    setting = PASSES[name].search
    assert isinstance(setting, SearchSetting)
    assert setting.problem(setting.off) is None
    assert setting.description


def test_search_keys_are_unique_and_the_conversion_runs_last():
    keys = [cls.search.key for cls in PASSES.values()]
    assert len(set(keys)) == len(keys)
    assert [cls.name for cls in training_passes()] == list(PASSES)[:-1]
    assert not list(PASSES.values())[-1].trains


def test_space_fields_are_the_registry_settings_in_pass_order():
    fields = Space.model_fields
    assert list(fields) == [cls.search.key for cls in PASSES.values()] == [
        "width", "sparsity", "clusters", "qat", "quantization"
    ]
    for cls in PASSES.values():
        field = fields[cls.search.key]
        assert field.annotation == list[cls.search.type]
        assert field.default == [cls.search.off]
        assert field.description == cls.search.description


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("width", 0.0, "width 0.0 is out of range; widths are in (0, 1]"),
        ("sparsity", 1.0, "sparsity 1.0 is out of range; sparsity is in [0, 1)"),
        ("clusters", 1, "clusters 1 is out of range; use 0 (off) or 2..256"),
        ("clusters", 257, "clusters 257 is out of range; use 0 (off) or 2..256"),
    ],
)
def test_search_setting_problem_names_the_valid_range(key, bad, message):
    setting = {cls.search.key: cls.search for cls in PASSES.values()}[key]
    assert setting.problem(bad) == message


def test_search_setting_label_shows_a_flag_only_when_on():
    qat = PASSES["qat"].search
    assert (qat.label(True), qat.label(False)) == ("qat", None)
    assert PASSES["distill"].search.label(0.5) == "w0.5"
    assert PASSES["cluster"].search.label(16) == "c16"
    assert PASSES["ptq"].search.label("int16x8") == "int16x8"


# A fresh interpreter registers one more pass (between qat and ptq, as passes/__init__.py would
# list it) before anything reads the registry, then reports what the search derived from it.
NEW_PASS = textwrap.dedent(
    """
    import json
    from types import SimpleNamespace
    from typing import ClassVar

    from pydantic import Field, ValidationError

    from edgeforge.passes import PASSES, Pass, PassConfig, SearchSetting

    class Dither(Pass):
        name: ClassVar[str] = "dither"
        search: ClassVar[SearchSetting] = SearchSetting(
            key="noise", type=float, off=0.0, id_prefix="n", description="weight-noise levels",
            check=lambda noise: 0 <= noise <= 0.1, valid="noise is in [0, 0.1]",
        )

        class Config(PassConfig):
            noise: float = Field(gt=0, le=0.1, description="noise added to each weight, relative")

    *training, conversion = PASSES.items()
    PASSES.clear()
    PASSES.update([*training, ("dither", Dither), conversion])

    from edgeforge.search.candidates import Candidate, TrainingRecipe, enumerate_space, parent_recipe, recipe_passes
    from edgeforge.search.strategies import _distributions, _params
    from edgeforge.spec.models import Space, Spec

    space = Space(sparsity=[0.0, 0.5], noise=[0.0, 0.05], quantization=["int8"])
    session = SimpleNamespace(spec=SimpleNamespace(search=SimpleNamespace(space=space)))
    recipe = TrainingRecipe(sparsity=0.5, noise=0.05)
    try:
        Space(noise=[0.5])
    except ValidationError as error:
        out_of_range = str(error)
    print(json.dumps({
        "fields": list(Space.model_fields),
        "schema": Spec.model_json_schema()["$defs"]["Space"]["properties"]["noise"],
        "ids": [candidate.id for candidate in enumerate_space(space)],
        "recipe": [recipe.id, recipe.noise, parent_recipe(recipe).id, recipe_passes(recipe)],
        "distributions": {key: list(d.choices) for key, d in _distributions(session).items()},
        "params": _params(recipe),
        "out_of_range": out_of_range,
    }))
    """
)


def test_a_new_pass_takes_its_module_and_a_registry_entry():
    run = subprocess.run([sys.executable, "-c", NEW_PASS], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    derived = json.loads(run.stdout.splitlines()[-1])
    assert derived["fields"] == ["width", "sparsity", "clusters", "qat", "noise", "quantization"]
    assert derived["schema"] == {
        "default": [0.0],
        "description": "weight-noise levels",
        "items": {"type": "number"},
        "minItems": 1,
        "title": "Noise",
        "type": "array",
    }
    assert derived["ids"] == ["w1-s0-c0-n0-int8", "w1-s0-c0-n0.05-int8", "w1-s0.5-c0-n0-int8", "w1-s0.5-c0-n0.05-int8"]
    assert derived["recipe"] == [
        "w1-s0.5-c0-n0.05",
        0.05,
        "w1-s0.5-c0-n0",
        [["prune", {"sparsity": 0.5}], ["dither", {"noise": 0.05}]],
    ]
    assert derived["distributions"]["noise"] == [0.0, 0.05]
    assert list(derived["distributions"]) == ["width", "sparsity", "clusters", "qat", "noise"]
    assert derived["params"] == {"width": 1.0, "sparsity": 0.5, "clusters": 0, "qat": False, "noise": 0.05}
    assert "noise 0.5 is out of range; noise is in [0, 0.1]" in derived["out_of_range"]
