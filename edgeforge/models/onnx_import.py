"""Your model as an ONNX file (`model.path: model.onnx`, e.g. written by `torch.onnx.export`).

Two things are made from the file:

- the ONNX model in the data's layout (`data_layout_onnx`): what ONNX Runtime targets quantize
  (onnxruntime.quantization) and run. A channels-first model (NCHW, NCL: PyTorch's layout) whose
  data edgeforge holds channels-last (NHWC, NLC) gets one Transpose ahead of its graph, so it
  takes the data as it is;
- a tf_keras model computing the same function in channels-last layout (`onnx_to_keras`): the base
  model every TFLite / TFLite Micro candidate is converted and quantized from (edgeforge's own PTQ,
  calibrated on the training split), checked against ONNX Runtime (`check_parity`).

The converter maps one ONNX node to standard tf_keras layers (so the base saves to .h5 and loads
without custom objects) for the ops small classifiers export to; see ONNX_OPS. A node outside them
raises UnsupportedOnnxOp naming the op, the node and why. Each ONNX tensor is tracked with its
physical layout: a channels-first tensor is held channels-last (weights are transposed instead),
and Flatten/Reshape of one permutes back first, so the flattened order is the ONNX model's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeforge.errors import UnsupportedOnnxOp, UserError

KEY = "model.path"
INPUT_NAME = "input"
# Parity of the converted float model with ONNX Runtime: |keras - onnx| <= ATOL + RTOL * |onnx|
# per output value (float32 kernels differ in summation order, nothing more).
PARITY_ATOL = 1e-4
PARITY_RTOL = 1e-3
PARITY_SAMPLES = 64
ONNX_OPS = (
    "Conv (1-D, 2-D; group 1 or depthwise)", "Gemm", "MatMul (+ Add bias)", "BatchNormalization", "Relu", "Clip (0..6)",
    "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "Flatten", "Reshape (to [batch, -1], or moving a 1-sized channel axis)", "Squeeze (of 1-sized spatial axes)", "Add/Sub/Mul (two tensors)",
    "Add/Sub/Mul/Div by a scalar or per-channel constant", "Pad (zeros, spatial axes)", "Concat",
    "Transpose (NCHW<->NHWC)", "Identity", "Dropout",
)


def is_onnx_path(path: str | None) -> bool:
    return bool(path) and str(path).lower().endswith(".onnx")


def load_onnx(path: str | Path, root: str | Path = "."):
    """The checked ModelProto in `path`; a missing, corrupt or multi-input file is a one-line UserError."""
    import onnx

    full = Path(root) / path
    if not full.is_file():
        raise UserError(f"{KEY}: {path} does not exist; export your model there (torch.onnx.export), or fix the path")
    try:
        model = onnx.load(str(full))
        onnx.checker.check_model(model)
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError, ...
        raise UserError(
            f"{KEY}: {path} is not a valid ONNX model ({type(error).__name__}: {_one_line(error)}); export it again "
            "with torch.onnx.export(model, example, path, opset_version=17)"
        ) from None
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UserError(f"{KEY}: {path} has {len(inputs)} inputs and {len(graph.output)} outputs; edgeforge takes a model with one of each")
    return model


def onnx_sha256(path: str | Path, root: str | Path = ".") -> str:
    return hashlib.sha256((Path(root) / path).read_bytes()).hexdigest()


def input_dims(model) -> tuple:
    """The input's dimensions after the batch (None where symbolic)."""
    initializers = {t.name for t in model.graph.initializer}
    (value,) = [i for i in model.graph.input if i.name not in initializers]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    return tuple(dims[1:])


def channels_first(model, data_shape, path: str = "") -> bool:
    """Whether the model takes the data channels-first (it is NCHW/NCL, the data NHWC/NLC).

    An ONNX Conv or pool reads channels-first, so when both readings fit (equal sizes) a model whose
    input feeds one of them is channels-first."""
    data = tuple(int(d) for d in data_shape)
    dims = input_dims(model)
    plain = _fits(dims, data)
    first = len(data) >= 2 and _fits(dims, (data[-1], *data[:-1]))
    if plain and first:
        name = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][0].name
        return any(node.op_type in _CHANNELS_FIRST_OPS and name in node.input for node in model.graph.node)
    if plain or first:
        return first
    hint = f" or channels-first {(data[-1], *data[:-1])}" if len(data) >= 2 else ""
    raise UserError(
        f"{KEY}: {path} takes samples shaped {dims} (after the batch), the data's are {data}{hint}; "
        "export the model with an example input of the data's shape"
    )


def data_layout_onnx(model, data_shape, path: str = ""):
    """A copy of `model` that takes the data as edgeforge holds it, its input named `input`: a
    channels-first model gets a Transpose from the data's channels-last layout first."""
    from onnx import helper

    model = _copy(model)
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    (value,) = [i for i in graph.input if i.name not in initializers]
    first = channels_first(model, data_shape, path)
    original = value.name
    dims = value.type.tensor_type.shape.dim
    batch = dims[0].dim_value if dims[0].HasField("dim_value") else 1
    shape = (batch, *(int(d) for d in data_shape))
    new_input = helper.make_tensor_value_info(INPUT_NAME, value.type.tensor_type.elem_type, list(shape))
    if first:
        rank = len(shape)
        perm = [0, rank - 1, *range(1, rank - 1)]
        transpose = helper.make_node("Transpose", [INPUT_NAME], [original], name="edgeforge_to_channels_first", perm=perm)
        nodes = [transpose, *graph.node]
        del graph.node[:]
        graph.node.extend(nodes)
    else:
        for node in graph.node:
            node.input[:] = [INPUT_NAME if name == original else name for name in node.input]
        for output in graph.output:
            if output.name == original:
                raise UserError(f"{KEY}: {path}: the model's output is its input; export a real model")
    graph.input.remove(value)
    graph.input.insert(0, new_input)
    return model


def onnx_predict(model, x: np.ndarray) -> np.ndarray:
    """Outputs of a data-layout ONNX model in ONNX Runtime, one sample per call (a batch of one is
    what torch.onnx.export writes with dynamic axes off)."""
    from edgeforge.runtimes.onnx_runtime import inference_session

    session = inference_session(model.SerializeToString(deterministic=True))
    name = session.get_inputs()[0].name
    samples = x.astype(np.float32)
    return np.concatenate([session.run(None, {name: samples[i : i + 1]})[0] for i in range(len(samples))]).reshape(len(samples), -1)


def check_parity(keras_model, onnx_model, x: np.ndarray, path: str = "") -> dict:
    """The converted float model against ONNX Runtime on `x`: {max_abs_diff, samples, tolerance};
    a difference beyond the tolerance is a UserError that says so."""
    x = x[:PARITY_SAMPLES].astype(np.float32)
    expected = onnx_predict(onnx_model, x)
    got = np.asarray(keras_model.predict(x, verbose=0)).reshape(len(x), -1)
    if got.shape != expected.shape:
        raise UserError(f"{KEY}: {path}: the converted model gives {got.shape[1:]} values per sample, ONNX Runtime {expected.shape[1:]}")
    diff = np.abs(got - expected)
    worst = float(diff.max()) if diff.size else 0.0
    bound = PARITY_ATOL + PARITY_RTOL * np.abs(expected)
    if (diff > bound).any():
        raise UserError(
            f"{KEY}: {path}: the TFLite-bound conversion differs from ONNX Runtime by up to {worst:.3g} "
            f"(tolerance {PARITY_ATOL:g} + {PARITY_RTOL:g}*|output|) on {len(x)} samples; "
            "edgeforge's converter (models/onnx_import.py) mistranslated an op of this model: please report it"
        )
    return {"max_abs_diff": worst, "samples": len(x), "atol": PARITY_ATOL, "rtol": PARITY_RTOL}


# -- ONNX graph -> tf_keras ---------------------------------------------------------------------

_CHANNELS_FIRST_OPS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization"}


@dataclass
class _Tensor:
    value: object  # a Keras tensor
    last: bool  # channels-first in ONNX, held channels-last (NCHW held as NHWC)

    @property
    def rank(self) -> int:
        return len(self.value.shape)


def onnx_to_keras(onnx_model, data_shape, path: str = "", name: str = "onnx_model"):
    """The tf_keras model of a data-layout ONNX model (`data_layout_onnx`), channels-last."""
    from edgeforge.tfcompat import fresh_layer_names, import_tf

    _, keras = import_tf()
    with fresh_layer_names():  # layer names from this graph alone: the base .h5 is byte-reproducible
        return _build_keras(keras, onnx_model, data_shape, path, name)


def _build_keras(keras, onnx_model, data_shape, path: str, name: str):
    from onnx import numpy_helper

    graph = onnx_model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
    inputs = keras.Input(shape=tuple(int(d) for d in data_shape), name=INPUT_NAME)
    tensors: dict[str, _Tensor] = {INPUT_NAME: _Tensor(inputs, False)}
    fused = _bias_fusions(graph, consts)
    converter = _NodeConverter(keras, consts, tensors, fused, path)
    for node in graph.node:
        if node.op_type == "Constant" or node.output[0] in {add for add, _ in fused.values()}:
            continue
        converter.convert(node)
    result = tensors.get(graph.output[0].name)
    if result is None:
        raise UnsupportedOnnxOp(f"{KEY}: {path}: the output {graph.output[0].name} is a constant; export a real model")
    output = result.value
    if result.last and result.rank > 2:
        output = keras.layers.Permute((result.rank - 1, *range(1, result.rank - 1)))(output)
    model = keras.Model(inputs, output, name=name)
    for layer, weights in converter.weights:
        layer.set_weights(weights)
    return model


def _bias_fusions(graph, consts) -> dict[str, tuple[str, np.ndarray]]:
    """MatMul outputs whose only consumer is an Add of a constant vector: {matmul output: (add
    output, the vector)}; the pair becomes one Dense layer."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    fused = {}
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in consts:
            continue
        users = consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == "Add":
            other = [n for n in users[0].input if n != node.output[0]]
            if len(other) == 1 and other[0] in consts and consts[other[0]].ndim == 1:
                fused[node.output[0]] = (users[0].output[0], consts[other[0]])
    return fused


class _NodeConverter:
    def __init__(self, keras, consts, tensors, fused, path):
        self.keras = keras
        self.layers = keras.layers
        self.consts = consts
        self.tensors = tensors
        self.fused = fused
        self.path = path
        self.weights: list[tuple] = []  # (layer, weights) set once the model is built

    def fail(self, node, why: str):
        raise UnsupportedOnnxOp(
            f"{KEY}: {self.path}: ONNX op {node.op_type} (node '{node.name or node.output[0]}') does not convert to TFLite: {why}; "
            "edgeforge converts " + ", ".join(ONNX_OPS)
        )

    def get(self, node, index: int = 0) -> _Tensor:
        name = node.input[index]
        if name not in self.tensors:
            if name in self.consts:
                self.fail(node, f"input '{name}' is a constant where a tensor is expected")
            self.fail(node, f"input '{name}' comes from an op that did not convert")
        return self.tensors[name]

    def put(self, node, value, last: bool) -> None:
        self.tensors[node.output[0]] = _Tensor(value, last)

    def convert(self, node) -> None:
        method = getattr(self, f"op_{node.op_type}", None)
        if method is None or node.domain not in ("", "ai.onnx"):
            self.fail(node, "no tf_keras equivalent in edgeforge's converter")
        method(node, _attrs(node))

    # -- helpers ---------------------------------------------------------------------------------
    def channels_last(self, node, tensor: _Tensor) -> object:
        """The tensor's value channels-last, for ops that read channels-first in ONNX."""
        if tensor.last or tensor.rank < 3:
            return tensor.value
        # a plain tensor whose logical (= physical) layout is channels-first: move channels last
        return self.layers.Permute((*range(2, tensor.rank), 1))(tensor.value)

    def channels_first_value(self, tensor: _Tensor) -> object:
        if tensor.last and tensor.rank > 2 and any(d != 1 for d in tensor.value.shape[1:-1]):
            return self.layers.Permute((tensor.rank - 1, *range(1, tensor.rank - 1)))(tensor.value)
        return tensor.value

    def padding(self, node, value, kernel, strides, dilations, pads, pool: bool = False):
        """('valid' | 'same', value padded as needed) for ONNX pads on a channels-last tensor."""
        spatial = len(kernel)
        if not any(pads):
            return "valid", value
        begins, ends = [], []
        for size, k, s, d in zip(value.shape[1 : 1 + spatial], kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)  # TensorFlow's 'same'
            begins.append(total // 2)
            ends.append(total - total // 2)
        same_pads = begins + ends
        if list(pads) == same_pads:
            return "same", value
        if pool:
            self.fail(node, f"pads {list(pads)} are neither none nor TensorFlow's 'same' ({same_pads})")
        begin, end = pads[:spatial], pads[spatial:]
        pad = self.layers.ZeroPadding2D if spatial == 2 else self.layers.ZeroPadding1D
        widths = tuple(zip(begin, end)) if spatial == 2 else (begin[0], end[0])
        return "valid", pad(widths)(value)

    def spatial_attrs(self, node, attrs, spatial: int):
        kernel = list(attrs.get("kernel_shape", []))
        strides = list(attrs.get("strides", [1] * spatial))
        dilations = list(attrs.get("dilations", [1] * spatial))
        pads = list(attrs.get("pads", [0] * 2 * spatial))
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER"):
            self.fail(node, f"auto_pad {auto_pad}")
        return kernel, strides, dilations, pads, auto_pad

    # -- ops -------------------------------------------------------------------------------------
    def op_Conv(self, node, attrs):
        tensor = self.get(node)
        if node.input[1] not in self.consts:
            self.fail(node, "its weights are not a constant")
        w = self.consts[node.input[1]].astype(np.float32)
        bias = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        spatial = w.ndim - 2
        if spatial not in (1, 2):
            self.fail(node, f"{spatial}-D convolution")
        kernel = list(attrs.get("kernel_shape", w.shape[2:]))
        attrs = {**attrs, "kernel_shape": kernel}
        _, strides, dilations, pads, auto_pad = self.spatial_attrs(node, attrs, spatial)
        value = self.channels_last(node, tensor)
        if auto_pad == "SAME_UPPER":
            padding = "same"
        else:
            padding, value = self.padding(node, value, kernel, strides, dilations, pads)
        group = int(attrs.get("group", 1))
        channels_in = value.shape[-1]
        out_channels = w.shape[0]
        use_bias = bias is not None
        if group == 1:
            cls = self.layers.Conv2D if spatial == 2 else self.layers.Conv1D
            layer = cls(out_channels, tuple(kernel), strides=tuple(strides), padding=padding, dilation_rate=tuple(dilations), use_bias=use_bias)
            kernel_weights = w.transpose(*range(2, 2 + spatial), 1, 0)
        elif group == channels_in and out_channels % group == 0:
            if spatial != 2:
                self.fail(node, "depthwise 1-D convolution")
            multiplier = out_channels // group
            layer = self.layers.DepthwiseConv2D(tuple(kernel), strides=tuple(strides), padding=padding, depth_multiplier=multiplier,
                                                dilation_rate=tuple(dilations), use_bias=use_bias)
            kernel_weights = w.reshape(group, multiplier, *kernel).transpose(2, 3, 0, 1)
        else:
            self.fail(node, f"grouped convolution (group={group} of {channels_in} channels)")
        out = layer(value)
        self.weights.append((layer, [kernel_weights] + ([bias.astype(np.float32)] if use_bias else [])))
        self.put(node, out, True)

    def op_Gemm(self, node, attrs):
        tensor = self.get(node)
        if tensor.rank != 2 or int(attrs.get("transA", 0)):
            self.fail(node, "A must be a (batch, features) tensor, not transposed")
        if node.input[1] not in self.consts:
            self.fail(node, "B is not a constant")
        b = self.consts[node.input[1]].astype(np.float32)
        kernel = (b.T if int(attrs.get("transB", 0)) else b) * float(attrs.get("alpha", 1.0))
        c = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        units = kernel.shape[1]
        if c is not None:  # (units,), (1, units) or a scalar, all broadcast over the batch
            c = np.asarray(c, np.float32) * float(attrs.get("beta", 1.0))
            c = c.reshape(-1) if c.size == units else np.broadcast_to(c.reshape(-1)[:1], (units,))
        self.dense(node, tensor, kernel, c)

    def op_MatMul(self, node, attrs):
        tensor = self.get(node)
        if node.input[1] not in self.consts or self.consts[node.input[1]].ndim != 2 or tensor.rank != 2:
            self.fail(node, "only (batch, features) x constant matrix is converted")
        add_out, bias = self.fused.get(node.output[0], (None, None))
        self.dense(node, tensor, self.consts[node.input[1]].astype(np.float32), bias)
        if add_out is not None:
            self.tensors[add_out] = self.tensors[node.output[0]]

    def dense(self, node, tensor, kernel, bias):
        layer = self.layers.Dense(kernel.shape[1], use_bias=bias is not None)
        out = layer(tensor.value)
        self.weights.append((layer, [kernel] + ([np.asarray(bias, np.float32)] if bias is not None else [])))
        self.put(node, out, False)

    def op_BatchNormalization(self, node, attrs):
        tensor = self.get(node)
        scale, offset, mean, var = (self.consts.get(n) for n in node.input[1:5])
        if any(v is None for v in (scale, offset, mean, var)):
            self.fail(node, "its statistics are not constants")
        layer = self.layers.BatchNormalization(axis=-1, epsilon=float(attrs.get("epsilon", 1e-5)))
        value = self.channels_last(node, tensor) if tensor.rank > 2 else tensor.value
        out = layer(value)
        self.weights.append((layer, [a.astype(np.float32) for a in (scale, offset, mean, var)]))
        self.put(node, out, tensor.rank > 2)

    def activation(self, node, layer) -> None:
        tensor = self.get(node)
        self.put(node, layer(tensor.value), tensor.last)

    def op_Relu(self, node, attrs):
        self.activation(node, self.layers.ReLU())

    def op_Clip(self, node, attrs):
        low = attrs.get("min", self.consts.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None)
        high = attrs.get("max", self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None)
        if low is None or float(low) != 0.0 or high is None:
            self.fail(node, "only Clip(0, max) (ReLU6 and the like) converts")
        self.activation(node, self.layers.ReLU(max_value=float(high)))

    def op_LeakyRelu(self, node, attrs):
        self.activation(node, self.layers.LeakyReLU(alpha=float(attrs.get("alpha", 0.01))))

    def op_Sigmoid(self, node, attrs):
        self.activation(node, self.layers.Activation("sigmoid"))

    def op_Tanh(self, node, attrs):
        self.activation(node, self.layers.Activation("tanh"))

    def op_Softmax(self, node, attrs):
        tensor = self.get(node)
        axis = int(attrs.get("axis", -1))
        if tensor.rank != 2 or axis not in (-1, 1):
            self.fail(node, "only a softmax over the classes of a (batch, classes) tensor converts")
        self.put(node, self.layers.Softmax()(tensor.value), False)

    def pool(self, node, attrs, kind: str):
        tensor = self.get(node)
        spatial = tensor.rank - 2
        if spatial not in (1, 2):
            self.fail(node, f"{spatial}-D pooling")
        kernel, strides, dilations, pads, auto_pad = self.spatial_attrs(node, attrs, spatial)
        if int(attrs.get("ceil_mode", 0)) or any(d != 1 for d in dilations):
            self.fail(node, "ceil_mode or dilations")
        if kind == "average" and int(attrs.get("count_include_pad", 0)) and any(pads):
            self.fail(node, "count_include_pad=1 with pads")
        value = self.channels_last(node, tensor)
        padding = "same" if auto_pad == "SAME_UPPER" else self.padding(node, value, kernel, strides, dilations, pads, pool=True)[0]
        if spatial == 2:
            cls = self.layers.MaxPooling2D if kind == "max" else self.layers.AveragePooling2D
        else:
            cls = self.layers.MaxPooling1D if kind == "max" else self.layers.AveragePooling1D
        pool_size = tuple(kernel) if spatial == 2 else kernel[0]
        stride = tuple(strides) if spatial == 2 else strides[0]
        self.put(node, cls(pool_size, strides=stride, padding=padding)(value), True)

    def op_MaxPool(self, node, attrs):
        if len(node.output) > 1 and node.output[1]:
            self.fail(node, "its indices output")
        self.pool(node, attrs, "max")

    def op_AveragePool(self, node, attrs):
        self.pool(node, attrs, "average")

    def global_pool(self, node, kind: str):
        tensor = self.get(node)
        spatial = tensor.rank - 2
        if spatial not in (1, 2):
            self.fail(node, f"{spatial}-D pooling")
        value = self.channels_last(node, tensor)
        names = {("average", 2): "GlobalAveragePooling2D", ("max", 2): "GlobalMaxPooling2D",
                 ("average", 1): "GlobalAveragePooling1D", ("max", 1): "GlobalMaxPooling1D"}
        self.put(node, getattr(self.layers, names[(kind, spatial)])(keepdims=True)(value), True)

    def op_GlobalAveragePool(self, node, attrs):
        self.global_pool(node, "average")

    def op_GlobalMaxPool(self, node, attrs):
        self.global_pool(node, "max")

    def flatten(self, node, tensor: _Tensor) -> None:
        if tensor.rank == 2:
            self.put(node, tensor.value, False)
            return
        self.put(node, self.layers.Flatten()(self.channels_first_value(tensor)), False)

    def op_Flatten(self, node, attrs):
        if int(attrs.get("axis", 1)) != 1:
            self.fail(node, "only Flatten(axis=1) converts")
        self.flatten(node, self.get(node))

    def op_Reshape(self, node, attrs):
        tensor = self.get(node)
        shape = self.consts.get(node.input[1])
        if shape is None:
            self.fail(node, "its shape is computed (export with dynamic axes off and constant folding on)")
        shape = [int(d) for d in shape]
        features = int(np.prod(tensor.value.shape[1:]))
        if len(shape) == 2 and shape[0] in (-1, 0, 1) and shape[1] in (-1, features):
            self.flatten(node, tensor)
            return
        # A transpose that moves a 1-sized axis is a reshape (tf2onnx writes NHWC->NCHW of one channel so)
        physical = tuple(tensor.value.shape[1:])
        logical = (physical[-1], *physical[:-1]) if tensor.last else physical
        if tensor.rank > 2 and len(shape) == tensor.rank and shape[0] in (-1, 0, 1):
            target = tuple(shape[1:])
            if not tensor.last and logical[-1] == 1 and target == (logical[-1], *logical[:-1]):
                self.put(node, tensor.value, True)
                return
            if tensor.last and logical[0] == 1 and target == (*logical[1:], logical[0]):
                self.put(node, tensor.value, False)
                return
        self.fail(node, f"shape {shape}: only a reshape to (batch, {features}) converts")

    def op_Squeeze(self, node, attrs):
        tensor = self.get(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1:
            axes = self.consts.get(node.input[1])
        rank = tensor.rank
        axes = sorted(int(a) % rank for a in (axes if axes is not None else range(2, rank)))
        if not tensor.last or axes != list(range(2, rank)) or any(d != 1 for d in tensor.value.shape[1:-1]):
            self.fail(node, f"axes {axes}: only squeezing 1-sized spatial axes converts")
        self.put(node, self.layers.Flatten()(tensor.value), False)

    def op_Transpose(self, node, attrs):
        tensor = self.get(node)
        perm = list(attrs.get("perm", []))
        rank = tensor.rank
        to_first = [0, rank - 1, *range(1, rank - 1)]
        to_last = [0, *range(2, rank), 1]
        if rank > 2 and not tensor.last and perm == to_first:
            self.put(node, tensor.value, True)  # a channels-last tensor made channels-first: held as it is
        elif rank > 2 and tensor.last and perm == to_last:
            self.put(node, tensor.value, False)
        else:
            self.fail(node, f"perm {perm}: only NCHW<->NHWC transposes convert")

    def binary(self, node, layer_class, op: str) -> None:
        constant = [i for i, name in enumerate(node.input) if name in self.consts]
        if constant:
            self.affine(node, op, constant[0])
            return
        a, b = self.get(node, 0), self.get(node, 1)
        if a.last != b.last or tuple(a.value.shape) != tuple(b.value.shape):
            self.fail(node, "operands of different shapes (broadcasting)")
        self.put(node, layer_class()([a.value, b.value]), a.last)

    def affine(self, node, op: str, constant_index: int) -> None:
        """x + c, x - c, c - x, x * c, x / c with c a scalar or per-channel constant (a model's own
        input normalization, say): one BatchNormalization layer (mean 0, variance 1 - epsilon, so
        its scale is gamma exactly), which the TFLite converter folds into a MUL and an ADD."""
        tensor = self.get(node, 1 - constant_index)
        c = np.asarray(self.consts[node.input[constant_index]], np.float32)
        physical = tuple(tensor.value.shape[1:])
        logical = (physical[-1], *physical[:-1]) if tensor.last else physical
        channel_axis = 0 if tensor.last else len(logical) - 1  # logical axis (after the batch) of the channels
        try:
            full = np.broadcast_to(c, (1, *logical))[0]
        except ValueError:
            self.fail(node, f"a constant of shape {c.shape} that does not broadcast to {logical}")
        vector = np.moveaxis(full, channel_axis, 0).reshape(logical[channel_axis], -1)
        if not (vector == vector[:, :1]).all():
            self.fail(node, "a constant that varies along more than the channel axis")
        vector = vector[:, 0].astype(np.float32)
        ones, zeros = np.ones_like(vector), np.zeros_like(vector)
        if op == "Add":
            scale, offset = ones, vector
        elif op == "Sub":
            scale, offset = (ones, -vector) if constant_index == 1 else (-ones, vector)
        elif op == "Mul":
            scale, offset = vector, zeros
        elif op == "Div" and constant_index == 1 and (vector != 0).all():
            scale, offset = 1.0 / vector, zeros
        else:
            self.fail(node, "a constant divided by a tensor")
        epsilon = 1e-3
        layer = self.layers.BatchNormalization(axis=-1, epsilon=epsilon)
        out = layer(tensor.value)
        self.weights.append((layer, [scale, offset, zeros, np.full_like(vector, 1.0 - epsilon)]))
        self.put(node, out, tensor.last)

    def op_Add(self, node, attrs):
        self.binary(node, self.layers.Add, "Add")

    def op_Mul(self, node, attrs):
        self.binary(node, self.layers.Multiply, "Mul")

    def op_Sub(self, node, attrs):
        self.binary(node, self.layers.Subtract, "Sub")

    def op_Div(self, node, attrs):
        if not any(name in self.consts for name in node.input):
            self.fail(node, "a division of two tensors")
        self.binary(node, None, "Div")

    def op_Pad(self, node, attrs):
        tensor = self.get(node)
        pads = attrs.get("pads")
        if pads is None and len(node.input) > 1:
            pads = self.consts.get(node.input[1])
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        value = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
        rank = tensor.rank
        if pads is None or mode != "constant" or float(np.asarray(value).reshape(-1)[0] if np.size(value) else 0.0) != 0.0 \
                or rank not in (3, 4) or len(node.input) > 3:
            self.fail(node, "only zero padding of spatial axes (constant pads) converts")
        pads = [int(p) for p in pads]
        begin, end = pads[:rank], pads[rank:]
        if begin[:2] != [0, 0] or end[:2] != [0, 0] or min(pads) < 0:
            self.fail(node, "padding of the batch or channel axis, or cropping")
        value = self.channels_last(node, tensor)
        if rank == 4:
            layer = self.layers.ZeroPadding2D(((begin[2], end[2]), (begin[3], end[3])))
        else:
            layer = self.layers.ZeroPadding1D((begin[2], end[2]))
        self.put(node, layer(value), True)

    def op_Concat(self, node, attrs):
        tensors = [self.get(node, i) for i in range(len(node.input))]
        rank, last = tensors[0].rank, tensors[0].last
        if any(t.last != last or t.rank != rank for t in tensors):
            self.fail(node, "operands of different layouts")
        axis = int(attrs.get("axis", 1)) % rank
        if last:
            axis = 0 if axis == 0 else (rank - 1 if axis == 1 else axis - 1)
        self.put(node, self.layers.Concatenate(axis=axis)([t.value for t in tensors]), last)

    def op_Identity(self, node, attrs):
        self.tensors[node.output[0]] = self.get(node)

    def op_Dropout(self, node, attrs):
        self.tensors[node.output[0]] = self.get(node)


# -- an ONNX graph no converter handles: the base model as it is ----------------------------------
# The train stage writes it beside metrics.json (build/base/), with the converter's reason under
# ONNX_BASE_REASON; the search reads that reason to fail every TFLite candidate with it.
ONNX_BASE_FILE = "model.onnx"
ONNX_BASE_REASON = "tflite_unsupported"


def short_reason(reason: str) -> str:
    """The converter's reason without the list of ops it converts (what a candidate's failure says)."""
    return reason.split("; edgeforge converts ", 1)[0]


def onnx_base(path: str, splits, task, reason: str) -> tuple[bytes, dict]:
    """(the data-layout ONNX model's bytes, train-stage metrics) of an ONNX graph that does not
    convert to tf_keras: evaluated in ONNX Runtime on the validation split."""
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.macs import total_params

    model = data_layout_onnx(load_onnx(path), splits.input_shape, path)
    model_bytes = model.SerializeToString(deterministic=True)
    scores = onnx_predict(model, splits.x_val)
    expected = task.output_size(splits)
    if scores.shape[1] != expected:
        raise UserError(f"{KEY}: {path} gives {scores.shape[1]} outputs per sample, the task needs {expected}; export the model for the data's classes")
    return model_bytes, {
        f"val_{task.metric}": round(float(task.quality(scores, splits.x_val, splits.y_val)), 6),
        "params": total_params(read_graph(model_bytes)),
        "base_format": "onnx",
        ONNX_BASE_REASON: reason,
    }


def onnx_base_reason(base_model_path: str | Path) -> str | None:
    """Why the train stage kept the ONNX graph as the base (no tf_keras model beside it), or None
    when the base is a Keras model."""
    import json

    folder = Path(base_model_path).parent
    if Path(base_model_path).is_file() or not (folder / ONNX_BASE_FILE).is_file():
        return None
    try:
        return json.loads((folder / "metrics.json").read_text()).get(ONNX_BASE_REASON)
    except (OSError, ValueError):
        return None


def keras_from_onnx(path: str | Path, data_shape, root: str | Path = "."):
    """(tf_keras model, data-layout ONNX model) of the file at `path`."""
    model = data_layout_onnx(load_onnx(path, root), data_shape, str(path))
    return onnx_to_keras(model, data_shape, str(path)), model


def _fits(dims: tuple, shape: tuple) -> bool:
    return len(dims) == len(shape) and all(d is None or d == s for d, s in zip(dims, shape))


def _attrs(node) -> dict:
    from onnx import helper

    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _copy(model):
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
