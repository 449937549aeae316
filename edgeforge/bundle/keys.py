"""Signing keys of a release repository, one ed25519 key per TUF role, and the trusted root.

    KEYS_DIR/
      root.key  targets.key  snapshot.key  timestamp.key   PEM (PKCS#8), mode 0600
      root.json                                            root metadata v1, signed by root.key

root.json is public: it is the trust anchor every device is provisioned with. root.key signs
only root metadata (at init and when keys rotate), so it can live offline; `release` needs the
three online keys only.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from edgeforge.errors import KeysError

ROLES = ("root", "targets", "snapshot", "timestamp")
ONLINE_ROLES = ("targets", "snapshot", "timestamp")
ROOT_LIFETIME = timedelta(days=365)
PROJECT_MARKERS = (".git", "dvc.yaml", ".dvc")


def key_path(keys_dir: Path, role: str) -> Path:
    return Path(keys_dir) / f"{role}.key"


def init_keys(keys_dir: Path, *, root_lifetime: timedelta = ROOT_LIFETIME) -> Path:
    """Create the four keys and the signed root.json in keys_dir; return root.json's path.

    Refuses a directory that already holds keys (never overwrite a key) and one inside a
    project or git tree (private keys must not end up in git or the DVC cache).
    """
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, Root
    from tuf.api.serialization.json import JSONSerializer

    keys_dir = Path(keys_dir).expanduser().resolve()
    project = _enclosing_project(keys_dir)
    if project:
        raise KeysError(
            f"{keys_dir} is inside the project at {project}: keep private keys outside any git or "
            "DVC tree, e.g. --keys-dir ~/.edgeforge/keys/<project>"
        )
    existing = [key_path(keys_dir, role).name for role in ROLES if key_path(keys_dir, role).exists()]
    if existing or (keys_dir / "root.json").exists():
        raise KeysError(f"{keys_dir} already holds keys ({', '.join(existing) or 'root.json'}); refusing to overwrite them")

    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
    for role, signer in signers.items():
        write_private_key(key_path(keys_dir, role), signer.private_bytes)

    root = Root(expires=datetime.now(timezone.utc) + root_lifetime, consistent_snapshot=True)
    for role, signer in signers.items():
        root.add_key(signer.public_key, role)
    metadata = Metadata(root)
    metadata.sign(signers["root"])
    root_path = keys_dir / "root.json"
    metadata.to_file(str(root_path), JSONSerializer(compact=False))
    return root_path


def load_signer(keys_dir: Path, role: str):
    """The CryptoSigner of one role, or KeysError saying which file is missing."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    path = key_path(keys_dir, role)
    try:
        private_key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        hint = " (bring the offline root key back for this operation)" if role == "root" else ""
        raise KeysError(
            f"{path}: missing {role} key{hint}; create keys with `edgeforge keys init --keys-dir {keys_dir}`"
        ) from None
    except (ValueError, TypeError) as error:
        raise KeysError(f"{path}: not a PEM private key ({error})") from None
    return CryptoSigner(private_key)


def load_signers(keys_dir: Path, roles=ONLINE_ROLES) -> dict:
    keys_dir = Path(keys_dir)
    if not keys_dir.is_dir():
        raise KeysError(f"{keys_dir}: no such keys directory; create it with `edgeforge keys init --keys-dir {keys_dir}`")
    return {role: load_signer(keys_dir, role) for role in roles}


def check_trusted(root, signers: dict) -> None:
    """KeysError unless every signer's key is one the root metadata trusts for its role."""
    for role, signer in signers.items():
        if signer.public_key.keyid not in root.roles[role].keyids:
            raise KeysError(
                f"the {role} key in the keys directory is not the one this repository's root trusts "
                f"(key id {signer.public_key.keyid[:12]}…): wrong --keys-dir for this --repo-dir?"
            )


def write_private_key(path: Path, data: bytes) -> None:
    """Create path readable by its owner only; never overwrite an existing file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _enclosing_project(path: Path) -> Path | None:
    for directory in (path, *path.parents):
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return None
