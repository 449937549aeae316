"""One way to get an architecture, whatever the route (`model.name`, `model.factory`, `model.path`):
what train_base, the search's untrained models and distillation's students all call."""

from __future__ import annotations

from edgeforge.errors import UserError


def build_architecture(model_spec, input_shape, num_classes: int, width: float | None = None, dropout: float | None = None):
    """A fresh (untrained) model of the spec's architecture at `width` (default: model.width); seed
    the RNG first for reproducible weights. A model file without a factory has one width only: its
    architecture re-initialized."""
    width = model_spec.width if width is None else width
    dropout = model_spec.dropout if dropout is None else dropout
    if model_spec.name:
        from edgeforge.models.registry import build_model

        return build_model(model_spec.name, input_shape, num_classes, width, dropout)
    if model_spec.factory:
        from edgeforge.models.factory import build_from_factory

        return build_from_factory(model_spec.factory, input_shape, num_classes, width, dropout)
    if width != 1.0:
        raise UserError(f"model.path: a student of width {width:g} needs your architecture code; add model.factory beside model.path")
    from edgeforge.models.files import load_model_file
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    return keras.models.clone_model(load_model_file(model_spec.path, input_shape, num_classes))


def model_code_version(model_spec) -> str:
    """What of the user's model code trained models depend on, for memo keys: the registry name, or
    the factory's source (editing it retrains); a model file's weights are keyed by their fingerprint."""
    if model_spec.factory:
        from edgeforge.models.factory import factory_version

        return f"factory:{factory_version(model_spec.factory)}"
    if str(model_spec.path or "").lower().endswith(".onnx"):
        # the whole graph, not only its weights: editing an op of the file re-converts every candidate
        from edgeforge.models.onnx_import import onnx_sha256

        return f"onnx:{onnx_sha256(model_spec.path)}"
    return f"name:{model_spec.name}" if model_spec.name else "file"
