"""The MLPerf Tiny reference architectures (github.com/mlcommons/tiny, benchmark/training/), width-scalable.

At width 1.0 each converts to the same TFLite graph as the reference model vendored in
examples/mlperf_tiny/ (same ops, kernels, strides, padding and channels; batch norm folded into
the convolution before it), which tests/unit/models/test_mlperf.py checks by MACs and parameters:

    name              task                       reference input   reference file
    mlperf_ds_cnn     keyword spotting (DS-CNN)  (49, 10, 1) MFCC   kws_ref_model.tflite
    resnet8           image classification       (32, 32, 3)        pretrainedResnet_quant.tflite
    mobilenet_v1_025  visual wake words          (96, 96, 3)        vww_96_int8.tflite
    fc_autoencoder    anomaly detection          (640,)             ad01_int8.tflite
    conv1d_cnn        time series (streaming     (30, 40)           str_ww_ref_model.tflite
                      wake word's 1-D DS-CNN)

`width` multiplies every layer's channels (the reference's counts at 1.0; mobilenet_v1_025 is
MobileNet v1 at alpha 0.25 there). Every layer has a fixed name, so a model's layer names, and
what is keyed on them, never depend on what the process built before.

conv1d_cnn takes a (T, C) time series but runs it as (T, 1, C) through DepthwiseConv2D with
(k, 1) kernels and 1x1 Conv2D, as the reference does: TFLite runs a Conv1D as a Conv2D anyway,
and TF-MOT has quantize-aware wrappers for these 2-D layers but none for Conv1D, so QAT applies.
The Keras Reshape to (T, 1, C) converts to SHAPE, STRIDED_SLICE, PACK and RESHAPE (the batch
size is dynamic): four tiny ops without MACs or weights, all in TFLite Micro's builtins.

fc_autoencoder's output has `num_classes` values and no Softmax: it is a regressor (an
autoencoder when that equals the flattened input size), for the anomaly-detection task.
"""

from __future__ import annotations

# registry.py imports this module to register it: read `registry.scaled` when called, not at import
from edgeforge.models import registry
from edgeforge.tfcompat import import_tf

# MobileNet v1 (alpha 0.25) after its first convolution: (pointwise channels, depthwise stride).
_MOBILENET_BLOCKS = ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)) + ((128, 1),) * 5 + ((256, 2), (256, 1))
# ResNet-8: (channels, stride) of its three residual stacks.
_RESNET_STACKS = ((16, 1), (32, 2), (64, 2))
# conv1d_cnn: (depthwise kernel over time, pointwise channels); the last kernel spans what is left.
_CONV1D_BLOCKS = ((3, 128), (5, 128), (10, 128), (None, 32))


def _conv_bn_relu(layers, x, channels: int, kernel, stride, name: str, relu: bool = True):
    """Conv2D → BatchNorm (→ ReLU); TFLite folds the BN into the convolution's weights and bias."""
    x = layers.Conv2D(channels, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _depthwise_bn_relu(layers, x, kernel, stride, name: str):
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    return layers.ReLU(name=f"{name}_dw_relu")(x)


def _classifier(layers, x, num_classes: int, dropout: float):
    """Average over the whole feature map (AVERAGE_POOL_2D, as the references), then Dense and Softmax."""
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name="dense")(x)
    return layers.Softmax(name="softmax")(x)


def mlperf_ds_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Keyword spotting DS-CNN: a 10x4 stride-2 conv, four depthwise-separable blocks of 64 channels."""
    _, keras = import_tf()
    layers = keras.layers
    inputs = layers.Input(shape=input_shape, name="input")
    x = _conv_bn_relu(layers, inputs, registry.scaled(64, width), (10, 4), 2, "block_0")
    for block in range(1, 5):
        x = _depthwise_bn_relu(layers, x, 3, 1, f"block_{block}")
        x = _conv_bn_relu(layers, x, registry.scaled(64, width), 1, 1, f"block_{block}")
    return keras.Model(inputs, _classifier(layers, x, num_classes, dropout), name="mlperf_ds_cnn")


def resnet8(input_shape, num_classes: int, width: float, dropout: float):
    """CIFAR-10 ResNet-8: a 3x3 conv and three residual stacks of 16, 32, 64 channels (1x1 shortcuts
    where the shape changes)."""
    _, keras = import_tf()
    layers = keras.layers
    inputs = layers.Input(shape=input_shape, name="input")
    x = _conv_bn_relu(layers, inputs, registry.scaled(16, width), 3, 1, "stem")
    for stack, (channels, stride) in enumerate(_RESNET_STACKS, start=1):
        name = f"stack_{stack}"
        channels = registry.scaled(channels, width)
        y = _conv_bn_relu(layers, x, channels, 3, stride, f"{name}_a")
        y = _conv_bn_relu(layers, y, channels, 3, 1, f"{name}_b", relu=False)
        if stride != 1 or x.shape[-1] != channels:
            x = layers.Conv2D(channels, 1, strides=stride, padding="same", name=f"{name}_shortcut")(x)
        x = layers.Add(name=f"{name}_add")([x, y])
        x = layers.ReLU(name=f"{name}_relu")(x)
    return keras.Model(inputs, _classifier(layers, x, num_classes, dropout), name="resnet8")


def mobilenet_v1_025(input_shape, num_classes: int, width: float, dropout: float):
    """Visual wake words MobileNet v1 at alpha 0.25: a 3x3 stride-2 conv and 13 depthwise-separable blocks."""
    _, keras = import_tf()
    layers = keras.layers
    inputs = layers.Input(shape=input_shape, name="input")
    x = _conv_bn_relu(layers, inputs, registry.scaled(8, width), 3, 2, "block_0")
    for block, (channels, stride) in enumerate(_MOBILENET_BLOCKS, start=1):
        x = _depthwise_bn_relu(layers, x, 3, stride, f"block_{block}")
        x = _conv_bn_relu(layers, x, registry.scaled(channels, width), 1, 1, f"block_{block}")
    return keras.Model(inputs, _classifier(layers, x, num_classes, dropout), name="mobilenet_v1_025")


def fc_autoencoder(input_shape, num_classes: int, width: float, dropout: float):
    """Anomaly detection autoencoder: 4 x Dense 128, an 8-wide bottleneck, 4 x Dense 128, a linear
    Dense of `num_classes` outputs (the input size, to reconstruct it)."""
    _, keras = import_tf()
    layers = keras.layers
    inputs = layers.Input(shape=input_shape, name="input")
    x = inputs if len(input_shape) == 1 else layers.Flatten(name="flatten")(inputs)  # (F,): no RESHAPE op
    for index, units in enumerate((128,) * 4 + (8,) + (128,) * 4, start=1):
        x = layers.Dense(registry.scaled(units, width), use_bias=False, name=f"dense_{index}")(x)
        x = layers.BatchNormalization(name=f"dense_{index}_bn")(x)
        x = layers.ReLU(name=f"dense_{index}_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="output")(x)
    return keras.Model(inputs, outputs, name="fc_autoencoder")


def conv1d_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """1-D depthwise-separable CNN over time (the streaming wake word reference): per block a
    depthwise temporal conv (valid padding) and a 1x1 conv with batch norm and ReLU."""
    _, keras = import_tf()
    layers = keras.layers
    steps, channels = (int(d) for d in input_shape)
    inputs = layers.Input(shape=input_shape, name="input")
    x = layers.Reshape((steps, 1, channels), name="to_2d")(inputs)
    for block, (kernel, pointwise) in enumerate(_CONV1D_BLOCKS, start=1):
        steps_left = int(x.shape[1])
        kernel = steps_left if kernel is None else min(kernel, steps_left)  # short series: the kernel fits
        x = layers.DepthwiseConv2D((kernel, 1), padding="valid", name=f"block_{block}_dw")(x)
        x = _conv_bn_relu(layers, x, registry.scaled(pointwise, width), 1, 1, f"block_{block}")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name="dense")(x)
    return keras.Model(inputs, layers.Softmax(name="softmax")(x), name="conv1d_cnn")
