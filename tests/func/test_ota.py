"""OTA end to end: `release` into a TUF repository, a real http.server on 127.0.0.1, `device update`.

Every attack and failure starts from the same fleet state, built once per module: versions 1 and
2 released, the device updated to 1 and then 2 (slot b active, slot a previous). Each test then
offers version 3 in some broken way and checks that the device still runs version 2, with the
reason in its update log.
"""

from __future__ import annotations

import errno
import functools
import http.server
import importlib.util
import os
import shutil
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from edgeforge.bundle import updater
from edgeforge.bundle.keys import init_keys, load_signers
from edgeforge.bundle.package import verify_bundle
from edgeforge.bundle.release import Lifetimes, _Repository, find_bundles, release, rotate_keys
from edgeforge.bundle.fetcher import deadline_fetcher
from edgeforge.bundle.updater import status, update
from edgeforge.errors import UpdateError, UserError


def _load_helpers():
    if "bundle_helpers" in sys.modules:
        return sys.modules["bundle_helpers"]
    path = Path(__file__).resolve().parents[1] / "unit" / "bundle" / "bundle_helpers.py"
    spec = importlib.util.spec_from_file_location("bundle_helpers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bundle_helpers"] = module
    spec.loader.exec_module(module)
    return module


helpers = _load_helpers()
pytestmark = pytest.mark.slow


class _RepoHandler(http.server.SimpleHTTPRequestHandler):
    cut_downloads = False  # send only half of every target file, then hang up
    trickle = False  # send target files one byte a second (for at most TRICKLE_MAX_S)

    def log_message(self, format, *args):
        pass

    def copyfile(self, source, outputfile):
        if self.cut_downloads and self.path.startswith("/targets/"):
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        if self.trickle and self.path.startswith("/targets/"):
            data = source.read()
            started = time.monotonic()
            for offset in range(len(data)):
                if time.monotonic() - started > TRICKLE_MAX_S:
                    break
                try:
                    outputfile.write(data[offset : offset + 1])
                    outputfile.flush()
                except OSError:  # the client gave up
                    break
                time.sleep(1.0)
            self.close_connection = True
            return
        super().copyfile(source, outputfile)


TRICKLE_MAX_S = 20


@contextmanager
def serve(directory: Path, *, cut_downloads: bool = False, trickle: bool = False):
    """A static file server for directory on 127.0.0.1; yields its base URL."""
    handler = type("Handler", (_RepoHandler,), {"cut_downloads": cut_downloads, "trickle": trickle})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    server.block_on_close = False  # a trickling handler thread must not hold up the test's end
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("fleet")
    init_keys(base / "keys")
    helpers.make_bundle(base / "build", seed=1)
    release(base / "keys", base / "repo", find_bundles(base / "build"))
    shutil.copytree(base / "repo" / "metadata", base / "metadata-v1")
    with serve(base / "repo") as url:
        update(url, "sbc", base / "device", root=base / "keys" / "root.json")
        helpers.make_bundle(base / "build", seed=2)
        release(base / "keys", base / "repo", find_bundles(base / "build"))
        update(url, "sbc", base / "device")
    return base


@dataclass
class Ota:
    keys: Path
    repo: Path
    device: Path
    build: Path
    metadata_v1: Path

    def publish(self, *, seed: int = 3, broken_canary: bool = False, lifetimes: Lifetimes = Lifetimes()) -> Path:
        """Release version 3 of target sbc; return the stored bundle file in the repository."""
        helpers.make_bundle(self.build, seed=seed, broken_canary=broken_canary)
        [published] = release(self.keys, self.repo, find_bundles(self.build), lifetimes=lifetimes)
        assert published.version == 3
        sha256 = _Repository.open(self.repo).targets.signed.targets[published.path].hashes["sha256"]
        return self.repo / "targets" / "sbc" / f"{sha256}.bundle.tar.gz"


@pytest.fixture
def ota(fleet, tmp_path) -> Ota:
    """A private copy of the fleet: repository and device at version 2, keys shared read-only."""
    shutil.copytree(fleet / "repo", tmp_path / "repo")
    shutil.copytree(fleet / "device", tmp_path / "device", symlinks=True)
    return Ota(fleet / "keys", tmp_path / "repo", tmp_path / "device", tmp_path / "build", fleet / "metadata-v1")


def assert_version_2_still_active(device: Path, reason: str) -> None:
    state = status(device)
    assert (state.active.version, state.active.slot) == (2, "b")
    assert state.previous.version == 1
    assert verify_bundle(device / "current")["model_sha256"] == state.active.model_sha256
    assert not list((device / "slots").glob(".incoming-*")), "half-installed bundle left behind"
    assert not list((device / "downloads").iterdir())
    assert state.last_event["outcome"] == "rejected"
    assert reason in state.last_event["reason"]


def test_update_installs_into_the_inactive_slot_and_status_shows_both(ota, monkeypatch, capsys):
    ota.publish()
    with serve(ota.repo) as url:
        argv = ["device", "update", "--repo", url, "--target", "sbc", "--install-dir", str(ota.device)]
        assert helpers.run_cli(argv, monkeypatch) == 0
        assert "sbc: version 3 installed in slot a and active (was 2)" in capsys.readouterr().out
        assert helpers.run_cli(argv, monkeypatch) == 0
        assert "version 3 is already active" in capsys.readouterr().out
    assert os.readlink(ota.device / "current") == "slots/a"
    assert helpers.run_cli(["device", "status", "--install-dir", str(ota.device)], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "active    sbc version 3  slot a" in out and "previous  sbc version 2  slot b" in out
    assert helpers.run_cli(["device", "rollback", "--install-dir", str(ota.device)], monkeypatch) == 0
    assert status(ota.device).active.version == 2
    with serve(ota.repo) as url:
        assert update(url, "sbc", ota.device).outcome == "skipped"  # the rollback is not undone by cron
    assert status(ota.device).active.version == 2


def test_device_follows_a_key_rotation_and_rejects_the_retired_keys(ota, tmp_path):
    ota.keys = Path(shutil.copytree(ota.keys, tmp_path / "keys"))  # rotation changes the keys
    assert rotate_keys(ota.keys, ota.repo, ["root", "targets", "timestamp"]) == 2
    ota.publish()
    with serve(ota.repo) as url:
        assert update(url, "sbc", ota.device).version == 3
        assert (ota.device / "tuf" / "root_history" / "2.root.json").exists()
        _sign_timestamp_with(ota.repo, ota.keys / "retired" / "timestamp-v1.key")
        with pytest.raises(UpdateError, match="UnsignedMetadataError"):
            update(url, "sbc", ota.device)
    assert status(ota.device).active.version == 3


def _sign_timestamp_with(repo: Path, private_key: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata

    path = str(repo / "metadata" / "timestamp.json")
    timestamp = Metadata.from_file(path)
    timestamp.signed.version += 1
    timestamp.sign(CryptoSigner(load_pem_private_key(private_key.read_bytes(), None)), append=False)
    timestamp.to_file(path)


def test_modified_bundle_is_rejected(ota):
    stored = ota.publish()
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with serve(ota.repo) as url, pytest.raises(UpdateError, match="version 2 is still active"):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "does not match the signed metadata")


def test_replayed_old_metadata_is_rejected_as_a_rollback_attack(ota):
    shutil.rmtree(ota.repo / "metadata")
    shutil.copytree(ota.metadata_v1, ota.repo / "metadata")  # a mirror serving the version-1 release
    with serve(ota.repo) as url, pytest.raises(UpdateError):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "BadVersionNumberError")


def test_an_older_bundle_version_is_refused_even_when_correctly_signed(ota):
    repository = _Repository.open(ota.repo)  # as if the online keys signed an older release again
    repository.targets.signed.targets["sbc/bundle.tar.gz"].unrecognized_fields["custom"]["version"] = 1
    repository.commit(load_signers(ota.keys), Lifetimes(), roles=("targets", "snapshot", "timestamp"))
    with serve(ota.repo) as url, pytest.raises(UpdateError, match="rollback refused"):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "older than the active 2")


def test_expired_timestamp_is_rejected(ota):
    ota.publish(lifetimes=Lifetimes(timestamp=timedelta(seconds=-60)))
    with serve(ota.repo) as url, pytest.raises(UpdateError):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "ExpiredMetadataError")


def test_metadata_signed_by_the_wrong_keys_is_rejected(ota, tmp_path):
    init_keys(tmp_path / "attacker-keys")  # an attacker's own repository, served at the device's URL
    helpers.make_bundle(tmp_path / "evil-build", seed=666)
    release(tmp_path / "attacker-keys", tmp_path / "attacker-repo", find_bundles(tmp_path / "evil-build"))
    with serve(tmp_path / "attacker-repo") as url, pytest.raises(UpdateError):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "UnsignedMetadataError")


def test_download_cut_midway_leaves_the_active_slot_untouched(ota):
    ota.publish()
    with serve(ota.repo, cut_downloads=True) as url, pytest.raises(UpdateError, match="failed"):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "download from")


def test_model_failing_its_health_check_is_rolled_back(ota):
    ota.publish(broken_canary=True)
    with serve(ota.repo) as url:
        with pytest.raises(UpdateError, match="failed its health check"):
            update(url, "sbc", ota.device)
        assert_version_2_still_active(ota.device, "canary outputs differ")
        assert update(url, "sbc", ota.device).outcome == "skipped"  # not downloaded again
    helpers.make_bundle(ota.build, seed=4)
    release(ota.keys, ota.repo, find_bundles(ota.build))
    with serve(ota.repo) as url:
        assert update(url, "sbc", ota.device).version == 4  # a fixed release goes through


def test_full_disk_during_install_keeps_the_previous_model(ota, monkeypatch):
    def disk_full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    ota.publish()
    monkeypatch.setattr(updater, "_write_file", disk_full)
    with serve(ota.repo) as url, pytest.raises(UpdateError, match="no space left on the device"):
        update(url, "sbc", ota.device)
    assert_version_2_still_active(ota.device, "no space left")


def test_repository_that_does_not_answer_is_a_clear_error(ota, monkeypatch, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the update: nothing listens there
    argv = ["device", "update", "--repo", f"http://127.0.0.1:{port}", "--target", "sbc", "--install-dir", str(ota.device)]
    assert helpers.run_cli(argv, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "does not answer" in err and "version 2 is still active" in err and "Traceback" not in err
    assert_version_2_still_active(ota.device, "does not answer")


def test_first_update_without_a_trusted_root_asks_for_one(fleet, tmp_path, monkeypatch, capsys):
    argv = ["device", "update", "--repo", "http://127.0.0.1:9", "--target", "sbc", "--install-dir", str(tmp_path / "new")]
    assert helpers.run_cli(argv, monkeypatch) == 2
    assert "provision the device once with --root" in capsys.readouterr().err


# -- the device heals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "reason"),
    [({"deadline_s": 3}, "deadline of 3 s passed"), ({"rate_window_s": 2, "min_bytes_per_s": 100}, "below the minimum")],
    ids=["deadline", "min-rate"],
)
def test_a_trickling_mirror_cannot_hold_the_update_lock(ota, limits, reason):
    ota.publish()
    with serve(ota.repo, trickle=True) as url:
        started = time.monotonic()
        with pytest.raises(UpdateError, match=reason):
            update(url, "sbc", ota.device, fetcher=deadline_fetcher(**limits))
        assert time.monotonic() - started < 10
        # the lock is free: the next attempt runs (and is refused for the same reason), not "another update"
        with pytest.raises(UpdateError, match="abandoned"):
            update(url, "sbc", ota.device, fetcher=deadline_fetcher(deadline_s=2))
    assert_version_2_still_active(ota.device, "abandoned")


def test_leftovers_of_a_killed_update_are_removed_at_the_next_run(ota, monkeypatch, capsys):
    (ota.device / "slots" / ".incoming-k1ll3d").mkdir()
    (ota.device / "slots" / ".incoming-k1ll3d" / "model.tflite").write_bytes(b"half a bundle")
    (ota.device / "downloads" / "sbc_bundle.tar.gz.part").write_bytes(b"half a download")
    os.symlink("slots/a", ota.device / ".current.new")
    assert helpers.run_cli(["device", "status", "--install-dir", str(ota.device)], monkeypatch) == 0
    assert "removed 3 leftover(s) of an interrupted update" in capsys.readouterr().err
    assert sorted(p.name for p in (ota.device / "slots").iterdir()) == ["a", "b"]
    assert list((ota.device / "downloads").iterdir()) == [] and not (ota.device / ".current.new").is_symlink()


def test_a_torn_update_log_line_is_skipped(ota, monkeypatch, capsys):
    with open(ota.device / "update.log", "a") as log:
        log.write('{"time": "2025-01-01T00:00:00Z", "target": "sb')  # killed mid-write
    assert status(ota.device).last_event["outcome"] == "installed"
    assert helpers.run_cli(["device", "status", "--install-dir", str(ota.device)], monkeypatch) == 0
    ota.publish()
    with serve(ota.repo) as url:
        update(url, "sbc", ota.device)
    assert status(ota.device).last_event["version"] == 3  # appended after the torn line, readable


def test_root_flag_reprovisions_a_damaged_trusted_root_and_says_so(ota, monkeypatch, capsys):
    trusted = ota.device / "tuf" / "root.json"
    trusted.write_bytes(trusted.read_bytes()[:100])  # truncated (through its root_history link)
    ota.publish()
    with serve(ota.repo) as url:
        with pytest.raises(UserError, match="trusted root is damaged .* re-provision it with --root"):
            update(url, "sbc", ota.device)
        argv = ["device", "update", "--repo", url, "--target", "sbc", "--install-dir", str(ota.device),
                "--root", str(ota.keys / "root.json")]
        assert helpers.run_cli(argv, monkeypatch) == 0
        captured = capsys.readouterr()
        assert "version 3 installed" in captured.out and "re-provisioned:" in captured.err
        assert helpers.run_cli(argv, monkeypatch) == 0  # intact now: --root is not used again
        assert "not used: this device already trusts" in capsys.readouterr().err


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_bit_rot_in_the_active_model_is_found_and_repaired_by_downloading_it_again(ota, monkeypatch, capsys):
    model = ota.device / "slots" / "b" / "model.tflite"
    intact = model.read_bytes()
    _flip_byte(model)
    assert status(ota.device).damage == ("model.tflite does not match its sha256 in manifest.json",)
    assert helpers.run_cli(["device", "status", "--install-dir", str(ota.device)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is damaged (model.tflite" in err and "device update" in err
    with serve(ota.repo) as url:  # the repository still offers version 2: downloaded again
        result = update(url, "sbc", ota.device)
    assert (result.outcome, result.version, result.slot) == ("repaired", 2, "b")
    assert model.read_bytes() == intact and status(ota.device).damage == ()
    assert status(ota.device).previous.version == 1  # the rollback target is untouched


def test_bit_rot_is_restored_from_the_other_slot_when_it_holds_the_same_file(ota):
    helpers.make_bundle(ota.build, seed=2, metrics={"accuracy": 0.95})  # version 3: version 2's model, new metadata
    release(ota.keys, ota.repo, find_bundles(ota.build))
    with serve(ota.repo) as url:
        assert update(url, "sbc", ota.device).version == 3
    model = ota.device / "slots" / "a" / "model.tflite"
    intact = model.read_bytes()
    _flip_byte(model)
    state = status(ota.device)  # no repository needed
    assert state.damage == () and "restored model.tflite of the active version 3 from slot b" in state.notes[0]
    assert model.read_bytes() == intact
