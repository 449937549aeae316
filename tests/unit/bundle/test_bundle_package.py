from __future__ import annotations

import json

import numpy as np
import pytest
from bundle_helpers import make_bundle

from edgeforge import __version__
from edgeforge.bundle.package import build_bundle, format_of, load_canary, read_manifest, verify_bundle
from edgeforge.errors import BundleError, UserError


def test_build_bundle_writes_manifest_model_and_canary(build_dir):
    bundle = build_dir / "targets" / "sbc" / "bundle"
    manifest = read_manifest(bundle)
    assert sorted(p.name for p in bundle.iterdir()) == ["canary.npz", "manifest.json", "model.tflite"]
    assert manifest["format"] == "tflite"
    assert manifest["model_file"] == "model.tflite"
    assert manifest["edgeforge_version"] == __version__
    assert manifest["candidate"] == {"id": "w1.0-int8-1", "config": {"quantization": "int8"}}
    assert manifest["files"]["model.tflite"]["sha256"] == manifest["model_sha256"]
    assert set(manifest["files"]) == {"model.tflite", "canary.npz"}
    assert manifest["drift_reference"]["features"][0]["name"] == "x[0]"
    x, y = load_canary(bundle, manifest)
    assert x.shape == (8, 4) and y.shape == (8, 3)


def test_build_bundle_manifest_has_sorted_keys(build_dir):
    text = (build_dir / "targets" / "sbc" / "bundle" / "manifest.json").read_text()
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_build_bundle_is_byte_identical_when_rebuilt(tmp_path):
    for name in ("first", "second"):
        make_bundle(tmp_path / name)
    for file in ("manifest.json", "canary.npz", "model.tflite"):
        first = (tmp_path / "first" / "targets" / "sbc" / "bundle" / file).read_bytes()
        assert first == (tmp_path / "second" / "targets" / "sbc" / "bundle" / file).read_bytes(), file


def test_build_bundle_is_byte_identical_whatever_the_build_timings(tmp_path):
    """Wall-clock timings stay out of the manifest: two builds of one model give one bundle."""
    for name, seconds in (("first", 1.25), ("second", 97.5)):
        make_bundle(tmp_path / name, metrics={"accuracy": 0.93, "train_seconds": seconds, "convert_seconds": seconds / 3})
    manifests = [(tmp_path / name / "targets/sbc/bundle/manifest.json").read_bytes() for name in ("first", "second")]
    assert manifests[0] == manifests[1]
    assert json.loads(manifests[0])["metrics"] == {"accuracy": 0.93}


def test_build_bundle_replaces_previous_bundle_and_leaves_no_temporary_dirs(build_dir):
    manifest = make_bundle(build_dir, seed=2)
    bundle_parent = build_dir / "targets" / "sbc"
    assert [p.name for p in bundle_parent.iterdir()] == ["bundle"]
    assert read_manifest(bundle_parent / "bundle")["model_sha256"] == manifest["model_sha256"]


def test_build_bundle_copies_a_directory_model_file_by_file(tmp_path):
    package = tmp_path / "model.mlpackage"
    (package / "Data").mkdir(parents=True)
    (package / "Manifest.json").write_text("{}")
    (package / "Data" / "weights.bin").write_bytes(b"\x00" * 16)
    manifest = build_bundle(
        tmp_path / "bundle", project="p", target="phone", device="iphone_15_pro", runtime="coreml",
        model_files={"model.mlpackage": package}, primary_file="model.mlpackage", candidate={"id": "c"},
        metrics={"accuracy": np.float32(0.5), "energy_mj": float("nan")}, spec_hash="h",
        canary_x=np.zeros((1, 2)), canary_y=np.zeros((1, 2)), drift_reference={},
    )
    assert manifest["format"] == "coreml"
    assert {"model.mlpackage/Manifest.json", "model.mlpackage/Data/weights.bin"} <= set(manifest["files"])
    assert manifest["metrics"] == {"accuracy": 0.5, "energy_mj": None}
    verify_bundle(tmp_path / "bundle")


def test_build_bundle_rejects_primary_file_missing_from_model_files(tmp_path):
    with pytest.raises(UserError, match="primary file 'model.onnx' is not among"):
        build_bundle(
            tmp_path / "bundle", project="p", target="t", device="d", runtime="tflite",
            model_files={"model.tflite": tmp_path / "m.tflite"}, primary_file="model.onnx", candidate={"id": "c"},
            metrics={}, spec_hash="h", canary_x=np.zeros((1, 2)), canary_y=np.zeros((1, 2)), drift_reference={},
        )
    assert not (tmp_path / "bundle").exists()


def test_verify_bundle_names_a_modified_file(build_dir):
    bundle = build_dir / "targets" / "sbc" / "bundle"
    model = bundle / "model.tflite"
    model.write_bytes(model.read_bytes()[:-1] + b"\x01")
    with pytest.raises(BundleError, match="model.tflite: sha256 differs"):
        verify_bundle(bundle)


def test_verify_bundle_names_missing_and_extra_files(build_dir):
    bundle = build_dir / "targets" / "sbc" / "bundle"
    (bundle / "canary.npz").unlink()
    (bundle / "payload.sh").write_text("echo pwned")
    with pytest.raises(BundleError, match="canary.npz: missing; payload.sh: not listed"):
        verify_bundle(bundle)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("model.tflite", "tflite"), ("model.onnx", "onnx"), ("m.mlpackage", "coreml"), ("model.cc", "tflm_c"), ("m.plan", "tensorrt")],
)
def test_format_of_derives_format_from_suffix(filename, expected):
    assert format_of(filename) == expected
