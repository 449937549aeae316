"""Bad input: a clear error naming what and where, and no partial output for DVC to cache."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.atomic import atomic_dir
from edgeforge.cli import main
from edgeforge.search.memo import Memo


def test_prepare_names_a_missing_data_file(tmp_project, capsys):
    main(["compose", "dataset.name=npz", "dataset.path=data/readings.npz"])
    assert main(["stage", "prepare"]) == 2
    err = capsys.readouterr().err
    assert "dataset.path: data/readings.npz does not exist" in err
    assert not (tmp_project / "build/data").exists()


def test_prepare_names_a_corrupt_data_file(tmp_project, capsys):
    tmp_project.gen({"data/readings.npz": b"PK\x03\x04 this is not an archive"})
    main(["compose", "dataset.name=npz", "dataset.path=data/readings.npz"])
    assert main(["stage", "prepare"]) == 2
    err = capsys.readouterr().err
    assert "dataset.path: data/readings.npz could not be read as npz" in err
    assert not (tmp_project / "build/data").exists()


def test_prepare_names_missing_arrays_in_npz(tmp_project, capsys):
    np.savez(tmp_project / "readings.npz", features=np.zeros((10, 4)))
    main(["compose", "dataset.name=npz", "dataset.path=readings.npz"])
    assert main(["stage", "prepare"]) == 2
    assert "arrays ['x', 'y'] missing" in capsys.readouterr().err


def test_prepare_names_a_missing_csv_label_column(tmp_project, capsys):
    tmp_project.gen({"table.csv": "a,b,kind\n1,2,0\n3,4,1\n"})
    main(["compose", "dataset.name=csv", "dataset.path=table.csv"])
    assert main(["stage", "prepare"]) == 2
    assert "no column 'label' (columns: a, b, kind); set dataset.label_column" in capsys.readouterr().err


def test_prepare_reads_a_csv_file(tmp_project, capsys):
    rows = "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(60))
    tmp_project.gen({"table.csv": "a,b,label\n" + rows + "\n"})
    main(["compose", "dataset.name=csv", "dataset.path=table.csv", "model=mlp"])
    assert main(["stage", "prepare"]) == 0
    assert (tmp_project / "build/data/splits.npz").is_file()


def test_stage_without_prepared_data_says_what_to_run(tmp_project, capsys):
    main(["compose"])
    assert main(["stage", "search"]) == 2
    assert "run `dvc repro prepare`" in capsys.readouterr().err


def test_atomic_dir_leaves_nothing_when_the_stage_dies(tmp_path):
    target = tmp_path / "build" / "search"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as staging:
            (staging / "half.json").write_text("{")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "build").iterdir()) == []


def test_atomic_dir_keeps_previous_output_when_the_stage_dies(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as staging:
        (staging / "good.json").write_text("{}")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as staging:
            raise RuntimeError("killed")
    assert (target / "good.json").read_text() == "{}"


def test_memo_entry_interrupted_mid_write_is_never_read(tmp_path):
    memo = Memo(tmp_path)

    def dies(folder):
        (folder / "model.tflite").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        memo.store("converted", "abc", dies)
    assert memo.entry("converted", "abc") is None
    assert list((tmp_path / "converted").iterdir()) == []


@pytest.mark.slow
def test_a_model_that_fails_to_convert_fails_its_candidates_with_the_reason(tmp_project):
    """tf.Erf has no TFLite kernel: each candidate fails with the converter's reason; nothing crashes."""
    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.outputs import CandidateResult, TargetSearch
    from edgeforge.search.candidates import Candidate
    from edgeforge.search.engine import evaluate_for_target
    from edgeforge.search.evaluator import Evaluator
    from edgeforge.search.select import explain_infeasible
    from edgeforge.spec import compose_spec
    from edgeforge.tfcompat import import_tf

    tf, keras = import_tf()
    spec, _ = compose_spec("specs")
    x, y = load_dataset(spec.dataset)
    splits = split_dataset(x, y, spec.dataset, 0)
    model = keras.Sequential([
        keras.layers.Input(shape=splits.input_shape), keras.layers.Flatten(),
        keras.layers.Lambda(tf.math.erf), keras.layers.Dense(10), keras.layers.Softmax(),
    ])
    evaluator = Evaluator(spec, splits, model, Memo(tmp_project / "memo"))
    results = [evaluate_for_target(evaluator, Candidate(quantization=mode), "sbc", 1.0) for mode in ("float32", "int8")]
    for result in results:
        assert not result.feasible and "tf.Erf" in result.failure
    entries = [
        CandidateResult(id=r.candidate.id, config={}, metrics=None, checks=[], feasible=False, failure=r.failure,
                        epochs=None, artifact=None)
        for r in results
    ]
    explanation = explain_infeasible(TargetSearch(
        target="sbc", device="raspberry_pi_4", runtime="tflite", objective="max_accuracy", constraints={},
        base_accuracy=1.0, candidates=entries, pruned_analytically={}, unevaluated=[],
    ))
    assert "no candidate could be built" in explanation and "tf.Erf" in explanation
