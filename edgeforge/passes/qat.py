"""Quantization-aware training (TF-MOT): fine-tune with simulated int8 weights and activations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from edgeforge.passes.base import Pass, PassConfig, SearchSetting, TrainContext
from edgeforge.passes.finetune import clone_with_weights, fine_tune, warn_skipped_layers, wrapping
from edgeforge.tfcompat import seed_everything

Preserve = Literal["none", "sparsity", "clusters", "both"]

# QAT simulates int8 weights and activations, which only int8 conversion delivers: int16x8 fails
# on a QAT model, float32 keeps float kernels, float16 and dynamic give int8 with float I/O.
QAT_MODES = ("int8",)

# QAT adapts a trained model to int8 ranges; the full training rate disturbs it more than it helps
# (on digits: int8 accuracy 0.981 at a tenth of 1e-3, 0.972 at 1e-3).
RATE_FACTOR = 0.1


class Qat(Pass):
    """Fine-tune with fake int8 quantization so the int8 model loses less accuracy.

    Plain QAT retrains every weight and so undoes pruning and clustering; `preserve` picks TF-MOT's
    collaborative scheme that keeps them (PQAT, CQAT, or PCQAT for both). Returns the
    quantize-annotated model; the `ptq` pass in mode int8 turns it into an int8 TFLite model
    (int16x8 cannot: QAT simulates 8-bit activations). Cost: fine-tunes for `context.epochs` epochs
    at a tenth of the learning rate.
    """

    name: ClassVar[str] = "qat"
    search: ClassVar[SearchSetting] = SearchSetting(
        key="qat", type=bool, off=False, id_prefix="qat", description="quantization-aware training"
    )

    class Config(PassConfig):
        preserve: Preserve = Field(
            "none", description="none | sparsity | clusters | both: what earlier passes made that QAT must keep"
        )

    @classmethod
    def options(cls, values: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict:
        return {"preserve": qat_preserve(values.get("sparsity", 0.0), values.get("clusters", 0)), **fixed}

    @classmethod
    def rejection(cls, values: Mapping[str, Any]) -> str | None:
        if values.get("qat") and values["quantization"] not in QAT_MODES:
            return (
                f"qat with quantization '{values['quantization']}' is pointless: QAT trains for int8 inference; "
                f"use quantization {' or '.join(QAT_MODES)}, or qat false"
            )
        return None

    def apply(self, model, context: TrainContext):
        import tensorflow_model_optimization as tfmot

        seed_everything(context.seed)
        copy = clone_with_weights(model)
        if self.config.preserve != "none":
            warn_skipped_layers(copy, self.name, f"{self.config.preserve}-preserving quantization")
        with wrapping(self.name):
            annotated = tfmot.quantization.keras.quantize_annotate_model(copy)
            quantized = tfmot.quantization.keras.quantize_apply(annotated, quantize_scheme(self.config.preserve))
        fine_tune(quantized, context, rate_factor=RATE_FACTOR)
        return quantized


def qat_preserve(sparsity: float, clusters: int) -> Preserve:
    """What QAT must keep of the passes before it (plain QAT would undo both)."""
    if sparsity > 0 and clusters:
        return "both"
    if sparsity > 0:
        return "sparsity"
    return "clusters" if clusters else "none"


def quantize_scheme(preserve: Preserve):
    import tensorflow_model_optimization as tfmot

    combine = tfmot.experimental.combine
    schemes = {
        "none": tfmot.quantization.keras.default_8bit.Default8BitQuantizeScheme,
        "sparsity": combine.Default8BitPrunePreserveQuantizeScheme,
        "clusters": lambda: combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=False),
        "both": lambda: combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True),
    }
    return schemes[preserve]()
