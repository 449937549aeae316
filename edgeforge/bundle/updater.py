"""The device side: fetch a release through TUF, install it into an A/B slot, keep it only if healthy.

    INSTALL_DIR/
      current -> slots/a   the active bundle; the application loads its model from here
      slots/a/  slots/b/   two bundles, each with a release.json (target, version, hashes)
      tuf/                 trusted TUF metadata (root.json is the device's trust anchor)
      update.log           one JSON line per update attempt, with the reason of any rejection
      blocked.json         versions refused here (failed health check, rolled back): not retried
      telemetry.jsonl      inference telemetry written by the application (see telemetry.py)

An update downloads the bundle into a scratch directory, checks it against the signed metadata
and its own manifest, runs the health check, and only then moves it into the inactive slot and
repoints `current` with one atomic rename. Any failure before that rename leaves the active slot
as it was; the previous slot stays intact so `rollback` can return to it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from edgeforge.bundle.health import Health, check_health_isolated
from edgeforge.bundle.package import RELEASE_FILE, verify_bundle
from edgeforge.bundle.release import target_path
from edgeforge.errors import BundleError, UpdateError, UserError

logger = logging.getLogger(__name__)

SLOTS = ("a", "b")
LOG_FILE = "update.log"
BLOCKED_FILE = "blocked.json"  # versions that failed their health check or were rolled back


@dataclass(frozen=True)
class SlotInfo:
    slot: str
    target: str
    version: int
    model_sha256: str
    installed_at: str


@dataclass(frozen=True)
class UpdateResult:
    outcome: str  # "installed", "up-to-date", or "skipped" (this version was refused here before)
    target: str
    version: int
    previous_version: int | None  # the version active before, for this target
    slot: str | None  # the active slot after the update


@dataclass(frozen=True)
class DeviceStatus:
    active: SlotInfo | None
    previous: SlotInfo | None
    last_event: dict | None


def update(repo_url: str, target: str, install_dir: Path, *, root: Path | None = None, fetcher=None) -> UpdateResult:
    """Install the latest release of target from the TUF repository at repo_url, if it is healthy.

    root is the trusted root.json to provision a new device with; later updates trust the root
    kept in INSTALL_DIR/tuf (which follows signed root rotations). A version that failed its
    health check or was rolled back here is skipped until a newer one is released. Raises
    UpdateError, after logging the reason, whenever the offered release is not installed.
    """
    install_dir = Path(install_dir)
    install_dir.mkdir(parents=True, exist_ok=True)
    with _locked(install_dir):
        active = read_slot(install_dir, active_slot(install_dir))
        active_version = active.version if active and active.target == target else None
        version = None
        try:
            client = _tuf_client(repo_url, install_dir, root, fetcher)
            info = _targetinfo(client, repo_url, target)
            version = (info.custom or {}).get("version")
            if not isinstance(version, int):
                raise UpdateError(f"the release of '{target}' carries no version: not published by `edgeforge release`")
            if version == active_version or version in _blocked_versions(install_dir, target):
                outcome = "up-to-date" if version == active_version else "skipped"
                logger.info("%s: version %s %s", target, version, outcome)
                return UpdateResult(outcome, target, version, active_version, active.slot if active else None)
            if active_version is not None and version < active_version:
                raise UpdateError(
                    f"rollback refused: the repository offers version {version}, older than the active {active_version}"
                )
            slot, health = _install(client, info, target, version, install_dir)
        except Exception as error:
            reason = _reason(error, repo_url, install_dir)
            _log_event(install_dir, target, "rejected", version, active, reason)
            if isinstance(error, UserError):
                raise
            kept = f"; version {active.version} is still active" if active else "; no model installed"
            raise UpdateError(reason + kept) from error
        _log_event(install_dir, target, "installed", version, active, health.reason)
        return UpdateResult("installed", target, version, active_version, slot)


def status(install_dir: Path) -> DeviceStatus:
    install_dir = Path(install_dir)
    if not install_dir.is_dir():
        raise UserError(f"{install_dir}: no such install directory")
    active = active_slot(install_dir)
    other = _other(active) if active else None
    return DeviceStatus(read_slot(install_dir, active), read_slot(install_dir, other), _last_event(install_dir))


def rollback(install_dir: Path) -> SlotInfo:
    """Make the previous slot active again (after checking its files); return it."""
    install_dir = Path(install_dir)
    if not install_dir.is_dir():
        raise UserError(f"{install_dir}: no such install directory")
    with _locked(install_dir):
        active = read_slot(install_dir, active_slot(install_dir))
        previous = read_slot(install_dir, _other(active.slot)) if active else None
        if previous is None:
            raise UserError(f"{install_dir}: no previous version to roll back to")
        try:
            verify_bundle(install_dir / "slots" / previous.slot)
        except BundleError as error:
            raise UpdateError(f"cannot roll back: {error}") from None
        _point_current(install_dir, previous.slot)
        _block_version(install_dir, active.target, active.version)
        reason = f"version {active.version} rolled back by request"
        _log_event(install_dir, previous.target, "rolled-back", previous.version, active, reason)
        return previous


def active_slot(install_dir: Path) -> str | None:
    current = Path(install_dir) / "current"
    if not current.is_symlink():
        return None
    return Path(os.readlink(current)).name


def active_bundle_dir(install_dir: Path) -> Path:
    """The directory of the active bundle (what an application loads its model from)."""
    slot = active_slot(install_dir)
    if slot is None:
        raise UserError(f"{install_dir}: no model installed yet; run `edgeforge device update`")
    return Path(install_dir) / "slots" / slot


def read_slot(install_dir: Path, slot: str | None) -> SlotInfo | None:
    if slot is None:
        return None
    try:
        release = json.loads((Path(install_dir) / "slots" / slot / RELEASE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return SlotInfo(slot=slot, **release)


def _tuf_client(repo_url: str, install_dir: Path, root: Path | None, fetcher):
    from tuf.ngclient import Updater

    metadata_dir = install_dir / "tuf"
    metadata_dir.mkdir(exist_ok=True)
    bootstrap = None
    if not (metadata_dir / "root.json").exists():
        if root is None:
            raise UserError(
                f"{install_dir} has no trusted root yet: provision the device once with --root ROOT.json "
                "(the root.json from the keys directory, copied over a trusted channel)"
            )
        try:
            bootstrap = Path(root).read_bytes()
        except OSError as error:
            raise UserError(f"{root}: cannot read the trusted root ({error.strerror})") from None
    base = repo_url.rstrip("/")
    return Updater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=f"{base}/metadata/",
        target_base_url=f"{base}/targets/",
        fetcher=fetcher,
        bootstrap=bootstrap,
    )


def _targetinfo(client, repo_url: str, target: str):
    client.refresh()
    info = client.get_targetinfo(target_path(target))
    if info is None:
        raise UpdateError(f"the repository at {repo_url} has no release for target '{target}'")
    return info


def _install(client, info, target: str, version: int, install_dir: Path) -> tuple[str, Health]:
    """Download, verify and health-check the release, then make it active; return (slot, health)."""
    incoming = _download_and_unpack(client, info, install_dir)
    try:
        manifest = verify_bundle(incoming)
        if manifest["target"] != target:
            raise UpdateError(f"the bundle is for target '{manifest['target']}', not '{target}'")
        release = {"target": target, "version": version, "model_sha256": manifest["model_sha256"], "installed_at": _now()}
        _write_file(incoming / RELEASE_FILE, json.dumps(release, indent=2).encode())
        health = check_health_isolated(incoming)
        if not health.healthy:
            _block_version(install_dir, target, version)
            raise UpdateError(f"version {version} failed its health check and was rolled back: {health.reason}")
        return _activate(incoming, install_dir), health
    finally:
        shutil.rmtree(incoming, ignore_errors=True)  # gone already once activated


def _download_and_unpack(client, info, install_dir: Path) -> Path:
    downloads = install_dir / "downloads"
    downloads.mkdir(exist_ok=True)
    archive_path = downloads / f"{info.path.replace('/', '_')}.part"
    (install_dir / "slots").mkdir(exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=install_dir / "slots"))
    os.chmod(incoming, 0o755)  # the application may run as another user than the updater
    try:
        client.download_target(info, filepath=str(archive_path))  # verifies length and sha256
        _unpack(archive_path, incoming)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    finally:
        archive_path.unlink(missing_ok=True)
    return incoming


def _unpack(archive_path: Path, destination: Path) -> None:
    with tarfile.open(archive_path) as archive:
        for member in archive:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise BundleError(f"refusing archive entry '{member.name}'")
            _write_file(destination / name, archive.extractfile(member).read())


def _write_file(path: Path, data: bytes) -> None:
    """Every byte the updater installs goes through here (tests inject a full disk at this point)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _activate(incoming: Path, install_dir: Path) -> str:
    active = active_slot(install_dir)
    slot = _other(active) if active else SLOTS[0]
    destination = install_dir / "slots" / slot
    if destination.exists():
        shutil.rmtree(destination)  # the release before the previous one
    os.replace(incoming, destination)
    _point_current(install_dir, slot)
    return slot


def _point_current(install_dir: Path, slot: str) -> None:
    """Repoint `current` with a rename: readers see the old slot or the new, never neither."""
    staged = install_dir / ".current.new"
    staged.unlink(missing_ok=True)
    os.symlink(Path("slots") / slot, staged)
    os.replace(staged, install_dir / "current")


def _blocked_versions(install_dir: Path, target: str) -> list[int]:
    try:
        return json.loads((install_dir / BLOCKED_FILE).read_text()).get(target, [])
    except (OSError, ValueError):
        return []


def _block_version(install_dir: Path, target: str, version: int) -> None:
    """Remember a version this device refused or rolled back, so it is not installed again."""
    try:
        blocked = json.loads((install_dir / BLOCKED_FILE).read_text())
    except (OSError, ValueError):
        blocked = {}
    blocked[target] = sorted({*blocked.get(target, []), version})
    staged = install_dir / f".{BLOCKED_FILE}.new"
    staged.write_text(json.dumps(blocked, indent=2))
    os.replace(staged, install_dir / BLOCKED_FILE)


def _other(slot: str) -> str:
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def _reason(error: Exception, repo_url: str, install_dir: Path) -> str:
    """One line saying why an update failed, for the log and the user."""
    import urllib3
    from tuf.api import exceptions as tuf_errors

    if isinstance(error, EdgeforgeError):
        return str(error)
    if isinstance(error, tuf_errors.LengthOrHashMismatchError):
        return f"download does not match the signed metadata (tampered or corrupt): {error}"
    if isinstance(error, tuf_errors.RepositoryError):
        return f"repository metadata rejected ({type(error).__name__}): {error}"
    if isinstance(error, (tuf_errors.DownloadError, urllib3.exceptions.HTTPError)):
        cause = error.__cause__ or error
        if isinstance(cause, urllib3.exceptions.MaxRetryError):
            return f"the repository at {repo_url} does not answer: {cause.reason}"
        return f"download from {repo_url} failed: {type(cause).__name__}: {cause}"
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return f"no space left on the device while installing into {install_dir}"
        return f"cannot write into {install_dir}: {error}"
    return f"{type(error).__name__}: {error}"


def _log_event(install_dir: Path, target: str, outcome: str, version, active: SlotInfo | None, reason: str) -> None:
    event = {
        "time": _now(),
        "target": target,
        "outcome": outcome,
        "version": version,
        "active_version": active.version if active else None,
        "reason": reason,
    }
    logger.info("update %s: %s", outcome, reason)  # a rejection also reaches the caller as UpdateError
    try:  # a full disk must not turn a clean rejection into a crash
        with open(install_dir / LOG_FILE, "a") as log:
            log.write(json.dumps(event) + "\n")
    except OSError as error:
        logger.error("cannot append to %s: %s", install_dir / LOG_FILE, error)


def _last_event(install_dir: Path) -> dict | None:
    try:
        lines = (install_dir / LOG_FILE).read_text().splitlines()
    except OSError:
        return None
    return json.loads(lines[-1]) if lines else None


@contextlib.contextmanager
def _locked(install_dir: Path):
    with open(install_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateError(f"another update of {install_dir} is running") from None
        yield


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_dict(info: SlotInfo | None) -> dict | None:
    return asdict(info) if info else None
