"""`edgeforge verify`: every corrupt output is found, named, and given the command that rebuilds it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import yaml

from edgeforge.bundle.package import build_bundle, drift_reference_from
from edgeforge.cli import main
from edgeforge.search.memo import Memo
from tests.fake_build import target_search, write_target

CONSTRAINTS = {"latency_ms": 5.0}


def dvc_file_out(root, path: str) -> str:
    """Cache `path` as DVC does (.dvc/cache/files/md5/xx/rest) and return its md5."""
    data = (root / path).read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    cached = root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return md5


def dvc_dir_out(root, path: str) -> str:
    """Cache a directory out: each file, and the .dir listing of (relpath, md5)."""
    files = sorted(p for p in (root / path).rglob("*") if p.is_file())
    listing = [{"md5": dvc_file_out(root, p.relative_to(root).as_posix()), "relpath": p.relative_to(root / path).as_posix()}
               for p in files]
    data = json.dumps(listing).encode()
    md5 = hashlib.md5(data).hexdigest()
    cached = root / ".dvc/cache/files/md5" / md5[:2] / (md5[2:] + ".dir")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return md5 + ".dir"


@pytest.fixture
def build(tmp_project):
    """A small build: mcu's search result, selection, exports and bundle, dvc.lock with DVC's cache,
    and a memo with one entry."""
    root = tmp_project
    result = target_search({"w1-int8": {}}, CONSTRAINTS)
    artifact = root / result.candidates[0].artifact
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_bytes(b"w1-int8")  # fake_build's sha256 is that of the candidate id
    model = root / "build/targets/mcu/export/model.tflite"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"w1-int8")
    write_target(root, result, chosen="w1-int8", formats={"tflite": ["build/targets/mcu/export/model.tflite"]})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    build_bundle(
        root / "build/targets/mcu/bundle", project="p", target="mcu", device="stm32f746_disco", runtime="tflite-micro",
        model_files={"model.tflite": model}, primary_file="model.tflite", candidate={"id": "w1-int8"}, metrics={},
        spec_hash="h", canary_x=x[:2], canary_y=np.eye(3)[:2], drift_reference=drift_reference_from(x, rng.integers(0, 3, 50)),
        verified_sha256=result.candidates[0].sha256,
    )
    lock = {"schema": "2.0", "stages": {
        "search": {"outs": [{"path": "build/search", "md5": dvc_dir_out(root, "build/search")}]},
        "select@mcu": {"outs": [{"path": "build/targets/mcu/selected.json", "md5": dvc_file_out(root, "build/targets/mcu/selected.json")}]},
        "package@mcu": {"outs": [{"path": "build/targets/mcu/bundle", "md5": dvc_dir_out(root, "build/targets/mcu/bundle")}]},
    }}
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    Memo(root / "build/memo").store("converted", "k1", lambda out: (out / "model.tflite").write_bytes(b"w1-int8") or {"n": 1})
    return root


def flip_byte(path, offset: int = 3) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def verify(capsys, *args) -> tuple[int, list[str], str]:
    code = main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_verify_passes_an_intact_build(build, capsys):
    code, lines, err = verify(capsys)
    assert (code, lines) == (0, [])
    assert "checked 6 DVC output files, 1 targets' outputs and bundles, 1 memo entries: all intact" in err


def test_verify_names_a_corrupt_workspace_output_and_restores_it_from_the_cache(build, capsys):
    flip_byte(build / "build/targets/mcu/selected.json", 10)
    code, lines, err = verify(capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1  # one error line; the finding is on stdout
    assert "build/targets/mcu/selected.json: differs from dvc.lock (md5" in lines[0]
    assert lines[0].endswith("fix: dvc checkout --force build/targets/mcu/selected.json")


def test_verify_finds_a_corrupt_dvc_cache_object_dvc_status_would_miss(build, capsys):
    md5 = hashlib.md5((build / "build/targets/mcu/selected.json").read_bytes()).hexdigest()
    flip_byte(build / ".dvc/cache/files/md5" / md5[:2] / md5[2:])
    code, lines, _ = verify(capsys)
    assert code == 2 and len(lines) == 1
    assert "DVC cache object is corrupt" in lines[0] and "the cached copy of build/targets/mcu/selected.json" in lines[0]
    assert lines[0].endswith("fix: delete it, then run `dvc repro -f select@mcu`")


def test_verify_finds_a_selected_artifact_that_is_not_what_was_selected(build, capsys):
    flip_byte(build / "build/search/models/w1-int8.tflite")
    code, lines, _ = verify(capsys)
    assert code == 2
    assert any("w1-int8.tflite: does not match the sha256" in line and line.endswith("fix: dvc repro -f search") for line in lines)


def test_verify_finds_a_bundle_file_that_does_not_match_its_manifest(build, capsys):
    flip_byte(build / "build/targets/mcu/bundle/model.tflite")
    code, lines, _ = verify(capsys)
    assert code == 2
    assert any(
        line.startswith("build/targets/mcu/bundle: model.tflite: sha256 differs from the manifest")
        and line.endswith("fix: dvc repro -f package@mcu")
        for line in lines
    )


def test_verify_finds_a_typed_output_that_does_not_parse(build, capsys):
    (build / "build/targets/mcu/export/exports.json").write_text('{"target": "mc')
    code, lines, _ = verify(capsys)
    assert code == 2
    assert any(line.startswith("build/targets/mcu/export/exports.json: not a valid Exports") for line in lines)
    assert any(line.endswith("fix: dvc repro -f export@mcu") for line in lines)


def test_verify_finds_a_damaged_memo_entry_and_fix_removes_it(build, capsys):
    entry = build / "build/memo/converted/k1"
    flip_byte(entry / "model.tflite")
    code, lines, _ = verify(capsys, "--json")
    report = json.loads("\n".join(lines))
    assert code == 2 and not report["ok"]
    [finding] = report["findings"]
    assert finding["path"] == str(entry.relative_to(build)) and "does not match its sha256" in finding["problem"]
    assert verify(capsys, "--fix")[0] == 2 and not entry.exists()
    assert verify(capsys)[0] == 0


def test_verify_finds_an_exported_model_that_is_not_the_selected_one_without_dvc(build, capsys):
    flip_byte(build / "build/targets/mcu/export/model.tflite")  # export/ is in no dvc.lock here
    code, lines, _ = verify(capsys)
    assert code == 2
    assert "build/targets/mcu/export/model.tflite: is not the selected model (sha256" in lines[0]
    assert lines[0].endswith("fix: dvc repro -f export@mcu")


def test_verify_finds_a_corrupt_search_summary(build, capsys):
    (build / "build/search/summary.json").write_bytes(b"\x00\xff garbage")
    code, lines, _ = verify(capsys)
    assert code == 2
    assert any(line.startswith("build/search/summary.json: not valid JSON") and line.endswith("fix: dvc repro -f search")
               for line in lines)
