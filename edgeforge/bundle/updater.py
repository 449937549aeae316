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

The device heals itself:
- no update holds the lock for good: downloads have an overall deadline and a minimum transfer
  rate (`edgeforge.bundle.fetcher`), so a trickling mirror is a rejected update;
- what a killed update leaves (`slots/.incoming-*`, `downloads/*.part`, staged renames) is
  removed by the next `update`, `status` or `rollback`;
- a damaged trusted root (`tuf/root.json`) is replaced by an explicit `--root` (re-provisioning),
  which the result says;
- a torn `update.log` line (killed mid-write) is skipped;
- `status` and `update` check the active bundle against its manifest: a damaged file is restored
  from the other slot when it holds the same bytes, else `update` downloads the active version
  again and replaces the slot in place (`status` says what to run).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import json
import logging
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from edgeforge.bundle.fetcher import DEADLINE_S, MIN_BYTES_PER_S, deadline_fetcher
from edgeforge.bundle.health import Health, check_health_isolated
from edgeforge.bundle.package import MANIFEST, RELEASE_FILE, file_table, read_manifest, verify_bundle
from edgeforge.bundle.release import target_path
from edgeforge.errors import BundleError, EdgeforgeError, UpdateError, UserError

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
    outcome: str  # "installed", "up-to-date", "repaired" (the active version, downloaded again), or
    #               "skipped" (this version was refused here before)
    target: str
    version: int
    previous_version: int | None  # the version active before, for this target
    slot: str | None  # the active slot after the update
    notes: tuple[str, ...] = ()  # what the update healed on the way (leftovers, a damaged root or bundle)


@dataclass(frozen=True)
class DeviceStatus:
    active: SlotInfo | None
    previous: SlotInfo | None
    last_event: dict | None
    damage: tuple[str, ...] = ()  # what is still wrong with the active bundle after repair
    notes: tuple[str, ...] = ()  # what this call healed (leftovers removed, files restored)


def update(
    repo_url: str,
    target: str,
    install_dir: Path,
    *,
    root: Path | None = None,
    fetcher=None,
    deadline_s: float = DEADLINE_S,
    min_bytes_per_s: float = MIN_BYTES_PER_S,
) -> UpdateResult:
    """Install the latest release of target from the TUF repository at repo_url, if it is healthy.

    root is the trusted root.json to provision a new device with (or to re-provision one whose
    trusted root is damaged); later updates trust the root kept in INSTALL_DIR/tuf (which follows
    signed root rotations). A version that failed its health check or was rolled back here is
    skipped until a newer one is released. Downloads must finish within `deadline_s` and keep up
    `min_bytes_per_s`. A damaged active bundle is repaired (see the module docstring). Raises
    UpdateError, after logging the reason, whenever the offered release is not installed.
    """
    install_dir = Path(install_dir)
    install_dir.mkdir(parents=True, exist_ok=True)
    with _locked(install_dir):
        notes = _remove_leftovers(install_dir)
        active = read_slot(install_dir, active_slot(install_dir))
        active_version = active.version if active and active.target == target else None
        damage, restored = _check_and_restore(install_dir, active)
        notes += restored
        version = None
        try:
            client, provisioned = _tuf_client(
                repo_url, install_dir, root, fetcher or deadline_fetcher(deadline_s, min_bytes_per_s)
            )
            notes += provisioned
            info = _targetinfo(client, repo_url, target)
            version = (info.custom or {}).get("version")
            if not isinstance(version, int):
                raise UpdateError(f"the release of '{target}' carries no version: not published by `edgeforge release`")
            if version == active_version and damage:
                health = _reinstall_active(client, info, target, version, install_dir, active.slot)
                notes.append(f"active version {version} was damaged ({'; '.join(damage)}): downloaded again")
                _log_event(install_dir, target, "repaired", version, active, health.reason)
                return UpdateResult("repaired", target, version, active_version, active.slot, tuple(notes))
            if version == active_version or version in _blocked_versions(install_dir, target):
                outcome = "up-to-date" if version == active_version else "skipped"
                logger.info("%s: version %s %s", target, version, outcome)
                if damage:
                    raise UpdateError(
                        f"the active version {active.version} is damaged ({'; '.join(damage)}) and the repository "
                        f"offers version {version}, refused here before: run `edgeforge device rollback`"
                    )
                return UpdateResult(outcome, target, version, active_version, active.slot if active else None, tuple(notes))
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
        return UpdateResult("installed", target, version, active_version, slot, tuple(notes))


def status(install_dir: Path) -> DeviceStatus:
    """The active and previous slots and the last update attempt. The active bundle is checked
    against its manifest; when no update runs, leftovers are removed and damaged files restored
    from the other slot (`damage` lists what only `update` can repair)."""
    install_dir = Path(install_dir)
    if not install_dir.is_dir():
        raise UserError(f"{install_dir}: no such install directory")
    notes: list[str] = []
    try:
        with _locked(install_dir):
            notes += _remove_leftovers(install_dir)
            active = read_slot(install_dir, active_slot(install_dir))
            damage, restored = _check_and_restore(install_dir, active)
            notes += restored
    except (UpdateError, OSError):  # an update is running, or the directory is read-only: look only
        active = read_slot(install_dir, active_slot(install_dir))
        damage = _bundle_problems(install_dir / "slots" / active.slot, active) if active else []
    other = _other(active.slot) if active else None
    return DeviceStatus(active, read_slot(install_dir, other), _last_event(install_dir), tuple(damage), tuple(notes))


def rollback(install_dir: Path) -> SlotInfo:
    """Make the previous slot active again (after checking its files); return it."""
    install_dir = Path(install_dir)
    if not install_dir.is_dir():
        raise UserError(f"{install_dir}: no such install directory")
    with _locked(install_dir):
        _remove_leftovers(install_dir)
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
        return SlotInfo(slot=slot, **release)
    except (OSError, ValueError, TypeError):  # missing, torn or not a release record
        return None


def _tuf_client(repo_url: str, install_dir: Path, root: Path | None, fetcher) -> tuple[object, list[str]]:
    """TUF's updater trusting INSTALL_DIR/tuf/root.json, or `root` for a new device or one whose
    trusted root is damaged (explicit re-provisioning); (client, notes on what happened)."""
    from tuf.api.exceptions import RepositoryError
    from tuf.ngclient import Updater

    metadata_dir = install_dir / "tuf"
    metadata_dir.mkdir(exist_ok=True)
    trusted = metadata_dir / "root.json"
    base = repo_url.rstrip("/")

    def client(bootstrap: bytes | None):
        return Updater(
            metadata_dir=str(metadata_dir),
            metadata_base_url=f"{base}/metadata/",
            target_base_url=f"{base}/targets/",
            fetcher=fetcher,
            bootstrap=bootstrap,
        )

    damage = None
    if trusted.exists() or trusted.is_symlink():
        try:
            updater = client(None)
            if root is None:
                return updater, []
            return updater, [f"--root {root} not used: this device already trusts {trusted} (intact)"]
        except (OSError, ValueError, RepositoryError) as error:
            damage = f"{type(error).__name__}: {error}".splitlines()[0]
    if root is None:
        if damage:
            raise UserError(
                f"{trusted}: the device's trusted root is damaged ({damage}); re-provision it with --root ROOT.json "
                "(the root.json from the keys directory, copied over a trusted channel)"
            )
        raise UserError(
            f"{install_dir} has no trusted root yet: provision the device once with --root ROOT.json "
            "(the root.json from the keys directory, copied over a trusted channel)"
        )
    try:
        bootstrap = Path(root).read_bytes()
    except OSError as error:
        raise UserError(f"{root}: cannot read the trusted root ({error.strerror})") from None
    try:
        updater = client(bootstrap)
    except (ValueError, RepositoryError) as error:
        raise UserError(f"{root}: not a valid TUF root ({type(error).__name__}: {error}); pass the keys directory's root.json") from None
    if damage:
        return updater, [f"re-provisioned: {trusted} was damaged ({damage}); the device now trusts {root}"]
    return updater, []


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
        health = _verify_and_check(incoming, target, version)
        if not health.healthy:
            _block_version(install_dir, target, version)
            raise UpdateError(f"version {version} failed its health check and was rolled back: {health.reason}")
        return _activate(incoming, install_dir), health
    finally:
        shutil.rmtree(incoming, ignore_errors=True)  # gone already once activated


def _verify_and_check(incoming: Path, target: str, version: int) -> Health:
    """Verify a downloaded bundle against its manifest and target, stamp its release record, and
    health-check it in a child process."""
    manifest = verify_bundle(incoming)
    if manifest["target"] != target:
        raise UpdateError(f"the bundle is for target '{manifest['target']}', not '{target}'")
    release = {"target": target, "version": version, "model_sha256": manifest["model_sha256"], "installed_at": _now()}
    _write_file(incoming / RELEASE_FILE, json.dumps(release, indent=2).encode())
    return check_health_isolated(incoming)


def _reinstall_active(client, info, target: str, version: int, install_dir: Path, slot: str) -> Health:
    """Download the active version again and replace its damaged slot in place (the other slot,
    the rollback target, stays as it is)."""
    incoming = _download_and_unpack(client, info, install_dir)
    try:
        health = _verify_and_check(incoming, target, version)
        if not health.healthy:
            raise UpdateError(f"the downloaded version {version} failed its health check: {health.reason}")
        destination = install_dir / "slots" / slot
        damaged = install_dir / "slots" / f".damaged-{slot}"
        shutil.rmtree(damaged, ignore_errors=True)
        os.replace(destination, damaged)  # `current` dangles between these two renames only
        os.replace(incoming, destination)
        shutil.rmtree(damaged, ignore_errors=True)
        return health
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _bundle_problems(bundle_dir: Path, info: SlotInfo | None = None) -> list[str]:
    """What is wrong with an installed bundle: files missing, altered or unlisted, an unreadable
    manifest, a model hash that is not the release's. Empty when intact."""
    try:
        manifest = read_manifest(bundle_dir)
    except BundleError as error:
        return [str(error)]
    expected = manifest.get("files", {})
    actual = file_table(bundle_dir)
    problems = [f"{name} missing" for name in expected if name not in actual]
    problems += [
        f"{name} does not match its sha256 in {MANIFEST}"
        for name in expected
        if name in actual and actual[name]["sha256"] != expected[name].get("sha256")
    ]
    if info is not None and manifest.get("model_sha256") != info.model_sha256:
        problems.append(f"{MANIFEST} names model {str(manifest.get('model_sha256'))[:12]}, the release {info.model_sha256[:12]}")
    return problems


def _check_and_restore(install_dir: Path, active: SlotInfo | None) -> tuple[list[str], list[str]]:
    """Check the active bundle; restore each damaged file from the other slot when a file there
    has the manifest's sha256 (unchanged between versions: canary, preprocessing, sometimes the
    model). Returns (what is still damaged, what was restored)."""
    if active is None:
        return [], []
    bundle = install_dir / "slots" / active.slot
    problems = _bundle_problems(bundle, active)
    if not problems:
        return [], []
    try:
        expected = read_manifest(bundle)["files"]
    except BundleError:
        return problems, []  # without its manifest nothing can be checked: download it again
    actual = file_table(bundle)
    other = install_dir / "slots" / _other(active.slot)
    by_sha256 = {entry["sha256"]: other / name for name, entry in file_table(other).items()} if other.is_dir() else {}
    restored = []
    for name, entry in expected.items():
        if name in actual and actual[name]["sha256"] == entry.get("sha256"):
            continue
        source = by_sha256.get(entry.get("sha256"))
        if source is not None:
            staged = bundle / f".{Path(name).name}.restore"
            (bundle / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staged)
            os.replace(staged, bundle / name)
            restored.append(name)
    if restored:
        logger.warning("active bundle %s: restored %s from slot %s", bundle, ", ".join(restored), other.name)
    notes = [f"restored {', '.join(restored)} of the active version {active.version} from slot {other.name}"] if restored else []
    return _bundle_problems(bundle, active), notes


def _remove_leftovers(install_dir: Path) -> list[str]:
    """Remove what a killed update left behind (called under the lock, so none of it is live)."""
    slots = install_dir / "slots"
    leftovers = [
        *(slots.glob(".incoming-*") if slots.is_dir() else ()),
        *(slots.glob(".damaged-*") if slots.is_dir() else ()),
        *((install_dir / "downloads").glob("*.part") if (install_dir / "downloads").is_dir() else ()),
        *(path for path in (install_dir / ".current.new", install_dir / f".{BLOCKED_FILE}.new") if path.is_symlink() or path.exists()),
        *(path for slot in SLOTS for path in ((slots / slot).glob(".*.restore") if (slots / slot).is_dir() else ())),
    ]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if not leftovers:
        return []
    logger.info("removed leftovers of an interrupted update: %s", ", ".join(path.name for path in leftovers))
    return [f"removed {len(leftovers)} leftover(s) of an interrupted update ({', '.join(sorted(p.name for p in leftovers))})"]


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
    """Unpack the release's gzipped tar (edgeforge/bundle/download.py): regular files only."""
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            for member in archive:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.is_absolute() or ".." in name.parts:
                    raise BundleError(f"refusing archive entry '{member.name}'")
                _write_file(destination / name, archive.extractfile(member).read())
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise BundleError(f"the downloaded archive is not a gzipped tar ({type(error).__name__}: {error})") from None


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
        versions = json.loads((install_dir / BLOCKED_FILE).read_text()).get(target, [])
    except (OSError, ValueError, AttributeError):  # missing, torn, or not a JSON object
        return []
    return [v for v in versions if isinstance(v, int)] if isinstance(versions, list) else []


def _block_version(install_dir: Path, target: str, version: int) -> None:
    """Remember a version this device refused or rolled back, so it is not installed again."""
    try:
        blocked = json.loads((install_dir / BLOCKED_FILE).read_text())
    except (OSError, ValueError):
        blocked = {}
    if not isinstance(blocked, dict):
        blocked = {}
    blocked[target] = sorted({*_blocked_versions(install_dir, target), version})
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
    if isinstance(error, tuf_errors.SlowRetrievalError) and str(error):  # the deadline fetcher's verdict
        return f"download from {repo_url} abandoned: {error}"
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
        with open(install_dir / LOG_FILE, "a+b") as log:
            log.seek(0, os.SEEK_END)
            torn = log.tell() > 0 and (log.seek(-1, os.SEEK_END), log.read(1))[1] != b"\n"
            # after a line torn by a kill, start on a new line so this one stays readable
            log.write((b"\n" if torn else b"") + json.dumps(event).encode() + b"\n")
    except OSError as error:
        logger.error("cannot append to %s: %s", install_dir / LOG_FILE, error)


def _last_event(install_dir: Path) -> dict | None:
    """The last readable event; a line torn by a kill (or otherwise unreadable) is skipped."""
    try:
        lines = (install_dir / LOG_FILE).read_bytes().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and {"time", "outcome"} <= set(event):
            return event
    return None


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
