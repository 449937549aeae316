"""Architecture registry: build a tf_keras classifier by name and width."""

from edgeforge.models.registry import ARCHITECTURES, build_model, scaled

__all__ = ["ARCHITECTURES", "build_model", "scaled"]
