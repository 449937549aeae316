import os
import warnings

import numpy as np
import pytest

from edgeforge.cost.graph import read_graph
from edgeforge.cost.macs import op_costs, total_macs, total_params
from tests.conftest import MLPERF_TINY

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf_keras, before TensorFlow is first imported



def _convert(model, mode: str = "float32") -> bytes:
    """A Keras model as TFLite: float32, or full-integer int8 / int16x8 with random calibration."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        rng = np.random.default_rng(0)
        shapes = [tuple(i.shape) for i in model.inputs]
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(8)
        )
        ops = {
            "int8": tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            "int16x8": tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
        }
        converter.target_spec.supported_ops = [ops[mode]]
    with warnings.catch_warnings():  # TensorFlow's own note about float model inputs
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        return converter.convert()


def _small_cnn():
    from tf_keras import Input, Model, layers

    x = Input((10, 10, 3), batch_size=1)
    y = layers.Conv2D(8, 3, bias_initializer="ones")(x)  # 8x8x8 out
    y = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, bias_initializer="ones")(y)  # 8x8x16
    y = layers.AveragePooling2D(2)(y)  # 4x4x16 out
    y = layers.Flatten()(y)
    y = layers.Dense(5, bias_initializer="ones")(y)  # the converter drops all-zero biases
    y = layers.Softmax()(y)
    return Model(x, y)


# Hand counts for _small_cnn, layer by layer:
CONV_MACS = 8 * 8 * 8 * (3 * 3 * 3)  # out_h * out_w * out_c * k_h * k_w * in_c
DEPTHWISE_MACS = 8 * 8 * 16 * (3 * 3)  # out_h * out_w * out_c * k_h * k_w
DENSE_MACS = (4 * 4 * 16) * 5  # in_features * units
SMALL_CNN_PARAMS = (3 * 3 * 3 * 8 + 8) + (3 * 3 * 8 * 2 + 16) + (256 * 5 + 5)


@pytest.fixture(scope="module")
def small_cnn_float():
    return read_graph(_convert(_small_cnn()))


def test_op_costs_match_hand_counts_for_conv_depthwise_and_dense(small_cnn_float):
    costs = {cost.type: cost for cost in op_costs(small_cnn_float)}

    assert costs["CONV_2D"].macs == CONV_MACS == 13_824
    assert costs["DEPTHWISE_CONV_2D"].macs == DEPTHWISE_MACS == 9_216
    assert costs["FULLY_CONNECTED"].macs == DENSE_MACS == 1_280
    assert costs["CONV_2D"].params == 3 * 3 * 3 * 8 + 8
    assert costs["DEPTHWISE_CONV_2D"].output_elements == 8 * 8 * 16
    assert costs["DEPTHWISE_CONV_2D"].output_bytes == 8 * 8 * 16 * 4


def test_op_costs_count_pooling_softmax_and_reshape_as_zero_known_macs(small_cnn_float):
    zero_mac_ops = [c for c in op_costs(small_cnn_float) if c.type in ("AVERAGE_POOL_2D", "SOFTMAX", "RESHAPE")]

    assert {c.type for c in zero_mac_ops} >= {"AVERAGE_POOL_2D", "SOFTMAX"}
    assert all(c.macs == 0 and c.macs_known for c in zero_mac_ops)
    assert next(c for c in zero_mac_ops if c.type == "AVERAGE_POOL_2D").output_elements == 4 * 4 * 16


def test_total_params_equal_keras_count_params(small_cnn_float):
    assert total_params(small_cnn_float) == SMALL_CNN_PARAMS == _small_cnn().count_params()
    assert total_macs(small_cnn_float) == CONV_MACS + DEPTHWISE_MACS + DENSE_MACS


@pytest.mark.parametrize(("mode", "dtype"), [("int8", "int8"), ("int16x8", "int16")])
def test_op_costs_keep_macs_and_report_activation_dtype_when_quantized(small_cnn_float, mode, dtype):
    quantized = read_graph(_convert(_small_cnn(), mode))
    compute = [c for c in op_costs(quantized) if c.macs]

    assert [c.macs for c in compute] == [CONV_MACS, DEPTHWISE_MACS, DENSE_MACS]
    assert {c.dtype for c in compute} == {dtype}
    assert total_params(quantized) == SMALL_CNN_PARAMS


def test_op_costs_count_grouped_conv_per_group():
    from tf_keras import Input, Model, layers

    x = Input((8, 8, 4), batch_size=1)
    graph = read_graph(_convert(Model(x, layers.Conv2D(8, 3, groups=2, bias_initializer="ones")(x))))
    (conv,) = op_costs(graph)

    assert conv.type == "CONV_2D"
    assert conv.macs == 6 * 6 * 8 * (3 * 3 * 4 // 2)  # each output channel sees in_c / groups
    assert conv.params == 3 * 3 * 2 * 8 + 8


def test_op_costs_count_transpose_conv_per_input_pixel():
    from tf_keras import Input, Model, layers

    x = Input((4, 4, 3), batch_size=1)
    graph = read_graph(_convert(Model(x, layers.Conv2DTranspose(5, 3, strides=2, padding="same", bias_initializer="ones")(x))))
    (tconv,) = [c for c in op_costs(graph) if c.type == "TRANSPOSE_CONV"]

    assert tconv.macs == (4 * 4 * 3) * (3 * 3 * 5)  # in_h * in_w * in_c * k_h * k_w * out_c
    assert tconv.params == 3 * 3 * 5 * 3 + 5
    assert tconv.output_elements == 8 * 8 * 5


def test_op_costs_count_one_mac_per_element_for_elementwise_ops():
    from tf_keras import Input, Model, layers

    a, b = Input((4, 4, 2), batch_size=1), Input((4, 4, 2), batch_size=1)
    graph = read_graph(_convert(Model([a, b], layers.Multiply()([layers.Add()([a, b]), b]))))

    assert {(c.type, c.macs, c.params) for c in op_costs(graph)} == {("ADD", 32, 0), ("MUL", 32, 0)}


def test_op_costs_flag_ops_without_a_mac_formula():
    import tensorflow as tf
    from tf_keras import Input, Model, layers

    x = Input((6, 3), batch_size=1)
    graph = read_graph(_convert(Model(x, layers.Lambda(lambda t: tf.math.cumsum(t, axis=1))(x))))
    (cumsum,) = op_costs(graph)

    assert cumsum.type == "CUMSUM"
    assert (cumsum.macs, cumsum.macs_known) == (0, False)


# MLPerf Tiny reference models against the MAC counts quoted for them, within 3%.
# Source: C. Banbury et al., "MLPerf Tiny Benchmark", NeurIPS Datasets and Benchmarks 2021,
# arXiv:2106.07597. The model sizes of its benchmark table (52.5 KB, 325 KB, 96 KB, 270 KB) are
# confirmed by Linley Group's summary ("MLPerf Gets Tiny", 2021-08-03); the MAC figures below are
# the ones the brief quotes for the paper, not re-read from the paper text, which this
# environment could not reach. ResNet-8's 12.5M MACs and 77,706 weights are also what an
# independent profile of the same model reports.
PUBLISHED_MACS = {
    "vww_96_int8.tflite": 7.5e6,  # visual wake words, MobileNetV1 0.25x, 96x96x3
    "vww_96_float.tflite": 7.5e6,
    "pretrainedResnet_quant.tflite": 12.5e6,  # image classification, ResNet-8, CIFAR-10
    "pretrainedResnet.tflite": 12.5e6,
    "kws_ref_model.tflite": 2.7e6,  # keyword spotting, DS-CNN, 49x10 MFCC
    "kws_ref_model_float32.tflite": 2.7e6,
    "ad01_int8.tflite": 0.26e6,  # anomaly detection, FC autoencoder, 640 inputs
    "ad01_fp32.tflite": 0.26e6,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_MACS))
def test_total_macs_match_mlperf_tiny_published_figures(name):
    path = MLPERF_TINY / name
    macs = total_macs(read_graph(path))

    print(f"{name}: {macs:,} MACs (published {PUBLISHED_MACS[name]:,.0f})")
    assert macs == pytest.approx(PUBLISHED_MACS[name], rel=0.03)
