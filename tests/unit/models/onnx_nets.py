"""Small ONNX models for tests, written with onnx.helper the way torch.onnx.export writes them:
channels-first (NCHW) input with a batch of one, Conv/Gemm weights in PyTorch's layout."""

from __future__ import annotations

import numpy as np


def cnn_weights(channels: int, height: int, width: int, classes: int, seed: int = 0) -> dict:
    """Seeded random weights of `cnn_onnx`'s layers, PyTorch layout."""
    rng = np.random.default_rng(seed)
    features = 8 * (height // 2) * (width // 2)
    return {
        "conv1.weight": rng.normal(0, 0.5, (4, channels, 3, 3)), "conv1.bias": rng.normal(0, 0.1, 4),
        "conv2.weight": rng.normal(0, 0.3, (8, 4, 3, 3)), "conv2.bias": rng.normal(0, 0.1, 8),
        "bn.weight": rng.uniform(0.5, 1.5, 8), "bn.bias": rng.normal(0, 0.1, 8),
        "bn.running_mean": rng.normal(0, 0.1, 8), "bn.running_var": rng.uniform(0.5, 1.5, 8),
        "fc.weight": rng.normal(0, 0.2, (classes, features)), "fc.bias": rng.normal(0, 0.1, classes),
    }


def cnn_onnx(channels: int, height: int, width: int, classes: int, weights: dict | None = None, *, batchnorm: bool = True,
             extra: str | None = None, opset: int = 17):
    """Conv3x3(pad 1) -> Relu -> MaxPool2 -> Conv3x3(pad 1) [-> BatchNormalization] -> Relu -> Flatten
    -> Gemm -> Softmax, input `input.1` (1, C, H, W). `extra` inserts one more unary op (by name)
    after the first Relu: how tests give the converter an op it does not handle."""
    from onnx import TensorProto, helper, numpy_helper

    weights = weights or cnn_weights(channels, height, width, classes)
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in weights.items() if batchnorm or not k.startswith("bn.")]
    nodes = [
        helper.make_node("Conv", ["input.1", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/Relu"),
    ]
    pooled_input = "r1"
    if extra:
        nodes.append(helper.make_node(extra, ["r1"], ["x1"], name=f"/{extra}"))
        pooled_input = "x1"
    nodes += [
        helper.make_node("MaxPool", [pooled_input], ["p1"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    if batchnorm:
        nodes.append(helper.make_node("BatchNormalization", ["c2", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["b2"],
                                      name="/bn/BatchNormalization", epsilon=1e-5))
    nodes += [
        helper.make_node("Relu", ["b2" if batchnorm else "c2"], ["r2"], name="/Relu_1"),
        helper.make_node("Flatten", ["r2"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["output"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "torch_jit",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, channels, height, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, classes])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
    model.ir_version = 8
    return model


def keras_cnn_weights(keras_model) -> dict:
    """`cnn_onnx` weights (PyTorch layout) of a trained tf_keras twin: Conv2D(4, 3, same), ReLU,
    MaxPool(2), Conv2D(8, 3, same), ReLU, Flatten, Dense(classes), Softmax (no batch norm)."""
    convs = [layer for layer in keras_model.layers if type(layer).__name__ == "Conv2D"]
    (dense,) = [layer for layer in keras_model.layers if type(layer).__name__ == "Dense"]
    kernel, bias = dense.get_weights()
    height, width, channels = convs[1].output_shape[1:]
    # Keras flattens (h, w, c), PyTorch (c, h, w): reorder the classifier's rows
    fc = kernel.reshape(height, width, channels, -1).transpose(2, 0, 1, 3).reshape(height * width * channels, -1)
    return {
        "conv1.weight": convs[0].get_weights()[0].transpose(3, 2, 0, 1), "conv1.bias": convs[0].get_weights()[1],
        "conv2.weight": convs[1].get_weights()[0].transpose(3, 2, 0, 1), "conv2.bias": convs[1].get_weights()[1],
        "fc.weight": fc.T, "fc.bias": bias,
    }
