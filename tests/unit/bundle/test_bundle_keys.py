from __future__ import annotations

import stat

import pytest

from edgeforge.bundle.keys import ROLES, init_keys, load_signers
from edgeforge.errors import KeysError


def test_init_keys_creates_private_keys_and_a_root_signed_by_the_root_key(tmp_path):
    from tuf.api.metadata import Metadata

    root_path = init_keys(tmp_path / "keys")
    for role in ROLES:
        key = tmp_path / "keys" / f"{role}.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    root = Metadata.from_file(str(root_path))
    root.signed.verify_delegate("root", root.signed_bytes, root.signatures)  # raises unless self-signed
    assert root.signed.consistent_snapshot
    signers = load_signers(tmp_path / "keys", ROLES)
    for role in ROLES:
        assert root.signed.roles[role].keyids == [signers[role].public_key.keyid]


def test_init_keys_refuses_to_overwrite_existing_keys(keys_dir):
    before = (keys_dir / "targets.key").read_bytes()
    with pytest.raises(KeysError, match="already holds keys"):
        init_keys(keys_dir)
    assert (keys_dir / "targets.key").read_bytes() == before


def test_init_keys_refuses_a_directory_inside_a_project(tmp_path):
    (tmp_path / "project" / ".git").mkdir(parents=True)
    with pytest.raises(KeysError, match="inside the project"):
        init_keys(tmp_path / "project" / "keys")
    assert not (tmp_path / "project" / "keys").exists()


def test_load_signers_names_the_missing_key_and_the_fix(keys_dir):
    (keys_dir / "snapshot.key").unlink()
    with pytest.raises(KeysError, match=r"snapshot.key: missing snapshot key; create keys with `edgeforge keys init"):
        load_signers(keys_dir)


def test_load_signers_reports_missing_keys_dir(tmp_path):
    with pytest.raises(KeysError, match="no such keys directory"):
        load_signers(tmp_path / "nowhere")
