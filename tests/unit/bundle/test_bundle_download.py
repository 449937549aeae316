"""What a device downloads: the release's deterministic bundle.tar.gz, and the search's prediction
of its size (exact against a release: tests/func/test_pipeline.py)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

from bundle_helpers import make_bundle

from edgeforge.bundle.download import BundleData, bundle_archive, download_bytes, pack_files, read_tree
from edgeforge.bundle.keys import init_keys
from edgeforge.bundle.release import find_bundles, release


def test_the_archive_is_a_deterministic_gzipped_tar_of_the_bundle(tmp_path):
    for name in ("a", "b"):
        make_bundle(tmp_path / name, seed=1)
    first, second = (bundle_archive(tmp_path / name / "targets/sbc/bundle") for name in ("a", "b"))
    assert first == second and first[:2] == b"\x1f\x8b"
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime 0: no build time in the bytes
    files = read_tree(tmp_path / "a/targets/sbc/bundle")
    assert gzip.decompress(first) == pack_files(files)
    assert download_bytes(files) == len(first)
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == sorted(files)
        assert all(member.mtime == 0 and member.uid == 0 for member in archive)


def test_release_publishes_exactly_that_archive(tmp_path):
    make_bundle(tmp_path / "build", seed=2)
    init_keys(tmp_path / "keys")
    [published] = release(tmp_path / "keys", tmp_path / "repo", find_bundles(tmp_path / "build"))
    assert published.path == "sbc/bundle.tar.gz"
    [stored] = (tmp_path / "repo/targets/sbc").glob("*.bundle.tar.gz")
    assert stored.read_bytes() == bundle_archive(tmp_path / "build/targets/sbc/bundle")


def test_bundle_data_reads_what_the_prepare_stage_wrote(tmp_path):
    (tmp_path / "frontend.tflite").write_bytes(b"frontend")
    info = {"input_shape": [49, 10], "num_classes": 2, "class_names": ["no", "yes"], "source": {"sha256": "ab" * 32},
            "preprocessing": {"normalize": {"mean": [0.5], "std": [2.0]}, "frontend": {"model_file": "frontend.tflite"}}}
    (tmp_path / "info.json").write_text(json.dumps(info))
    data = BundleData.read(Path(tmp_path))
    assert data.preprocessing["data_sha256"] == "ab" * 32 and data.preprocessing["normalize"] == {"mean": [0.5], "std": [2.0]}
    assert data.companions == {"frontend.tflite": b"frontend"} and not data.estimated


def test_the_spec_hash_a_bundle_carries_ignores_where_the_search_ran():
    """A model built on a Dask cluster is the same bundle as one built locally (and releases as
    unchanged); a setting that changes what is built changes the hash."""
    from edgeforge.bundle.download import spec_hash
    from tests.unit.search.helpers import quick_spec

    spec = quick_spec()

    def edited(**search) -> str:
        data = spec.model_dump(by_alias=True)
        data["search"].update(search)
        return spec_hash(type(spec).model_validate(data), "mcu")

    assert edited(executor="dask", dask_address="tcp://127.0.0.1:8786") == spec_hash(spec, "mcu")
    assert edited(finetune_epochs=spec.search.finetune_epochs + 1) != spec_hash(spec, "mcu")


def test_the_spec_hash_a_bundle_carries_ignores_the_limits_it_was_chosen_under():
    """A constraint or objective edit that keeps the choice keeps the bundle (no new release of the
    same model); any other edit of the target changes the hash."""
    from edgeforge.bundle.download import spec_hash
    from tests.unit.search.helpers import quick_spec

    spec = quick_spec()

    def edited(**target) -> str:
        data = spec.model_dump(by_alias=True)
        data["targets"]["mcu"].update(target)
        return spec_hash(type(spec).model_validate(data), "mcu")

    limits = {**spec.targets["mcu"].constraints.model_dump(by_alias=True), "latency_ms": 123.0}
    assert edited(constraints=limits, objective="max_accuracy") == spec_hash(spec, "mcu")
    assert edited(memory_plan="tflm") != spec_hash(spec, "mcu")


# -- the predicted size and the canary outputs, memoized (a constraint edit reads them) ----------

def small_splits():
    from bundle_helpers import training_data

    from edgeforge.data.splits import Splits

    x, y = training_data(samples=60)
    return Splits(x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:])


class Counting:
    """Wraps a real function and counts its calls (what ran, not what it returned)."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


def predicted(spec, splits, memo=None, target="sbc"):
    from bundle_helpers import random_classifier

    from edgeforge.bundle.download import predicted_download_bytes
    from edgeforge.search.candidates import Candidate

    return predicted_download_bytes(
        spec=spec, target_name=target, candidate=Candidate(quantization="float32"), artifact_bytes=random_classifier(seed=4),
        metrics={"accuracy": 0.9, "model_bytes": 1234}, splits=splits, memo=memo,
    )


def test_the_predicted_download_size_is_memoized_and_equals_the_figure_computed_afresh(tmp_path, monkeypatch):
    from edgeforge.bundle import download
    from edgeforge.runtimes import get_runtime
    from edgeforge.search.memo import Memo
    from tests.unit.search.helpers import quick_spec

    spec, splits, memo = quick_spec(), small_splits(), Memo(tmp_path / "memo")
    afresh = predicted(spec, splits)
    bundles = Counting(download._bundle_files)
    monkeypatch.setattr(download, "_bundle_files", bundles)
    runtime = type(get_runtime(spec.targets["sbc"].runtime))
    runs = Counting(runtime.predict)
    monkeypatch.setattr(runtime, "predict", lambda self, *args: runs(self, *args))

    assert predicted(spec, splits, memo) == afresh and (bundles.calls, runs.calls) == (1, 1)
    assert predicted(spec, splits, memo) == afresh and (bundles.calls, runs.calls) == (1, 1)  # read, nothing ran
    assert memo.hits == memo.misses == 0  # derived figures: not counted as candidate results reused
    assert sorted(p.name for p in (tmp_path / "memo").iterdir()) == ["canary", "download"]


def test_a_constraint_edit_reads_the_size_and_another_edit_recomputes_it_from_the_memoized_canary(tmp_path, monkeypatch):
    from edgeforge.bundle import download
    from edgeforge.runtimes import get_runtime
    from edgeforge.search.memo import Memo
    from tests.unit.search.helpers import quick_spec

    spec, splits, memo = quick_spec(), small_splits(), Memo(tmp_path / "memo")
    predicted(spec, splits, memo)
    runtime = type(get_runtime(spec.targets["sbc"].runtime))
    runs = Counting(runtime.predict)
    monkeypatch.setattr(runtime, "predict", lambda self, *args: runs(self, *args))
    bundles = Counting(download._bundle_files)
    monkeypatch.setattr(download, "_bundle_files", bundles)

    # the limits are not in the bundle's spec hash: the size is read
    constrained = quick_spec(constraints={"sbc": {"latency_ms": 3, "max_accuracy_drop": 0.02}})
    assert predicted(constrained, splits, memo) == predicted(spec, splits, memo)
    assert bundles.calls == runs.calls == 0

    # a new project name moves the spec hash in the manifest: the size is computed again (exactly),
    # the canary outputs are read
    data = spec.model_dump(by_alias=True)
    data["project"]["name"] = "renamed"
    renamed = type(spec).model_validate(data)
    assert predicted(renamed, splits, memo) == predicted(renamed, splits)
    assert bundles.calls == 2 and runs.calls == 1  # the second prediction ran without a memo


def test_canary_outputs_are_read_from_the_memo_or_a_second_one_and_stored_when_new(tmp_path, monkeypatch):
    import numpy as np
    from bundle_helpers import random_classifier

    from edgeforge.bundle.download import canary_outputs
    from edgeforge.runtimes import get_runtime
    from edgeforge.search.memo import Memo

    runtime, model, x = get_runtime("tflite"), random_classifier(seed=5), small_splits().x_test[:8]
    search_memo, package_memo = Memo(tmp_path / "search"), Memo(tmp_path / "package")
    expected = runtime.predict(model, x)
    stored = canary_outputs(runtime, model, x, search_memo)
    runs = Counting(type(runtime).predict)
    monkeypatch.setattr(type(runtime), "predict", lambda self, *args: runs(self, *args))

    read = canary_outputs(runtime, model, x, package_memo, also=[search_memo])
    assert runs.calls == 0 and not (tmp_path / "package").exists()
    for outputs in (stored, read):
        assert outputs.dtype == expected.dtype and np.array_equal(outputs, expected)
    other = random_classifier(seed=6)
    assert np.array_equal(canary_outputs(runtime, other, x, package_memo, also=[search_memo]), runtime.predict(other, x))
    assert runs.calls == 2 and (tmp_path / "package/canary").is_dir()  # a new model runs, and is stored where asked
