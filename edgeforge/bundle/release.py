"""Publish bundles into a TUF repository that any static file server can serve.

    REPO_DIR/
      metadata/  1.root.json (N.root.json after rotations), root.json,
                 N.targets.json, N.snapshot.json, timestamp.json
      targets/   <target>/<sha256>.bundle.tar.gz   (consistent snapshots: files never change)

Each target has one TUF target path, `<target>/bundle.tar.gz`: a deterministic tar of its bundle
directory, gzipped deterministically (edgeforge/bundle/download.py: level 9, mtime 0), so its
length is the `download_bytes` the search predicted and `download_kb` limits. Its signed `custom` field carries the release version, which grows by one every time
the bundle's bytes change; an unchanged bundle is not republished. Files are written first and
timestamp.json last, so a client sees either the old release or the complete new one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from edgeforge.bundle.download import ARCHIVE_SUFFIX, bundle_archive
from edgeforge.bundle.keys import (
    ONLINE_ROLES,
    ROLES,
    ROOT_LIFETIME,
    check_trusted,
    key_path,
    load_signer,
    load_signers,
    write_private_key,
)
from edgeforge.bundle.package import MANIFEST, verify_bundle
from edgeforge.errors import KeysError, UserError

logger = logging.getLogger(__name__)

BUNDLE_FILE = f"bundle{ARCHIVE_SUFFIX}"
ROOT_RENEWAL_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class Lifetimes:
    """How long each role's metadata stays valid after it is signed."""

    targets: timedelta = timedelta(days=365)
    snapshot: timedelta = timedelta(days=7)
    timestamp: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class Published:
    target: str
    version: int
    path: str  # TUF target path
    changed: bool  # False: the same bytes were already the latest release


def target_path(target: str) -> str:
    return f"{target}/{BUNDLE_FILE}"


def find_bundles(build_dir: Path) -> dict[str, Path]:
    """Bundle directories of the current build, by target: build/targets/<T>/bundle/."""
    bundles = {path.parent.parent.name: path.parent for path in sorted(Path(build_dir).glob(f"targets/*/bundle/{MANIFEST}"))}
    if not bundles:
        raise UserError(f"{build_dir}: no bundles found (build/targets/<target>/bundle/); run `dvc repro` first")
    return bundles


def release(
    keys_dir: Path,
    repo_dir: Path,
    bundles: dict[str, Path],
    *,
    lifetimes: Lifetimes = Lifetimes(),
) -> list[Published]:
    """Publish each target's bundle as its next version; create the repository if it is new."""
    signers = load_signers(keys_dir)
    repository = _Repository.open_or_create(Path(repo_dir), Path(keys_dir))
    check_trusted(repository.root.signed, signers)
    _check_root_expiry(repository.root.signed)

    published = []
    for target, bundle_dir in sorted(bundles.items()):
        manifest = verify_bundle(bundle_dir)
        data = pack_bundle(bundle_dir)
        published.append(repository.add_bundle(target, data, manifest))
    if any(p.changed for p in published):
        repository.commit(signers, lifetimes, roles=ONLINE_ROLES)
    return published


def refresh(keys_dir: Path, repo_dir: Path, *, lifetimes: Lifetimes = Lifetimes()) -> datetime:
    """Re-sign snapshot and timestamp with fresh expiry (for cron); return the new timestamp expiry.

    Targets is re-signed too when less than a quarter of its lifetime is left.
    """
    repository = _Repository.open(Path(repo_dir))
    targets = repository.targets.signed
    roles = ["snapshot", "timestamp"]
    if targets.expires - datetime.now(timezone.utc) < lifetimes.targets / 4:
        roles.insert(0, "targets")
    signers = load_signers(keys_dir, roles)
    check_trusted(repository.root.signed, signers)
    _check_root_expiry(repository.root.signed)
    repository.commit(signers, lifetimes, roles=roles)
    return repository.timestamp.signed.expires


def rotate_keys(keys_dir: Path, repo_dir: Path, roles=(), *, lifetimes: Lifetimes = Lifetimes()) -> int:
    """Sign the next root version, with fresh expiry and new keys for roles; return its version.

    Needs the root key. Devices follow the rotation on their next update (each root version is
    signed by the previous root key). Replaced keys move to KEYS_DIR/retired/. With no roles this
    only renews the root's expiry, which must happen before it runs out (ROOT_LIFETIME).
    """
    from securesystemslib.signer import CryptoSigner

    keys_dir, repo_dir = Path(keys_dir), Path(repo_dir)
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise UserError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    repository = _Repository.open(repo_dir)
    root = repository.root.signed
    old_root_signer = load_signer(keys_dir, "root")
    check_trusted(root, {"root": old_root_signer})

    fresh = {role: CryptoSigner.generate_ed25519() for role in roles}
    for role, signer in fresh.items():
        for keyid in list(root.roles[role].keyids):
            root.revoke_key(keyid, role)
        root.add_key(signer.public_key, role)
        staged = keys_dir / f"{role}.key.new"
        staged.unlink(missing_ok=True)  # left over from an interrupted rotation, never published
        write_private_key(staged, signer.private_bytes)
    root.version += 1
    root.expires = datetime.now(timezone.utc) + ROOT_LIFETIME
    repository.root.sign(old_root_signer, append=False)
    if "root" in fresh:
        repository.root.sign(fresh["root"], append=True)  # the new root must also sign itself
    metadata_dir = repository.metadata_dir
    for path in (metadata_dir / f"{root.version}.root.json", metadata_dir / "root.json", keys_dir / "root.json"):
        _write_metadata(repository.root, path)

    for role in fresh:  # the new root is published: only now do its keys replace the old ones
        retired = keys_dir / "retired" / f"{role}-v{root.version - 1}.key"
        retired.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(key_path(keys_dir, role), retired)
        os.replace(keys_dir / f"{role}.key.new", key_path(keys_dir, role))
    if set(fresh) & set(ONLINE_ROLES):
        repository.commit(load_signers(keys_dir), lifetimes, roles=ONLINE_ROLES)
    return root.version


def latest_versions(repo_dir: Path) -> dict[str, int]:
    """The released version of every target in the repository."""
    targets = _Repository.open(Path(repo_dir)).targets.signed.targets
    return {path.rsplit("/", 1)[0]: info.custom["version"] for path, info in sorted(targets.items())}


def pack_bundle(bundle_dir: Path) -> bytes:
    """What is published for a bundle directory: its deterministic tar, deterministically gzipped."""
    return bundle_archive(bundle_dir)


class _Repository:
    """The repository's current metadata, changed in memory and written back by commit()."""

    def __init__(self, repo_dir: Path, root, targets, snapshot, timestamp):
        self.repo_dir = repo_dir
        self.root, self.targets, self.snapshot, self.timestamp = root, targets, snapshot, timestamp

    @property
    def metadata_dir(self) -> Path:
        return self.repo_dir / "metadata"

    @classmethod
    def open(cls, repo_dir: Path) -> _Repository:
        from tuf.api.metadata import Metadata

        metadata_dir = repo_dir / "metadata"
        if not (metadata_dir / "timestamp.json").exists():
            raise UserError(
                f"{repo_dir}: not a release repository (no metadata/timestamp.json); publish with `edgeforge release` first"
            )
        roots = sorted(metadata_dir.glob("*.root.json"), key=lambda p: int(p.name.split(".")[0]))
        timestamp = Metadata.from_file(str(metadata_dir / "timestamp.json"))
        snapshot = Metadata.from_file(str(metadata_dir / f"{timestamp.signed.snapshot_meta.version}.snapshot.json"))
        targets = Metadata.from_file(str(metadata_dir / f"{snapshot.signed.meta['targets.json'].version}.targets.json"))
        return cls(repo_dir, Metadata.from_file(str(roots[-1])), targets, snapshot, timestamp)

    @classmethod
    def open_or_create(cls, repo_dir: Path, keys_dir: Path) -> _Repository:
        from tuf.api.metadata import Metadata, Snapshot, Targets, Timestamp

        if (repo_dir / "metadata" / "timestamp.json").exists():
            return cls.open(repo_dir)
        try:
            root = Metadata.from_file(str(keys_dir / "root.json"))
        except FileNotFoundError:
            raise KeysError(
                f"{keys_dir / 'root.json'}: missing; create keys with `edgeforge keys init --keys-dir {keys_dir}`"
            ) from None
        repository = cls(repo_dir, root, Metadata(Targets()), Metadata(Snapshot()), Metadata(Timestamp()))
        for unsigned in (repository.targets, repository.snapshot, repository.timestamp):
            unsigned.signed.version = 0  # the first commit() signs them as version 1
        repository.metadata_dir.mkdir(parents=True, exist_ok=True)
        _write_metadata(root, repository.metadata_dir / f"{root.signed.version}.root.json")
        _write_metadata(root, repository.metadata_dir / "root.json")
        return repository

    def add_bundle(self, target: str, data: bytes, manifest: dict) -> Published:
        from tuf.api.metadata import TargetFile

        path = target_path(target)
        candidate = TargetFile.from_data(path, data, ["sha256"])
        current = self.targets.signed.targets.get(path)
        if current and current.hashes == candidate.hashes:
            return Published(target, current.custom["version"], path, changed=False)
        version = current.custom["version"] + 1 if current else 1
        candidate.unrecognized_fields["custom"] = {
            "version": version,
            "model_sha256": manifest["model_sha256"],
            "device": manifest["device"],
            "runtime": manifest["runtime"],
        }
        stored = self.repo_dir / "targets" / target / f"{candidate.hashes['sha256']}.{BUNDLE_FILE}"
        _write_atomic(stored, data)
        self.targets.signed.targets[path] = candidate
        return Published(target, version, path, changed=True)

    def commit(self, signers: dict, lifetimes: Lifetimes, *, roles) -> None:
        """Bump, re-sign and write the given roles in order targets, snapshot, timestamp."""
        now = datetime.now(timezone.utc)
        if "targets" in roles:
            self._sign(self.targets, signers["targets"], now + lifetimes.targets)
            _write_metadata(self.targets, self.metadata_dir / f"{self.targets.signed.version}.targets.json")
            self.snapshot.signed.meta["targets.json"].version = self.targets.signed.version
        if "snapshot" in roles:
            self._sign(self.snapshot, signers["snapshot"], now + lifetimes.snapshot)
            _write_metadata(self.snapshot, self.metadata_dir / f"{self.snapshot.signed.version}.snapshot.json")
            self.timestamp.signed.snapshot_meta.version = self.snapshot.signed.version
        if "timestamp" in roles:
            self._sign(self.timestamp, signers["timestamp"], now + lifetimes.timestamp)
            _write_metadata(self.timestamp, self.metadata_dir / "timestamp.json")

    @staticmethod
    def _sign(metadata, signer, expires: datetime) -> None:
        metadata.signed.version += 1
        metadata.signed.expires = expires
        metadata.sign(signer, append=False)


def _check_root_expiry(root) -> None:
    """Devices refuse everything once root has expired: stop there, and warn a month ahead."""
    left = root.expires - datetime.now(timezone.utc)
    if left <= timedelta(0):
        raise KeysError(
            f"the repository's root metadata expired on {root.expires:%Y-%m-%d}: renew it with `edgeforge keys rotate`"
        )
    if left < ROOT_RENEWAL_WARNING:
        logger.warning("root metadata expires on %s: renew it with `edgeforge keys rotate`", f"{root.expires:%Y-%m-%d}")


def _write_metadata(metadata, path: Path) -> None:
    from tuf.api.serialization.json import JSONSerializer

    _write_atomic(path, metadata.to_bytes(JSONSerializer(compact=False)))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
