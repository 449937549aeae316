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
