"""What pruning and clustering left in an exported model, read back from the .tflite itself.

The kernels are the constant weight inputs (input 1) of CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, TRANSPOSE_CONV and CONV_3D. Where a kernel is computed at run time by (DE)QUANTIZE
ops (float16 weights; a QAT model converted without optimization), the constant it is computed
from is read instead. Values come from the LiteRT interpreter as stored: int8 codes when quantized.

- weight_sparsity: exact zeros over all kernel elements. A quantized weight is zero when its code
  equals its channel's zero point (0 for TFLite's symmetric int8 weights).
- max_unique_weights: the most distinct values in one kernel, counted per output channel when
  the kernel is quantized per channel (each channel has its own scale, so a k-cluster float kernel
  becomes at most k codes per channel but up to k x channels across the tensor), else over the
  whole tensor.
"""

from __future__ import annotations

import gzip

import numpy as np

from edgeforge.cost.graph import Graph, Tensor, read_graph

KERNEL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D")
KERNEL_INPUT = 1  # the filter / weights input of every op in KERNEL_OPS


def weight_stats(model_bytes: bytes) -> dict:
    """{"weight_sparsity": float, "max_unique_weights": int} over the model's conv/dense kernels."""
    from ai_edge_litert.interpreter import Interpreter

    graph = read_graph(model_bytes)
    interpreter = Interpreter(model_content=model_bytes, num_threads=1)
    interpreter.allocate_tensors()  # constant tensors are readable once allocated; no inference needed
    zeros = elements = max_unique = 0
    for kernel in kernel_tensors(graph):
        values = interpreter.get_tensor(kernel.index)
        for channel, zero_point in channels(values, kernel):
            zeros += int(np.count_nonzero(channel == zero_point))
            elements += channel.size
            max_unique = max(max_unique, len(np.unique(channel)))
    return {"weight_sparsity": round(zeros / elements, 6) if elements else 0.0, "max_unique_weights": max_unique}


def compressed_bytes(model_bytes: bytes) -> int:
    """Size of the model gzipped (level 9, no timestamp): what zeros and shared values save on flash."""
    return len(gzip.compress(model_bytes, compresslevel=9, mtime=0))


def kernel_tensors(graph: Graph) -> list[Tensor]:
    producers = {output: op for op in graph.operators for output in op.outputs}
    kernels = []
    for op in graph.operators:
        if op.type not in KERNEL_OPS or len(op.inputs) <= KERNEL_INPUT:
            continue
        tensor = graph.tensor(op.inputs[KERNEL_INPUT])
        while tensor is not None and not tensor.is_constant and _is_converted(tensor, producers):
            tensor = graph.tensor(producers[tensor.index].inputs[0])
        if tensor is not None and tensor.is_constant:
            kernels.append(tensor)
    return kernels


def channels(values: np.ndarray, kernel: Tensor):
    """(values, zero point) per quantized channel; the whole tensor, zero point 0, otherwise."""
    quantization = kernel.quantization
    if quantization is None or not quantization.per_channel:
        zero_point = quantization.zero_points[0] if quantization else 0
        return [(values, zero_point)]
    per_channel = np.moveaxis(values, quantization.axis, 0)
    return list(zip(per_channel, quantization.zero_points))


def _is_converted(tensor: Tensor, producers: dict) -> bool:
    producer = producers.get(tensor.index)
    return producer is not None and producer.type in ("DEQUANTIZE", "QUANTIZE")
