"""The MLPerf Tiny reference architectures (edgeforge/models/mlperf.py): at the reference shape and
width 1.0 each converts to int8 TFLite with the MACs and parameters of the vendored reference model
(examples/mlperf_tiny/), counted by edgeforge's own cost model on both files."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from edgeforge.models import build_model

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "examples" / "mlperf_tiny"
TOLERANCE = 0.02
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD")


class Reference(NamedTuple):
    input_shape: tuple[int, ...]
    outputs: int
    file: str


REFERENCES = {
    "mlperf_ds_cnn": Reference((49, 10, 1), 12, "kws_ref_model.tflite"),
    "resnet8": Reference((32, 32, 3), 10, "pretrainedResnet_quant.tflite"),
    "mobilenet_v1_025": Reference((96, 96, 3), 2, "vww_96_int8.tflite"),
    "fc_autoencoder": Reference((640,), 640, "ad01_int8.tflite"),
    "conv1d_cnn": Reference((30, 40), 3, "str_ww_ref_model.tflite"),
}
# Small shapes for the fast checks (the reference ones take seconds per model).
SMALL_SHAPES = {"mlperf_ds_cnn": (20, 10, 1), "resnet8": (8, 8, 3), "mobilenet_v1_025": (16, 16, 3), "fc_autoencoder": (24,),
                "conv1d_cnn": (24, 6)}


def like_trained(model, seed: int = 0) -> None:
    """Give all-zero weights (biases, batch-norm beta and mean) small non-zero values, as training
    would: the converter leaves out all-zero biases, which would make a fresh model's count low."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.01, 0.1, w.shape).astype(w.dtype) if not w.any() else w for w in model.get_weights()])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_mlperf_architecture_matches_its_reference_in_macs_and_params(name):
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.macs import total_macs, total_params
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import seed_everything

    reference = REFERENCES[name]
    path = REFERENCE_DIR / reference.file
    if not path.is_file():
        pytest.skip(f"reference model {path} is absent")
    seed_everything(0)
    model = build_model(name, reference.input_shape, reference.outputs)
    like_trained(model)
    samples = np.random.default_rng(0).normal(size=(16, *reference.input_shape)).astype(np.float32)
    ours = read_graph(PostTrainingQuantization({"mode": "int8"}).convert(model, samples))
    theirs = read_graph(path.read_bytes())
    assert [op.type for op in ours.operators if op.type in WEIGHTED_OPS] == [
        op.type for op in theirs.operators if op.type in WEIGHTED_OPS
    ]
    assert total_macs(ours) == pytest.approx(total_macs(theirs), rel=TOLERANCE)
    assert total_params(ours) == pytest.approx(total_params(theirs), rel=TOLERANCE)


@pytest.mark.parametrize("name", sorted(SMALL_SHAPES))
def test_mlperf_architecture_has_fewer_params_at_half_width(name):
    shape = SMALL_SHAPES[name]
    outputs = int(np.prod(shape)) if name == "fc_autoencoder" else 4
    full = build_model(name, shape, outputs, width=1.0).count_params()
    half = build_model(name, shape, outputs, width=0.5).count_params()
    assert half < 0.5 * full


@pytest.mark.parametrize("name", sorted(SMALL_SHAPES))
def test_mlperf_architecture_names_its_layers_the_same_in_every_build(name):
    """Keras's automatic names count up per process (conv2d, conv2d_1, ...); ours do not."""
    shape = SMALL_SHAPES[name]
    first, second = (build_model(name, shape, 4) for _ in range(2))
    names = [layer.name for layer in first.layers]
    assert names == [layer.name for layer in second.layers]
    assert len(set(names)) == len(names)
    assert first.name == name


def test_fc_autoencoder_reconstructs_without_softmax():
    model = build_model("fc_autoencoder", (24,), 24)
    assert type(model.layers[-1]).__name__ == "Dense"
    assert model.predict(np.ones((2, 24), np.float32), verbose=0).shape == (2, 24)


def test_conv1d_cnn_fits_its_kernels_to_a_short_series():
    model = build_model("conv1d_cnn", (12, 3), 5)
    scores = model.predict(np.zeros((2, 12, 3), np.float32), verbose=0)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    assert [layer.kernel_size[0] for layer in model.layers if type(layer).__name__ == "DepthwiseConv2D"] == [3, 5, 6, 1]


def test_conv1d_cnn_takes_quantize_aware_training():
    """Its 2-D layers have TF-MOT wrappers (a Conv1D has none: tests/unit/models/test_time_series.py)."""
    import tensorflow_model_optimization as tfmot

    quantized = tfmot.quantization.keras.quantize_model(build_model("conv1d_cnn", (24, 6), 4))
    assert quantized.predict(np.zeros((2, 24, 6), np.float32), verbose=0).shape == (2, 4)
