from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from bundle_helpers import make_bundle, run_cli

from edgeforge.bundle.keys import init_keys
from edgeforge.bundle.release import Lifetimes, find_bundles, latest_versions, pack_bundle, refresh, release, rotate_keys
from edgeforge.errors import KeysError, UserError


def _metadata(repo, name):
    return json.loads((repo / "metadata" / name).read_text())["signed"]


def test_release_creates_a_tuf_repository_with_version_1(build_dir, keys_dir, tmp_path):
    repo = tmp_path / "repo"
    [published] = release(keys_dir, repo, find_bundles(build_dir))
    assert (published.target, published.version, published.changed) == ("sbc", 1, True)
    names = sorted(p.name for p in (repo / "metadata").iterdir())
    assert names == ["1.root.json", "1.snapshot.json", "1.targets.json", "root.json", "timestamp.json"]
    entry = _metadata(repo, "1.targets.json")["targets"]["sbc/bundle.tar.gz"]
    assert entry["custom"]["version"] == 1
    assert (repo / "targets" / "sbc" / f"{entry['hashes']['sha256']}.bundle.tar.gz").stat().st_size == entry["length"]


def test_release_does_not_republish_an_unchanged_bundle(build_dir, keys_dir, tmp_path):
    release(keys_dir, tmp_path / "repo", find_bundles(build_dir))
    [published] = release(keys_dir, tmp_path / "repo", find_bundles(build_dir))
    assert (published.version, published.changed) == (1, False)
    assert _metadata(tmp_path / "repo", "timestamp.json")["version"] == 1


def test_release_publishes_nothing_for_a_rebuild_that_only_took_longer(tmp_path, keys_dir):
    build = tmp_path / "build"
    make_bundle(build, metrics={"accuracy": 0.93, "train_seconds": 12.5})
    release(keys_dir, tmp_path / "repo", find_bundles(build))
    make_bundle(build, metrics={"accuracy": 0.93, "train_seconds": 31.0})  # a clean rebuild: other timings
    [published] = release(keys_dir, tmp_path / "repo", find_bundles(build))
    assert (published.version, published.changed) == (1, False)


def test_release_increments_the_version_of_a_changed_target_only(tmp_path, keys_dir):
    build = tmp_path / "build"
    make_bundle(build, target="sbc")
    make_bundle(build, target="phone")
    release(keys_dir, tmp_path / "repo", find_bundles(build))
    make_bundle(build, target="sbc", seed=2)
    published = {p.target: p for p in release(keys_dir, tmp_path / "repo", find_bundles(build))}
    assert (published["sbc"].version, published["phone"].version) == (2, 1)
    assert latest_versions(tmp_path / "repo") == {"phone": 1, "sbc": 2}
    assert _metadata(tmp_path / "repo", "timestamp.json")["version"] == 2


def test_release_needs_no_root_key(build_dir, keys_dir, tmp_path):
    shutil.move(keys_dir / "root.key", tmp_path / "offline-root.key")
    [published] = release(keys_dir, tmp_path / "repo", find_bundles(build_dir))
    assert published.version == 1


def test_release_refuses_keys_the_repository_does_not_trust(build_dir, keys_dir, tmp_path):
    release(keys_dir, tmp_path / "repo", find_bundles(build_dir))
    init_keys(tmp_path / "other-keys")
    make_bundle(build_dir, seed=2)
    with pytest.raises(KeysError, match="targets key in the keys directory is not the one this repository's root trusts"):
        release(tmp_path / "other-keys", tmp_path / "repo", find_bundles(build_dir))
    assert latest_versions(tmp_path / "repo") == {"sbc": 1}


def test_refresh_re_signs_snapshot_and_timestamp_with_new_expiry(build_dir, keys_dir, tmp_path):
    repo = tmp_path / "repo"
    release(keys_dir, repo, find_bundles(build_dir), lifetimes=Lifetimes(timestamp=timedelta(hours=1)))
    before = _metadata(repo, "timestamp.json")
    refresh(keys_dir, repo)
    after = _metadata(repo, "timestamp.json")
    assert after["version"] == before["version"] + 1 and after["expires"] > before["expires"]
    assert after["meta"]["snapshot.json"]["version"] == 2
    assert _metadata(repo, "2.snapshot.json")["meta"]["targets.json"]["version"] == 1  # targets untouched


def test_pack_bundle_is_deterministic(tmp_path):
    for name in ("a", "b"):
        make_bundle(tmp_path / name)
    assert pack_bundle(tmp_path / "a" / "targets" / "sbc" / "bundle") == pack_bundle(tmp_path / "b" / "targets" / "sbc" / "bundle")


def test_find_bundles_tells_to_build_first(tmp_path):
    with pytest.raises(UserError, match="no bundles found.*run `dvc repro` first"):
        find_bundles(tmp_path / "build")


def test_release_command_publishes_and_reports_versions(build_dir, keys_dir, tmp_path, monkeypatch, capsys):
    argv = ["release", "--keys-dir", str(keys_dir), "--repo-dir", str(tmp_path / "repo"), "--build-dir", str(build_dir)]
    assert run_cli(argv, monkeypatch) == 0
    assert run_cli(argv, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "sbc: version 1 published (sbc/bundle.tar.gz)" in out and "sbc: version 1 unchanged" in out


def test_release_command_exits_2_on_missing_keys(build_dir, tmp_path, monkeypatch, capsys):
    argv = ["release", "--keys-dir", str(tmp_path / "no-keys"), "--repo-dir", str(tmp_path / "repo"), "--build-dir", str(build_dir)]
    assert run_cli(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "no such keys directory" in err and "edgeforge keys init" in err and "Traceback" not in err
    assert not (tmp_path / "repo").exists()


def test_keys_init_command_refuses_a_second_init(tmp_path, monkeypatch, capsys):
    argv = ["keys", "init", "--keys-dir", str(tmp_path / "keys")]
    assert run_cli(argv, monkeypatch) == 0
    assert "move" in capsys.readouterr().out
    assert run_cli(argv, monkeypatch) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_rotate_keys_renews_root_and_retires_replaced_keys(build_dir, keys_dir, tmp_path):
    repo = tmp_path / "repo"
    release(keys_dir, repo, find_bundles(build_dir))
    old_targets_key = (keys_dir / "targets.key").read_bytes()
    assert rotate_keys(keys_dir, repo, ["targets"]) == 2
    root = _metadata(repo, "2.root.json")
    assert _metadata(repo, "root.json") == root == json.loads((keys_dir / "root.json").read_text())["signed"]
    assert (keys_dir / "retired" / "targets-v1.key").read_bytes() == old_targets_key
    assert (keys_dir / "targets.key").read_bytes() != old_targets_key
    assert _metadata(repo, "2.targets.json")["version"] == 2  # re-signed with the new key
    make_bundle(build_dir, seed=2)
    [published] = release(keys_dir, repo, find_bundles(build_dir))
    assert published.version == 2


def test_rotate_keys_needs_the_root_key(build_dir, keys_dir, tmp_path):
    release(keys_dir, tmp_path / "repo", find_bundles(build_dir))
    (keys_dir / "root.key").unlink()
    with pytest.raises(KeysError, match="missing root key \\(bring the offline root key back"):
        rotate_keys(keys_dir, tmp_path / "repo")


def test_release_refuses_to_publish_under_an_expired_root(build_dir, tmp_path):
    init_keys(tmp_path / "keys", root_lifetime=timedelta(seconds=-1))
    with pytest.raises(KeysError, match="root metadata expired on .*edgeforge keys rotate"):
        release(tmp_path / "keys", tmp_path / "repo", find_bundles(build_dir))
