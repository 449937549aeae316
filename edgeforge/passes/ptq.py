"""Post-training quantization: the TFLite converter with one of five modes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from edgeforge.errors import BuildError
from edgeforge.passes.base import Pass, PassConfig, SearchSetting
from edgeforge.tfcompat import import_tf

if TYPE_CHECKING:  # imported where arrays are used: every stage imports the spec, and most never touch an array
    import numpy as np

QuantMode = Literal["float32", "float16", "dynamic", "int8", "int16x8"]
QUANT_MODES: tuple[str, ...] = QuantMode.__args__
# The kernels a device must have to run a mode's heavy ops: float16 weights are computed in float32
# where a runtime has no float16 kernels, and dynamic-range (hybrid) ops take float32 activations.
KERNEL_DTYPE: dict[str, str] = {"float32": "float32", "float16": "float32", "dynamic": "float32", "int8": "int8", "int16x8": "int16"}
REPRESENTATIVE_SAMPLES = 200


class PostTrainingQuantization(Pass):
    """Convert a Keras model to TFLite. Cost: ~1 s of conversion, no training.

    float32: no quantization. float16: weights stored as float16. dynamic: int8 weights,
    float activations (hybrid kernels). int8: full integer with int8 input/output, ranges from
    representative training data. int16x8: int16 activations, int8 weights (better accuracy than
    int8 at twice the activation memory), int16 input/output.
    """

    name: ClassVar[str] = "ptq"
    trains: ClassVar[bool] = False
    search: ClassVar[SearchSetting] = SearchSetting(
        key="quantization", type=QuantMode, off="float32", description="post-training quantization modes"
    )

    class Config(PassConfig):
        mode: QuantMode = Field(description="float32 | float16 | dynamic | int8 | int16x8")

    @classmethod
    def options(cls, values: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict:
        return {"mode": values["quantization"], **fixed}

    def convert(self, model, representative_x: np.ndarray) -> bytes:
        import numpy as np

        tf, _ = import_tf()
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        mode = self.config.mode
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode in ("int8", "int16x8"):
            samples = representative_x[:REPRESENTATIVE_SAMPLES].astype(np.float32)
            converter.representative_dataset = lambda: ([sample[np.newaxis]] for sample in samples)
        if mode == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        if mode == "int16x8":
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
            converter.inference_input_type = tf.int16
            converter.inference_output_type = tf.int16
        try:
            return bytes(converter.convert())
        except Exception as error:  # the converter raises many unrelated types
            raise BuildError(f"TFLite conversion ({mode}) failed: {str(error).splitlines()[0]}") from error
