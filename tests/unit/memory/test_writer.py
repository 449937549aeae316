import numpy as np
import pytest

from edgeforge.cost.graph import _schema, read_graph
from edgeforge.memory.writer import ONLINE, read_plan, strip_plan, write_plan
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import branching_model

VWW_INT8 = MLPERF_TINY / "vww_96_int8.tflite"


def buffer_data_positions(model_bytes: bytes) -> list[int]:
    model = _schema().Model.GetRootAs(model_bytes, 0)
    positions = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            positions.append(buffer._tab.Vector(buffer._tab.Offset(4)))
    return positions


def test_write_plan_reorders_operators_and_stores_offsets_for_tflite_micro():
    model = branching_model()

    planned = write_plan(model, (0, 2, 1, 3, 4), {3: 0, 8: 1056})

    words = read_plan(planned)
    tensors = len(read_graph(model).tensors)
    assert words[:3] == [1, 1, tensors]  # version, subgraphs, offsets that follow
    assert words[3:] == [0 if i == 3 else 1056 if i == 8 else ONLINE for i in range(tensors)]
    types = [op.type for op in read_graph(model).operators]
    assert [op.type for op in read_graph(planned).operators] == [types[i] for i in (0, 2, 1, 3, 4)]


def test_write_plan_keeps_every_weight_byte_and_16_byte_alignment():
    data = VWW_INT8.read_bytes()
    planned = write_plan(data, tuple(range(31)), {})
    before, after = read_graph(data), read_graph(planned)

    assert [t.size_bytes for t in before.tensors] == [t.size_bytes for t in after.tensors]
    assert all(position % 16 == 0 for position in buffer_data_positions(planned))
    model_in, model_out = _schema().Model.GetRootAs(data, 0), _schema().Model.GetRootAs(planned, 0)
    for i in range(model_in.BuffersLength()):
        assert np.array_equal(model_in.Buffers(i).DataAsNumpy(), model_out.Buffers(i).DataAsNumpy())


def test_writing_the_same_plan_again_gives_the_same_bytes():
    planned = write_plan(branching_model(), (0, 2, 1, 3, 4), {3: 0})

    assert write_plan(planned, tuple(range(5)), {3: 0}) == planned


def test_strip_plan_removes_the_metadata():
    planned = write_plan(branching_model(), tuple(range(5)), {3: 0})

    assert read_plan(strip_plan(planned)) is None
    assert read_plan(branching_model()) is None


def test_write_plan_refuses_an_order_that_is_not_a_permutation():
    with pytest.raises(ValueError, match="not a permutation"):
        write_plan(branching_model(), (0, 1, 1, 3, 4), {})
