"""The device's own files, read defensively: a torn log line, a damaged release record or block list
never crash `device status` or `update` (the end-to-end healing is in tests/func/test_ota.py)."""

from __future__ import annotations

import json
import os

from bundle_helpers import make_bundle

from edgeforge.bundle import updater
from edgeforge.cli import main


def installed(tmp_path):
    """An install directory with slot a active, as the updater leaves it (no network needed)."""
    make_bundle(tmp_path / "build")
    device = tmp_path / "device"
    (device / "slots").mkdir(parents=True)
    os.replace(tmp_path / "build/targets/sbc/bundle", device / "slots" / "a")
    manifest = json.loads((device / "slots/a/manifest.json").read_text())
    release = {"target": "sbc", "version": 1, "model_sha256": manifest["model_sha256"], "installed_at": "2025-01-01T00:00:00Z"}
    (device / "slots/a/release.json").write_text(json.dumps(release))
    os.symlink("slots/a", device / "current")
    return device


def test_last_event_skips_a_torn_line(tmp_path):
    event = {"time": "2025-01-01T00:00:00Z", "outcome": "installed", "version": 1}
    (tmp_path / "update.log").write_text(json.dumps(event) + "\n" + '{"time": "2025-01-02T00:00:00Z", "outc')
    assert updater._last_event(tmp_path) == event


def test_a_new_event_after_a_torn_line_starts_on_its_own_line(tmp_path):
    (tmp_path / "update.log").write_text('{"time": "20')
    updater._log_event(tmp_path, "sbc", "rejected", 2, None, "why")
    assert updater._last_event(tmp_path)["reason"] == "why"


def test_a_damaged_release_record_reads_as_no_slot(tmp_path):
    (tmp_path / "slots" / "a").mkdir(parents=True)
    for content in ('{"target": "sbc"', "[1, 2]", '{"target": "sbc", "surprise": 1}'):
        (tmp_path / "slots/a/release.json").write_text(content)
        assert updater.read_slot(tmp_path, "a") is None


def test_a_damaged_block_list_blocks_nothing(tmp_path):
    for content in ("[1, 2]", '{"sbc": "3"}', '{"sbc": [1, "x"'):
        (tmp_path / "blocked.json").write_text(content)
        assert updater._blocked_versions(tmp_path, "sbc") == []
    updater._block_version(tmp_path, "sbc", 4)
    assert updater._blocked_versions(tmp_path, "sbc") == [4]


def test_status_checks_the_active_bundle_and_names_the_damaged_file(tmp_path, capsys):
    device = installed(tmp_path)
    assert updater.status(device).damage == ()
    (device / "slots/a/canary.npz").write_bytes(b"rot")
    assert updater.status(device).damage == ("canary.npz does not match its sha256 in manifest.json",)
    assert main(["device", "status", "--install-dir", str(device), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["damage"] == ["canary.npz does not match its sha256 in manifest.json"]
    assert "download it again with `edgeforge device update" in captured.err


def test_status_removes_leftovers_of_a_killed_update(tmp_path):
    device = installed(tmp_path)
    (device / "slots/.incoming-x1").mkdir()
    (device / "downloads").mkdir()
    (device / "downloads/sbc_bundle.tar.gz.part").write_bytes(b"half")
    state = updater.status(device)
    assert "removed 2 leftover(s)" in state.notes[0]
    assert sorted(p.name for p in (device / "slots").iterdir()) == ["a"]
