"""model.factory: your Keras code, imported from the project root. Each way it goes wrong is a
one-line UserError naming model.factory and the fix; editing the code changes its memo version."""

from __future__ import annotations

import itertools
import textwrap

import pytest
from pydantic import ValidationError

from edgeforge.errors import UserError
from edgeforge.models.factory import build_from_factory, factory_source_file, factory_version
from edgeforge.models.source import build_architecture, model_code_version
from edgeforge.spec.models import ModelSpec

CONV1D = """
import tf_keras as keras


def build(input_shape, num_classes, width=1.0, dropout=0.0):
    layers = keras.layers
    return keras.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv1D(max(2, int(8 * width)), 3, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(dropout),
        layers.Dense(num_classes),
        layers.Softmax(),
    ])


def raises(input_shape, num_classes, width=1.0, dropout=0.0):
    raise RuntimeError("no GPU\\nsecond line")


def not_a_model(input_shape, num_classes, width=1.0, dropout=0.0):
    return "a string"


def wrong_output(input_shape, num_classes, width=1.0, dropout=0.0):
    return build(input_shape, num_classes + 1, width, dropout)
"""
_names = itertools.count()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project root holding a fresh package (a new name per test: Python caches modules)."""
    package = f"usermodels{next(_names)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "net.py").write_text(textwrap.dedent(CONV1D))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path, package


def test_the_factory_builds_a_tf_keras_model_at_each_width(project):
    _, package = project
    spec = ModelSpec(factory=f"{package}.net:build", factory_file=f"{package}/net.py", weights_file=f"{package}/net.py", dropout=0.25)
    full = build_architecture(spec, (32, 3), 4)
    half = build_architecture(spec, (32, 3), 4, width=0.5)
    assert full.output_shape == (None, 4)
    assert full.layers[0].filters == 8 and half.layers[0].filters == 4
    assert full.layers[2].rate == 0.25


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("missing", "model.factory: 'PKG.net' has no function 'missing'; it has: build, not_a_model, raises, wrong_output"),
        ("raises", "raised RuntimeError: no GPU second line; fix the factory"),
        ("not_a_model", "returned builtins.str, not a tf_keras model; return a tf_keras.Model"),
        ("wrong_output", "the model's output is (None, 5), the data has 4 classes; end the model with Dense(4) and Softmax()"),
    ],
)
def test_each_broken_factory_is_a_one_line_user_error(project, function, message):
    _, package = project
    with pytest.raises(UserError) as error:
        build_from_factory(f"{package}.net:{function}", (32, 3), 4, 1.0, 0.0)
    text = str(error.value)
    assert message.replace("PKG", package) in text
    assert text.startswith("model.factory:") and "\n" not in text


def test_a_missing_module_is_named_at_validation(project):
    with pytest.raises(ValidationError, match="module 'nowhere.net' not found \\(no nowhere/net.py in the project root\\)"):
        ModelSpec(factory="nowhere.net:build", factory_file="nowhere/net.py")
    with pytest.raises(UserError, match="model.factory: module 'nowhere' not found"):
        build_from_factory("nowhere:build", (32, 3), 4, 1.0, 0.0)


def test_the_spec_names_the_routes_and_the_dvc_dependency(project):
    _, package = project
    with pytest.raises(ValidationError, match="set either 'name' .* or 'factory'"):
        ModelSpec(name="tiny_cnn", factory=f"{package}.net:build")
    with pytest.raises(ValidationError, match="set 'name' .*, 'factory' .* or 'path'"):
        ModelSpec()
    with pytest.raises(ValidationError, match="is not 'pkg.module:function'"):
        ModelSpec(factory="net.build")
    with pytest.raises(ValidationError, match=f"'factory_file' is missing: .*; add factory_file: {package}/net.py"):
        ModelSpec(factory=f"{package}.net:build")
    with pytest.raises(ValidationError, match=f"set factory_file: {package}/net.py"):
        ModelSpec(factory=f"{package}.net:build", factory_file="other.py")
    with pytest.raises(ValidationError, match=f"'weights_file' is missing: .*; add weights_file: {package}/net.py \\(without model.path"):
        ModelSpec(factory=f"{package}.net:build", factory_file=f"{package}/net.py")
    assert factory_source_file(f"{package}:build") == f"{package}/__init__.py"


def test_editing_the_factory_source_changes_its_version(project):
    root, package = project
    spec = ModelSpec(factory=f"{package}.net:build", factory_file=f"{package}/net.py", weights_file=f"{package}/net.py")
    before = model_code_version(spec)
    assert before == model_code_version(spec) and before.startswith("factory:")
    (root / package / "net.py").write_text(textwrap.dedent(CONV1D) + "\n# tuned\n")
    assert model_code_version(spec) != before
    assert factory_version(f"{package}.net:build") != factory_version(f"{package}.net:raises")
    assert model_code_version(ModelSpec(name="tiny_cnn")) == "name:tiny_cnn"
