"""Your Keras code as the architecture: `model.factory: "pkg.module:function"`.

The module is imported from the project root (put on sys.path), and the function is called as
`function(input_shape, num_classes, width=width, dropout=dropout)`; it must return a tf_keras model
whose output has `num_classes` values per sample (ending in a Softmax, so that distillation can
reach the logits). Every way this goes wrong is a one-line UserError naming model.factory and the fix.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

from edgeforge.errors import UserError

KEY = "model.factory"


def split_reference(reference: str) -> tuple[str, str]:
    module, _, function = reference.partition(":")
    return module, function


def factory_source_file(reference: str, root: str | Path = ".") -> str:
    """The module's source file, relative to `root` (posix): what dvc.yaml's train stage depends on.

    Found on disk, not by importing, so composing a spec never runs the user's code."""
    module, _ = split_reference(reference)
    base = module.replace(".", "/")
    for relative in (f"{base}.py", f"{base}/__init__.py"):
        if (Path(root) / relative).is_file():
            return relative
    raise ValueError(
        f"factory '{reference}': module '{module}' not found (no {base}.py in the project root); "
        "put your model code there, or fix the module name"
    )


def factory_version(reference: str, root: str | Path = ".") -> str:
    """Hash of the factory reference and its source file: part of the trained models' memo keys, so
    editing your model code retrains its candidates."""
    digest = hashlib.sha256(reference.encode())
    digest.update((Path(root) / factory_source_file(reference, root)).read_bytes())
    return digest.hexdigest()[:16]


def load_factory(reference: str, root: str | Path = "."):
    """The factory function, imported with the project root on sys.path."""
    module_name, function_name = split_reference(reference)
    root = str(Path(root).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise UserError(
            f"{KEY}: module '{module_name}' not found ({error}); put it under the project root ({root}) or fix the name"
        ) from None
    except Exception as error:  # the user's module failed while importing: say so, on one line
        raise UserError(f"{KEY}: importing '{module_name}' failed: {type(error).__name__}: {_one_line(error)}; fix {module_name}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        names = sorted(name for name in vars(module) if callable(getattr(module, name)) and not name.startswith("_"))
        raise UserError(
            f"{KEY}: '{module_name}' has no function '{function_name}'"
            + (f"; it has: {', '.join(names)}" if names else "")
        )
    return function


def build_from_factory(reference: str, input_shape, num_classes: int, width: float, dropout: float, root: str | Path = "."):
    """A fresh model from the user's factory, checked to be a tf_keras model with the right output."""
    from edgeforge.tfcompat import fresh_layer_names, import_tf

    _, keras = import_tf()
    function = load_factory(reference, root)
    shape = tuple(int(d) for d in input_shape)
    try:
        # Your code may leave layers unnamed: Keras then names them from a per-process counter, and
        # those names reach the .tflite. Counting afresh for each call gives the names a first build
        # in a new process gets, so the bytes never depend on what the process built before; renaming
        # afterwards could not reach the variables and name scopes made under the old names.
        with fresh_layer_names():
            model = function(shape, num_classes, width=width, dropout=dropout)
    except Exception as error:
        raise UserError(
            f"{KEY}: {reference}{shape, num_classes} with width={width:g}, dropout={dropout:g} raised "
            f"{type(error).__name__}: {_one_line(error)}; fix the factory"
        ) from None
    if not isinstance(model, keras.Model):
        kind = type(model)
        hint = " (a Keras 3 model: build it with tf_keras, `import tf_keras as keras`)" if kind.__module__.startswith("keras") else ""
        raise UserError(f"{KEY}: {reference} returned {kind.__module__}.{kind.__name__}, not a tf_keras model{hint}; return a tf_keras.Model")
    check_output(model, num_classes, f"{KEY}: {reference}")
    return model


def check_output(model, num_classes: int, who: str) -> None:
    """The model must give `num_classes` values per sample (one output)."""
    outputs = model.outputs or []
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else None
    if shape is None or len(shape) != 2 or shape[-1] != num_classes:
        got = shape if shape is not None else f"{len(outputs)} outputs"
        raise UserError(
            f"{who}: the model's output is {got}, the data has {num_classes} classes; "
            f"end the model with Dense({num_classes}) and Softmax()"
        )


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or "(no message)"
