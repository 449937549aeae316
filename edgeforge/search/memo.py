"""A persistent, content-addressed memo: each result is stored under the hash of what produced it.

Layout: <root>/<kind>/<key>/ holds the entry's files, `record.json` (its JSON record, if any) and
`seal.json`, written last: the sha256 of every other file of the entry.

Nothing read back is trusted. Every read (`entry`, `record`) checks the seal: every sealed file
present with its sha256, `record.json` parsing. A damaged entry (bit-rot, a truncated file, a hand
edit, an entry of an older edgeforge without a seal) is moved aside with a one-line warning and
reads as a miss, so the caller recomputes it; no run ever stops on it or uses it.

Writes are write-once, so writers sharing the folder (two workspaces, Dask workers on other
machines) need no lock. A writer fills a private staging folder `.<key>.<pid>@<host>.<random>`,
seals it and renames it into place. Renaming onto an existing entry fails: a complete entry
already there (a concurrent writer of the same key, hence the same result) is kept and the
writer's own copy dropped; a damaged one is moved aside first. A reader never sees half an
entry and no writer deletes another's complete one. `store(..., replace=True)` is for the one
entry that grows (the explored region): the newest complete entry wins.

Staging folders of writers that died (kill -9) are removed the next time a run opens their kind:
those whose process is gone (same host), and those older than STALE_STAGING_S (a writer on another
machine, whose process we cannot ask; the bound is long because a staging folder lives as long as
the training that fills it).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SEAL = "seal.json"
RECORD = "record.json"
STALE_STAGING_S = 12 * 3600
DISCARDED = "discarded"  # tag of an entry moved aside: removed by whoever meets it
_PUBLISH_ATTEMPTS = 8


def hash_of(*parts: Any) -> str:
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


class Memo:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.discarded = 0  # damaged entries met and recomputed
        self._cleaned: set[str] = set()

    def entry(self, kind: str, key: str, *, count: bool = True) -> Path | None:
        """The entry's folder if complete and intact (counts a hit or a miss, unless `count` is
        False: figures derived from a candidate's results, such as its bundle's download size, are
        not candidate results reused); a damaged entry is discarded with a warning and reads as a miss."""
        folder = self._kind_dir(kind) / key
        problem = entry_problem(folder)
        if problem is None:
            self.hits += count
            return folder
        if problem == LEGACY:
            logger.info("memo entry %s: %s; it will be recomputed", folder, problem)
        elif problem != MISSING:
            self._discard(folder, problem)
        self.misses += count
        return None

    def contains(self, kind: str, key: str) -> bool:
        """Whether a sealed entry is there, without reading it (cheap; counts nothing): for planning
        only, since `entry` still verifies it and a damaged one becomes a miss then."""
        return (self.root / kind / key / SEAL).is_file()

    def store(self, kind: str, key: str, write: Callable[[Path], dict | None], *, replace: bool = False) -> Path:
        """Write an entry: `write(folder)` fills a private staging folder, which is sealed and
        renamed into place. Returns the entry's folder: this writer's, or a concurrent winner's.

        `write` returns the entry's record (JSON-able) or None. With `replace`, an intact entry
        already there is replaced (for entries that grow); otherwise it is kept.
        """
        directory = self._kind_dir(kind, create=True)
        folder = directory / key
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.{_writer_tag()}.", dir=directory))
        try:
            record = write(staging)
            if record is not None:
                (staging / RECORD).write_text(json.dumps(record, sort_keys=True, indent=1))
            write_seal(staging)
            return self._publish(staging, folder, replace)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # nothing left once renamed into place

    def record(self, kind: str, key: str, *, count: bool = True) -> dict | None:
        folder = self.entry(kind, key, count=count)
        return json.loads((folder / RECORD).read_text()) if folder else None

    def _publish(self, staging: Path, folder: Path, replace: bool) -> Path:
        for _ in range(_PUBLISH_ATTEMPTS):
            try:
                os.rename(staging, folder)  # fails on an existing, non-empty entry: write-once
                return folder
            except OSError as error:
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            problem = entry_problem(folder)
            if problem is None and not replace:
                return folder  # a concurrent writer won: same key, same result; ours is dropped
            if problem is None:
                aside = _move_aside(folder)  # the older intact entry, replaced
                if aside is not None:
                    shutil.rmtree(aside, ignore_errors=True)
            elif problem == LEGACY:
                aside = _move_aside(folder)
                if aside is not None:
                    shutil.rmtree(aside, ignore_errors=True)
            elif problem != MISSING:
                self._discard(folder, problem)
        raise OSError(errno.EBUSY, f"{folder}: could not publish the memo entry (other writers kept replacing it)")

    def _discard(self, folder: Path, problem: str) -> None:
        logger.warning("memo entry %s: %s; discarded, it will be recomputed", folder, problem)
        self.discarded += 1
        aside = _move_aside(folder)
        if aside is not None and entry_problem(aside) is None:
            # Replaced by an intact entry between our check and the move: put it back.
            try:
                os.rename(aside, folder)
                return
            except OSError:
                pass
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)

    def _kind_dir(self, kind: str, create: bool = False) -> Path:
        directory = self.root / kind
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        if kind not in self._cleaned and directory.is_dir():
            self._cleaned.add(kind)
            remove_leftovers(directory)
        return directory


MISSING = "missing"
LEGACY = "written by an older edgeforge (no seal)"  # recomputed quietly: not damage
LEGACY_MARKER = "done"  # what entries carried before seals


def entry_problem(folder: Path) -> str | None:
    """What is wrong with the memo entry in `folder` (MISSING when there is none), or None if intact."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    if SEAL not in names:
        return LEGACY if LEGACY_MARKER in names else "no seal (interrupted, or damaged)"
    try:
        sealed = json.loads((folder / SEAL).read_text())["files"]
        if not isinstance(sealed, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        return f"{SEAL} unreadable"
    for name, digest in sorted(sealed.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} missing"
        if sha256_file(path) != digest:
            return f"{name} does not match its sha256 in {SEAL} (corrupt)"
    if RECORD in sealed:
        try:
            json.loads((folder / RECORD).read_text())
        except ValueError:
            return f"{RECORD} is not valid JSON"
    return None


def write_seal(folder: Path) -> None:
    """seal.json: the sha256 of every file under `folder`, keyed by posix path."""
    files = {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != SEAL
    }
    (folder / SEAL).write_text(json.dumps({"files": files}, sort_keys=True, indent=1))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def remove_leftovers(directory: Path, now: float | None = None) -> list[str]:
    """Remove staging and discarded folders whose writer is gone; return their names.

    A staging folder is `.<key>.<pid>@<host>.<random>`: removed when that process is dead on this
    host, or when older than STALE_STAGING_S (another host, or an older edgeforge's staging folder
    without a tag). A live writer's folder is left alone.
    """
    now = time.time() if now is None else now
    host = _host()
    removed = []
    with os.scandir(directory) as entries:
        for item in entries:
            if not item.name.startswith(".") or not item.is_dir(follow_symlinks=False):
                continue
            parts = item.name[1:].split(".")
            tag = parts[1] if len(parts) >= 3 else ""
            if tag != DISCARDED:
                pid, _, writer_host = tag.partition("@")
                try:
                    modified_s = item.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue
                age_s = now - modified_s
                dead = writer_host == host and pid.isdigit() and not _alive(int(pid), modified_s)
                if not dead and age_s < STALE_STAGING_S:
                    continue
            shutil.rmtree(item.path, ignore_errors=True)
            removed.append(item.name)
    if removed:
        logger.info("memo: removed %d leftover staging folder(s) in %s", len(removed), directory)
    return removed


def _move_aside(folder: Path) -> Path | None:
    aside = folder.parent / f".{folder.name}.{DISCARDED}.{uuid.uuid4().hex[:8]}"
    try:
        os.rename(folder, aside)
    except FileNotFoundError:
        return None  # someone else moved it
    except OSError as error:  # a read-only memo: the entry stays, and reads as a miss
        logger.warning("memo entry %s: cannot move it aside (%s)", folder, error.strerror or error)
        return None
    return aside


def _writer_tag() -> str:
    return f"{os.getpid()}@{_host()}"


def _host() -> str:
    return socket.gethostname().replace(".", "_").replace("@", "_") or "localhost"


def _alive(pid: int, staged_at_s: float) -> bool:
    """Whether the writer `pid` of a staging folder last written at `staged_at_s` still runs.

    A zombie is dead (a killed writer whose new parent never reaps it, as under a container's init
    that does not wait), and a process that started after the folder was written reuses a dead
    writer's pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = _process_status(pid)
    if status is None:
        return True  # no /proc: trust the signal
    state, started_s = status
    return state not in "ZX" and started_s <= staged_at_s + 1.0


def _process_status(pid: int) -> tuple[str, float] | None:
    """Process `pid`'s state letter and start time (seconds since the epoch), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot_s = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        return fields[0], boot_s + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


@dataclass
class Stats:
    """Work done on memo misses: trainings, conversions and runtime measurements."""

    trained: int = 0
    converted: int = 0
    measured: int = 0
    train_epochs: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.trained = self.converted = self.measured = 0
        self.train_epochs.clear()
