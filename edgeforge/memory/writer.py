"""Write an operator order and an offline memory plan into a .tflite, or read one back.

TFLite Micro reads precomputed arena offsets from the model's metadata (TFLite Micro's
`docs/memory_management.md`, parsed by `AllocationInfoBuilder::GetOfflinePlannedOffsets` in
`micro_allocation_info.cc`): a metadata entry named `OfflineMemoryAllocation` pointing at a buffer
of int32 `[version = 1, subgraphs, n, offset of tensor 0, ..., offset of tensor n-1]`, where n
counts the tensors of every subgraph and -1 lets the online planner place a tensor (constants,
variable tensors, anything not planned offline). Offsets are from the start of the arena's head;
TFLM adds the scratch buffers kernels request around them, and trusts the plan blindly.

The model is rewritten through the schema's object API (`ModelT`): operators reordered in the
main subgraph, the plan's buffer and metadata added (replacing an earlier plan). The object API
writes byte vectors unaligned, but TFLite Micro reads weights in place and Cortex-M cores fault
on unaligned word loads, so every buffer is written 16-byte aligned, as the TFLite converter does.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import numpy as np

from edgeforge.cost.graph import TFLITE_IDENTIFIER, _schema

OFFLINE_PLAN_METADATA = "OfflineMemoryAllocation"
OFFLINE_PLAN_VERSION = 1
ONLINE = -1  # the offset that leaves a tensor to TFLite Micro's own planner
BUFFER_ALIGNMENT = 16


def write_plan(model_bytes: bytes, order: Sequence[int], offsets: Mapping[int, int]) -> bytes:
    """The model with its main subgraph's operators run in `order` and tensors at `offsets`
    (tensor index -> byte offset in the arena's head; the others left to TFLM's planner)."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    subgraph = model.subgraphs[0]
    operators = subgraph.operators or []
    if sorted(order) != list(range(len(operators))):
        raise ValueError(f"order {list(order)} is not a permutation of the {len(operators)} operators")
    subgraph.operators = [operators[i] for i in order]
    tensor_count = sum(len(s.tensors or []) for s in model.subgraphs)
    plan = [ONLINE] * tensor_count
    for index, offset in offsets.items():
        plan[index] = int(offset)
    words = np.array([OFFLINE_PLAN_VERSION, len(model.subgraphs), tensor_count, *plan], dtype="<i4")
    _set_plan_buffer(model, words.view(np.uint8))
    return pack_model(model)


def strip_plan(model_bytes: bytes) -> bytes:
    """The model without an offline memory plan (TFLite Micro then plans every tensor itself)."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    _set_plan_buffer(model, None)
    return pack_model(model)


def read_plan(model_bytes: bytes) -> list[int] | None:
    """The int32 words of the model's `OfflineMemoryAllocation` buffer, or None without one."""
    schema = _schema()
    model = schema.Model.GetRootAs(model_bytes, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"") == OFFLINE_PLAN_METADATA.encode():
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            raw = data.tobytes() if isinstance(data, np.ndarray) else b""
            return list(struct.unpack(f"<{len(raw) // 4}i", raw[: len(raw) // 4 * 4]))
    return None


def _set_plan_buffer(model, data: np.ndarray | None) -> None:
    """Point the plan's metadata at a buffer holding `data`, reusing the buffer of an earlier plan
    (so planning twice gives the same bytes), or drop the metadata when `data` is None."""
    schema = _schema()
    entries = list(model.metadata or [])
    existing = next((m for m in entries if _name(m) == OFFLINE_PLAN_METADATA), None)
    if data is None:
        if existing is not None:
            model.buffers[existing.buffer].data = None
            entries.remove(existing)
        model.metadata = entries or None
        return
    if existing is None:
        existing = schema.MetadataT()
        existing.name = OFFLINE_PLAN_METADATA
        existing.buffer = len(model.buffers)
        model.buffers.append(schema.BufferT())
        entries.append(existing)
    model.buffers[existing.buffer].data = data
    model.metadata = entries


def _name(entry) -> str:
    name = entry.name
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else (name or "")


def pack_model(model) -> bytes:
    """A ModelT (the schema's object API) as .tflite bytes, every buffer 16-byte aligned."""
    import flatbuffers

    model.buffers = [_AlignedBuffer.of(buffer) for buffer in model.buffers]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


class _AlignedBuffer:
    """A BufferT whose data is written 16-byte aligned (see the module docstring)."""

    def __init__(self, data, offset: int, size: int):
        self.data, self.offset, self.size = data, offset, size

    @classmethod
    def of(cls, buffer) -> _AlignedBuffer:
        return cls(buffer.data, buffer.offset, buffer.size)

    def Pack(self, builder) -> int:  # noqa: N802 (the schema's method name)
        schema = _schema()
        data = None
        if self.data is not None:
            payload = np.asarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head -= len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)
