"""Specs: pydantic models, Hydra composition, error messages, JSON schema."""

from edgeforge.spec.compose import compose_spec, load_params, write_params
from edgeforge.spec.device import Device
from edgeforge.spec.models import Spec, Target

__all__ = ["Device", "Spec", "Target", "compose_spec", "load_params", "write_params"]
