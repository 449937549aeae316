"""Parsed graphs kept on disk (cost/graph_store.py): the same Graph back, in a process that never
imports the flatbuffer schema, and a damaged file parsed again."""

import json
import subprocess
import sys

import pytest

from edgeforge.cost import graph_store
from edgeforge.cost.graph import read_graph
from tests.conftest import MLPERF_TINY, REPO

MODELS = sorted(MLPERF_TINY.glob("*.tflite"))


@pytest.fixture
def kept(tmp_path, monkeypatch):
    import edgeforge.cost.graph as graph_module

    monkeypatch.setattr(graph_module, "_PARSED", {})  # nothing parsed in this process yet
    with graph_store.kept_in(tmp_path / "graphs"):
        yield tmp_path / "graphs"


@pytest.mark.parametrize("model", MODELS, ids=lambda path: path.stem)
def test_a_kept_graph_equals_the_parsed_one(model, kept):
    parsed = read_graph(model)
    (path,) = kept.iterdir()
    assert graph_store.graph_from_dict(json.loads(path.read_text())) == parsed


def test_another_process_reads_the_kept_graph_without_the_schema(kept):
    model = MLPERF_TINY / "kws_ref_model.tflite"
    parsed = read_graph(model)
    probe = (
        "import sys\n"
        "from edgeforge.cost import graph_store\n"
        "from edgeforge.cost.graph import read_graph\n"
        f"with graph_store.kept_in({str(kept)!r}):\n"
        f"    graph = read_graph({str(model)!r})\n"
        "print(len(graph.operators), graph.source, 'ai_edge_litert.schema_py_generated' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == [str(len(parsed.operators)), str(model), "False"]


def test_a_damaged_file_is_parsed_again_and_rewritten(kept, monkeypatch):
    import edgeforge.cost.graph as graph_module

    model = MLPERF_TINY / "kws_ref_model.tflite"
    parsed = read_graph(model)
    (path,) = kept.iterdir()
    path.write_text(path.read_text()[:100])
    monkeypatch.setattr(graph_module, "_PARSED", {})
    assert read_graph(model) == parsed
    assert graph_store.graph_from_dict(json.loads(path.read_text())) == parsed


def test_nothing_is_kept_unless_a_stage_asks(tmp_path, monkeypatch):
    import edgeforge.cost.graph as graph_module

    monkeypatch.setattr(graph_module, "_PARSED", {})
    monkeypatch.chdir(tmp_path)
    read_graph(MLPERF_TINY / "kws_ref_model.tflite")
    assert list(tmp_path.iterdir()) == []


def test_graphs_another_graph_code_wrote_are_removed_when_a_stage_keeps_graphs(tmp_path, monkeypatch):
    import edgeforge.cost.graph as graph_module

    monkeypatch.setattr(graph_module, "_PARSED", {})
    folder = tmp_path / "graphs"
    with graph_store.kept_in(folder):
        read_graph(MODELS[0])
    (current,) = folder.iterdir()
    older = folder / f"{'ab' * 32}-0123456789abcdef.json"  # a graph an older edgeforge kept
    older.write_text(current.read_text())
    writing = folder / f".{current.name}.123.tmp"  # another process's write in progress
    writing.write_text("{}")
    with graph_store.kept_in(folder):
        pass
    assert sorted(path.name for path in folder.iterdir()) == sorted([current.name, writing.name])
