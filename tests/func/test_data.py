"""Bring your own data, built with real `dvc repro` on generated data of each kind: time-series
npz (tracked with `dvc add`), CSV recordings cut into windows, an image folder, and a wav folder
whose frontend ships in the bundle, verified against the training features."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgeforge.cli import main
from tests.unit.data.synthetic import bars_image_dir, motion_recording_csv, motion_windows, tones_wav_dir
from tests.func.shell import BIN, dvc, run, stages_run

pytestmark = pytest.mark.slow


def make_project(root: Path, dataset: dict, model: str, generate, train: dict | None = None) -> Path:
    """A fresh project on `dataset` with one quick MCU target and a two-candidate search (`train`:
    more keys of the train section)."""
    assert main(["init", str(root)]) == 0
    (root / "specs/dataset/mine.yaml").write_text(yaml.safe_dump(dataset, sort_keys=False))
    config = yaml.safe_load((root / "specs/config.yaml").read_text())
    defaults = []
    for entry in config["defaults"]:
        if isinstance(entry, dict) and "device@targets.sbc.device" in entry:
            continue  # one target keeps the build short
        if isinstance(entry, dict) and "dataset" in entry:
            entry = {"dataset": "mine"}
        if isinstance(entry, dict) and "model" in entry:
            entry = {"model": model}
        defaults.append(entry)
    config["defaults"] = defaults
    config["train"].update({"epochs": 4, **(train or {})})
    config["targets"] = {"mcu": {**config["targets"]["mcu"], "constraints": {"ram_kb": 320, "flash_kb": 1024}}}
    (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "specs/search/default.yaml").write_text("strategy: exhaustive\nspace:\n  quantization: [float32, int8]\n")
    generate(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["validate"]) == 0
        assert main(["compose"]) == 0
    finally:
        os.chdir(cwd)
    return root


def commit(root: Path) -> None:
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "data", cwd=root)


def test_csv_recording_builds_1d_models_and_one_changed_byte_rebuilds(tmp_path):
    def generate(root):
        motion_recording_csv(root / "data/recording.csv", segment_rows=200, segments_per_class=3)

    dataset = {"name": "csv", "path": "data/recording.csv", "label_column": "activity", "window": 64, "stride": 32,
               "normalize": True}
    root = make_project(tmp_path / "recording", dataset, "tiny_cnn", generate)
    commit(root)
    first = dvc("repro", cwd=root)
    assert {"prepare", "train", "search", "package@mcu"} <= stages_run(first.stdout)
    info = json.loads((root / "build/data/info.json").read_text())
    assert info["input_shape"] == [64, 3] and info["class_names"] == ["idle", "run", "walk"]
    assert info["train"] + info["val"] + info["test"] == 3 * 3 * 5  # windows at 0, 32, ..., 128 of each run
    bundle = json.loads((root / "build/targets/mcu/bundle/preprocessing.json").read_text())
    assert bundle["class_names"] == ["idle", "run", "walk"] and len(bundle["normalize"]["mean"]) == 3
    assert bundle["data_sha256"] == info["source"]["sha256"]
    # the class names reach the report: accuracy per class, measured in the runtime that verified the model
    report = json.loads(run(str(BIN / "edgeforge"), "report", "--json", cwd=root).stdout)["targets"]["mcu"]
    assert [row["name"] for row in report["per_class"]] == ["idle", "run", "walk"]
    assert sum(row["samples"] for row in report["per_class"]) == info["test"]
    correct = sum(row["accuracy"] * row["samples"] for row in report["per_class"])
    assert correct / info["test"] == pytest.approx(report["metrics"]["accuracy"], abs=1e-5)
    assert "idle" in run(str(BIN / "edgeforge"), "report", cwd=root).stdout
    assert "<h3>Accuracy per class</h3>" in (root / "build/report.html").read_text()
    manifest = json.loads((root / "build/targets/mcu/bundle/manifest.json").read_text())
    assert manifest["metrics"]["class_accuracy"] == [row["accuracy"] for row in report["per_class"]]

    text = (root / "data/recording.csv").read_bytes()
    at = text.index(b".", text.index(b"\n")) + 1  # first decimal of the first sample's ax: one byte changed
    (root / "data/recording.csv").write_bytes(text[:at] + (b"7" if text[at:at + 1] != b"7" else b"3") + text[at + 1:])
    second = dvc("repro", cwd=root)
    assert {"prepare", "train", "search"} <= stages_run(second.stdout)
    assert json.loads((root / "build/data/info.json").read_text())["source"]["sha256"] != info["source"]["sha256"]
    assert stages_run(dvc("repro", cwd=root).stdout) == set()


def test_npz_time_series_tracked_with_dvc_add_rebuilds_when_it_changes(tmp_path):
    def generate(root):
        x, activity = motion_windows(per_class=15)
        (root / "data").mkdir()
        np.savez(root / "data/motion.npz", x=x, y=activity)

    root = make_project(tmp_path / "motion", {"name": "npz", "path": "data/motion.npz"}, "ds_cnn", generate)
    dvc("add", "data/motion.npz", cwd=root)  # large data: tracked by DVC, not git (docs/data.md)
    commit(root)
    assert {"prepare", "train"} <= stages_run(dvc("repro", "train", cwd=root).stdout)
    assert json.loads((root / "build/data/info.json").read_text())["input_shape"] == [128, 3]
    with np.load(root / "data/motion.npz") as archive:
        x, y = archive["x"].copy(), archive["y"]
    x[0, 0, 0] += 1.0
    np.savez(root / "data/motion.npz", x=x, y=y)
    assert {"prepare", "train"} <= stages_run(dvc("repro", "train", cwd=root).stdout)


def test_image_folder_builds_with_augmentation(tmp_path):
    def generate(root):
        bars_image_dir(root / "data/images", per_class=16, size=20)

    dataset = {"name": "image_dir", "path": "data/images", "image_size": [16, 16], "augment_copies": 1}
    # augmented copies at prepare, and seeded flips and shifts of every training batch
    root = make_project(tmp_path / "images", dataset, "tiny_cnn", generate, train={"augmentation": {"flip": True, "shift": 0.1}})
    commit(root)
    assert {"prepare", "train"} <= stages_run(dvc("repro", "train", cwd=root).stdout)
    info = json.loads((root / "build/data/info.json").read_text())
    assert info["input_shape"] == [16, 16, 1] and info["class_names"] == ["horizontal", "vertical"]
    metrics = json.loads((root / "build/base/metrics.json").read_text())
    assert metrics["val_accuracy"] > 0.5  # bars are easy: better than chance after 4 epochs
    model = (root / "build/base/model.h5").read_bytes()
    dvc("repro", "-f", "train", cwd=root)  # trained again with the same seed: the same augmented batches
    assert (root / "build/base/model.h5").read_bytes() == model


def test_wav_folder_ships_a_frontend_that_matches_the_training_features(tmp_path):
    def generate(root):
        tones_wav_dir(root / "data/speech", per_class=14)

    dataset = {"name": "audio_dir", "path": "data/speech", "frontend": {"features": "mfcc", "clip_ms": 500, "mfcc_count": 10}}
    root = make_project(tmp_path / "keywords", dataset, "ds_cnn", generate)
    commit(root)
    dvc("repro", cwd=root)
    bundle = root / "build/targets/mcu/bundle"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {"frontend.tflite", "preprocessing.json"} <= set(manifest["files"])
    preprocessing = json.loads((bundle / "preprocessing.json").read_text())
    frontend = preprocessing["frontend"]
    assert frontend["output_shape"] == preprocessing["input_shape"] == [24, 10, 1]
    assert {check["runtime"] for check in frontend["parity"]} == {"tflite", "tflite-micro"}

    # What the device does: raw clip → frontend.tflite → model; it must see what the model was tested on.
    from edgeforge.data.audio import fit_clip, read_wav
    from edgeforge.data.checks import Where
    from edgeforge.data.frontend import compute_features
    from edgeforge.runtimes import get_runtime
    from edgeforge.spec.models import AudioFrontend

    config = AudioFrontend(**dataset["frontend"])
    clips = np.stack([
        fit_clip(read_wav(path, config, Where("params.yaml", "data/speech")), frontend["clip_samples"])
        for path in sorted((root / "data/speech/high").glob("*.wav"))[:4]
    ])
    device = get_runtime("tflite-micro").predict((bundle / "frontend.tflite").read_bytes(), clips)
    assert np.abs(device - compute_features(clips, config)).max() <= frontend["parity"][0]["tolerance"]

    built = {path.name: path.read_bytes() for path in (root / "build/data").iterdir()}
    dvc("repro", "-f", "prepare", cwd=root)  # rebuilt from scratch: the same bytes, frontend included
    assert {path.name: path.read_bytes() for path in (root / "build/data").iterdir()} == built
