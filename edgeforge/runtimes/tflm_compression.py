"""LUT compression of clustered int8 weights for TFLite Micro, verified before it ships.

    outcome = compress_weights(model_bytes, held_out=x_test)
    outcome.model_bytes   # the compressed model when kept, else the model as given
    outcome.kept, outcome.reason, outcome.tensors

A weight tensor with at most 2^b unique values per channel is stored as b-bit indices into one
value table per channel (`tflite_micro.compression`, LUT method), and TFLite Micro inserts a DECODE
operator that expands it into the arena before its consumer runs. Clustering (k clusters) leaves
at most k unique values per channel, so 16 clusters give 4-bit indices: half the int8 bytes.

Decided per tensor: only int8 constant tensors whose indices + tables + the DECODE bookkeeping
save at least MIN_TENSOR_SAVING of the dense bytes are compressed. The compressed model must give
bit-identical outputs to the model as given in TFLite Micro's interpreter (held-out and random
inputs, `edgeforge.memory.verify`), and shrink by more than the DECODE kernel's code; otherwise the
model ships as given, with the reason.
Float models stay uncompressed: their clustered weights are float32, and edgeforge compresses
int8 weights only (the ones TFLite Micro's integer kernels read).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

# tflite_micro.compression's LookUpTableCompression accepts index bit widths 1-7 (spec.py).
MAX_INDEX_BITS = 7
# Flatbuffer bytes a compressed tensor adds besides its indices and tables: the DECODE operator,
# its ancillary (DCM) tensor with a 16-byte header, the decoded output tensor's metadata and
# alignment padding. ESTIMATE (a round figure, not measured field by field): it only pre-selects
# the tensors to compress; the model is kept only when its real file shrinks (`compress_weights`).
DECODE_OVERHEAD_BYTES = 160
QUANTIZATION_BYTES_PER_CHANNEL = 12  # the decoded tensor's own float32 scale + int64 zero point per channel
# A compressed tensor costs its whole decoded size in the arena and its decoding time on every
# inference; a tensor is compressed only when that buys at least a quarter of its flash. In
# practice: clustered weights (<= 64 values per channel, <= 6-bit indices), never dense int8 ones
# (an unclustered int8 kernel needs 7-8 bits: ad01 saves 2.5% of its file at 7 bits).
MIN_TENSOR_SAVING = 0.25
INT8 = 9  # tflite TensorType.INT8


@dataclass(frozen=True)
class CompressionOutcome:
    model_bytes: bytes  # what ships: the compressed model when kept, else the model as given
    kept: bool
    reason: str  # why the model ships uncompressed ("" when compressed)
    uncompressed_bytes: int
    tensors: tuple[dict, ...] = field(default=())  # per weight tensor: name, bytes, bits, decision
    samples: int = 0  # inputs the outputs were compared on

    def summary(self) -> dict:
        """JSON-able description for reports and `edgeforge profile --json`."""
        return {
            "kept": self.kept,
            "reason": self.reason,
            "uncompressed_bytes": self.uncompressed_bytes,
            "model_bytes": len(self.model_bytes),
            "compressed_tensors": sum(1 for t in self.tensors if t["compressed"]),
            "verified_samples": self.samples,
            "sha256": hashlib.sha256(self.model_bytes).hexdigest(),
            "tensors": list(self.tensors),
        }


def index_bits(unique_values: int) -> int:
    """Bits of an index into a table of `unique_values` entries (at least 1)."""
    return max(1, math.ceil(math.log2(max(unique_values, 1))))


def tensor_plan(array: np.ndarray, axis: int | None) -> tuple[int, int, int]:
    """(index bits, table length, estimated compressed bytes) of one tensor, one table per slice
    along `axis` (None: one table)."""
    slices = [array] if axis is None else list(np.moveaxis(array, axis, 0))
    table_len = max(len(np.unique(s)) for s in slices)
    bits = index_bits(table_len)
    encoded = math.ceil(array.size * bits / 8) + len(slices) * table_len * array.itemsize
    # the decoded tensor repeats the per-channel quantization: a float32 scale and an int64 zero point
    repeated_quantization = len(slices) * QUANTIZATION_BYTES_PER_CHANNEL if axis is not None else 0
    return bits, table_len, encoded + repeated_quantization + DECODE_OVERHEAD_BYTES


def choose_tensors(model_bytes: bytes) -> tuple[list[tuple[int, int, int | None]], list[dict], str]:
    """([(tensor index, bits, axis)] to compress, a decision per weight tensor, why none if none)."""
    from tflite_micro.tensorflow.lite.micro.compression import model_editor

    model = model_editor.read(model_bytes)
    if len(model.subgraphs) != 1:
        return [], [], "models with several subgraphs are not compressed"
    chosen, decisions, float_weights = [], [], 0
    subgraph = model.subgraphs[0]
    for index, tensor in enumerate(subgraph.tensors):
        if tensor.buffer is None or not tensor.buffer.data or len(tensor.shape) < 2:
            continue  # not a weight matrix or kernel (biases and shapes stay dense)
        if tensor.dtype != INT8:
            float_weights += tensor.dtype == 0  # FLOAT32
            continue
        array = tensor.array
        quantization = tensor.quantization
        axis = quantization.axis if quantization is not None and quantization.axis is not None else None
        if axis is not None and axis not in (0, len(array.shape) - 1):
            axis = None  # the DECODE kernel takes axis 0 or the last one
        bits, table_len, estimated = tensor_plan(array, axis)
        decision = {"tensor": tensor.name, "bytes": int(array.nbytes), "unique_per_channel": table_len, "bits": bits}
        if bits > MAX_INDEX_BITS:
            decision.update(compressed=False, why=f"{table_len} unique values need {bits} bits (LUT takes at most {MAX_INDEX_BITS})")
        elif estimated > array.nbytes * (1 - MIN_TENSOR_SAVING):
            decision.update(
                compressed=False,
                why=f"saves under {MIN_TENSOR_SAVING:.0%}: ~{estimated} B compressed vs {array.nbytes} B dense",
            )
        else:
            decision.update(compressed=True, why="")
            chosen.append((index, bits, axis))
        decisions.append(decision)
    if chosen:
        return chosen, decisions, ""
    if float_weights and not decisions:
        return [], decisions, "float model: edgeforge LUT-compresses int8 weights only"
    if not decisions:
        return [], decisions, "no int8 weight tensors"
    return [], decisions, "no weight tensor shrinks (too many unique values per channel, or too small)"


def compress_weights(model_bytes: bytes, held_out: np.ndarray | None = None, decode_code_bytes: int = 0) -> CompressionOutcome:
    """The verified outcome of compressing `model_bytes` (see the module docstring), kept only when
    the file shrinks by more than `decode_code_bytes` (the DECODE kernel the firmware then links),
    so that flash shrinks. Runs TFLite Micro in this process: call it from a worker
    (`edgeforge.cost.isolated`)."""
    from edgeforge.memory.verify import compare_outputs, verification_inputs

    chosen, decisions, reason = choose_tensors(model_bytes)

    def as_given(why: str, samples: int = 0) -> CompressionOutcome:
        for decision in decisions:
            if decision["compressed"]:
                decision.update(compressed=False, why=why)
        return CompressionOutcome(model_bytes, False, why, len(model_bytes), tuple(decisions), samples)

    if not chosen:
        return as_given(reason)
    try:
        compressed = _compress(model_bytes, chosen)
    except Exception as error:  # the compressor's CompressionError, or a flatbuffer it cannot edit
        return as_given(f"the TFLite Micro compressor rejected the model: {str(error).strip().splitlines()[0]}")
    if len(compressed) + decode_code_bytes >= len(model_bytes):
        return as_given(
            f"flash would not shrink: {len(compressed)} B compressed + {decode_code_bytes} B DECODE kernel "
            f"vs {len(model_bytes)} B dense"
        )
    try:
        samples = verification_inputs(model_bytes, held_out)
        mismatch = compare_outputs(model_bytes, compressed, samples)
    except Exception as error:  # TFLite Micro cannot run the compressed model
        return as_given(f"TFLite Micro cannot run the compressed model: {str(error).strip().splitlines()[0]}")
    if mismatch:
        return as_given(f"compressed outputs are not bit-identical: {mismatch}", len(samples))
    return CompressionOutcome(compressed, True, "", len(model_bytes), tuple(decisions), len(samples))


def _compress(model_bytes: bytes, chosen: list[tuple[int, int, int | None]]) -> bytes:
    import contextlib
    import io

    from tflite_micro.tensorflow.lite.micro.compression import spec
    from tflite_micro.tensorflow.lite.micro.compression.compress import compress
    from tflite_micro.tensorflow.lite.micro.compression.spec_builder import SpecBuilder

    builder = SpecBuilder()
    for index, bits, axis in chosen:
        builder.add_tensor(0, index).with_lut(bits, mode=spec.PerTensor() if axis is None else spec.PerChannel(axis))
    with contextlib.redirect_stderr(io.StringIO()):  # it prints warnings of its own
        return bytes(compress(model_bytes, builder.build()))


DECODE_CUSTOM_CODE = "TFLM_DECODE"  # the custom op the compressor inserts


def decode_ops(model_bytes: bytes) -> int:
    """DECODE operators in the model: how many tensors it holds LUT-compressed."""
    from edgeforge.cost.graph import read_graph

    return sum(1 for op in read_graph(model_bytes).operators if op.custom_code == DECODE_CUSTOM_CODE)


def compression_summary(model_bytes: bytes, decode_code_bytes: int = 0) -> dict:
    """What a shipped model holds compressed, or why it holds nothing compressed (the compressor's
    decision on this file, verified on random inputs). Runs TFLite Micro: call it from a worker."""
    decoded = decode_ops(model_bytes)
    if decoded:
        return {"kept": True, "decode_ops": decoded, "reason": ""}
    outcome = compress_weights(model_bytes, decode_code_bytes=decode_code_bytes)
    reason = outcome.reason or (
        "compressible, but shipped dense: targets.<T>.compression is none, or outputs differed on held-out inputs"
    )
    return {"kept": False, "decode_ops": 0, "reason": reason, "tensors": list(outcome.tensors)}


def describe(summary: dict) -> str:
    """One line for metrics and reports: `lut (3 tensors)` or `none: <why>`."""
    if summary.get("kept"):
        return f"lut ({summary['decode_ops']} tensors)"
    return f"none: {summary.get('reason', '')}"


def predicted_saving_bytes(model_bytes: bytes, clusters: int, decode_code_bytes: int = 0) -> int:
    """Flash a model with the structure of `model_bytes` (dense int8 weights) saves when its
    kernels are clustered to `clusters` values and LUT-compressed: for the search's pre-filter,
    before any training. Optimistic on purpose (indices + one table entry per cluster and channel,
    no bookkeeping), so the pre-filter never drops a candidate compression would make fit."""
    from edgeforge.cost.graph import read_graph

    if clusters < 2 or index_bits(clusters) > MAX_INDEX_BITS:
        return 0
    bits = index_bits(clusters)
    saving = 0
    for tensor in read_graph(model_bytes).tensors:
        if not tensor.is_constant or tensor.dtype != "int8" or len(tensor.shape) < 2:
            continue
        channels = tensor.shape[0]
        compressed = math.ceil(tensor.elements * bits / 8) + channels * clusters
        saving += max(0, tensor.elements - compressed)
    return max(0, saving - decode_code_bytes)
