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


def _npz(x, y=None, **others) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, x=x, **({} if y is None else {"y": y}), **others)
    return buffer.getvalue()


def _motion(per_class: int = 15, nan_at: int | None = None) -> bytes:
    from tests.unit.data.synthetic import motion_windows

    x, y = motion_windows(per_class=per_class)
    if nan_at is not None:
        x[nan_at, 0, 0] = np.nan
    return _npz(x, y)


def _flip_a_byte(data: bytes, after: bytes, offset: int) -> bytes:
    """`data` with one bit changed `offset` bytes past `after`: an npz's zip CRC no longer matches."""
    changed = bytearray(data)
    changed[data.index(after) + offset] ^= 0x01
    return bytes(changed)


def _wav(rate: int) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(b"\0\0" * rate)
    return buffer.getvalue()


def _images(classes=("cat", "dog"), per_class: int = 16, extra: dict | None = None) -> dict:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, format="PNG")
    files = {f"data/images/{name}/{i:02d}.png": buffer.getvalue() for name in classes for i in range(per_class)}
    return {**files, **(extra or {})}


def _wavs(per_class: int = 14, extra: dict | None = None) -> dict:
    files = {f"data/speech/{word}/{i:02d}.wav": _wav(16000) for word in ("yes", "no") for i in range(per_class)}
    return {**files, **(extra or {})}


NPZ = ["dataset.name=npz", "dataset.path=data/har.npz"]
CSV = ["dataset.name=csv", "dataset.path=data/table.csv", "model=mlp"]

# (case, files, overrides, command, what the one-line error must say)
BAD_DATA = [
    ("missing_path", {}, NPZ, "validate", "dataset.path: data/har.npz does not exist; point dataset.path at your npz file"),
    ("not_an_archive", {"data/har.npz": b"PK\x03\x04 truncated"}, NPZ, "validate", "data/har.npz could not be read as npz"),
    ("altered_archive", {"data/har.npz": _flip_a_byte(_motion(), after=b"x.npy", offset=4096)}, NPZ, "stage prepare",
     "data/har.npz could not be read as npz: Bad CRC-32 for file 'x.npy'"),
    ("npz_without_y", {"data/har.npz": _npz(np.zeros((4, 2)), labels=np.zeros(4))}, NPZ, "validate", "arrays ['y'] missing"),
    ("labels_not_per_sample", {"data/har.npz": _npz(np.zeros((30, 8, 3)), np.zeros(29, int))}, NPZ, "validate",
     "x has 30 samples but y has shape (29,)"),
    ("one_class", {"data/har.npz": _npz(np.zeros((30, 8, 3)), np.zeros(30, int))}, NPZ, "validate",
     "30 samples of one class ('0'); a classifier needs at least 2 classes"),
    ("labels_outside_range", {"data/har.npz": _npz(np.zeros((45, 8, 3)), np.repeat([0, 1, 3], 15))}, NPZ, "validate",
     "integer labels must be 0..N-1 with every class present; found 0, 1, 3 (2 missing)"),
    ("fractional_labels", {"data/har.npz": _npz(np.zeros((45, 8, 3)), np.repeat([0.0, 1.0, 1.5], 15))}, NPZ, "validate",
     "label of sample 30 in 'y' is 1.5, not an integer class"),
    ("too_few_per_class", {"data/har.npz": _motion(per_class=8)}, NPZ, "validate",
     "class 'idle' has 8 samples; the split (test_fraction 0.2, val_fraction 0.1) needs at least 13 per class"),
    ("nan_features", {"data/har.npz": _motion(nan_at=4)}, NPZ, "stage prepare",
     "1 samples hold NaN or inf values (first: sample 4, NaN)"),
    ("flat_data_for_a_cnn", {"data/table.csv": "a,b,label\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(40))},
     CSV[:2], "validate", "model.name: model 'tiny_cnn' takes samples shaped (T, C) or (H, W, C), the data's are (2,)"),
    ("no_label_column", {"data/table.csv": "a,b,kind\n1,2,0\n"}, CSV, "validate",
     "dataset.label_column: data/table.csv: no column 'label' (columns: a, b, kind); set dataset.label_column"),
    ("text_in_a_feature", {"data/table.csv": "a,b,label\n" + "\n".join(f"{i},x{i},{i % 2}" for i in range(40))}, CSV,
     "stage prepare", "data/table.csv: line 2, column 'b' is 'x0', not a number"),
    ("window_longer_than_runs", {"data/table.csv": "a,label\n" + "\n".join(f"{i},{i // 20}" for i in range(60))},
     [*CSV[:2], "+dataset.window=32"], "stage prepare", "no run of rows with one label is 32 rows long (longest: 20)"),
    ("stray_file_among_images", _images(extra={"data/images/dog/notes.txt": "hi"}),
     ["dataset.name=image_dir", "dataset.path=data/images"], "validate", "data/images/dog/notes.txt: not a png/jpg/jpeg file"),
    ("one_image_class", _images(classes=("cat",)), ["dataset.name=image_dir", "dataset.path=data/images"], "validate",
     "1 class folder(s) with image files (found cat); a classifier needs at least 2"),
    ("wav_at_the_wrong_rate", _wavs(extra={"data/speech/no/fast.wav": _wav(44100)}),
     ["dataset.name=audio_dir", "dataset.path=data/speech", "model=ds_cnn"], "validate",
     "data/speech/no/fast.wav: 1 channel(s), 16-bit, 44100 Hz"),
    ("flip_of_a_time_series", {"data/har.npz": _motion()}, [*NPZ, "+train.augmentation.flip=true"], "validate",
     "command-line override: train.augmentation.flip: mirrors images shaped (H, W, C), the samples are (128, 3)"),
    ("path_of_the_wrong_kind", {}, ["dataset.name=npz"], "validate",
     "dataset 'npz' needs 'path' to an .npz file (arrays x and y), not 'specs/dataset/digits.yaml'"),
]


@pytest.mark.parametrize(("files", "overrides", "command", "message"), [case[1:] for case in BAD_DATA], ids=[case[0] for case in BAD_DATA])
def test_bad_data_is_one_line_exit_2_before_anything_trains(tmp_project, capsys, files, overrides, command, message):
    tmp_project.gen(files)
    if command == "validate":
        code = main(["validate", *overrides])
    else:
        assert main(["compose", *overrides]) == 0
        code = main(command.split())
        assert not (tmp_project / "build/data").exists()  # nothing half-written for DVC to cache
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_validate_says_dvc_needs_dataset_path_when_a_built_in_preset_drops_it(tmp_project, capsys):
    tmp_project.gen({"dvc.yaml": "stages:\n  prepare:\n    cmd: edgeforge stage prepare\n    deps: [${dataset.path}]\n"})
    tmp_project.gen({"specs/dataset/digits.yaml": "name: digits\n"})
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "specs/config.yaml: dataset.path: not set, but dvc.yaml's prepare stage depends on ${dataset.path}" in err


def test_validate_reports_the_data_it_checked(tmp_project, capsys):
    tmp_project.gen({"data/har.npz": _motion()})
    assert main(["validate", *NPZ]) == 0
    assert "data: npz, samples (128, 3), 3 classes (idle, run, walk)" in capsys.readouterr().out


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
