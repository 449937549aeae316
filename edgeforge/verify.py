"""Check a build for corruption: every output against what recorded it, and how to rebuild it.

`dvc status` compares file timestamps and sizes it has cached, so a bit flipped in an output, or
in DVC's own cache (the copy `dvc checkout` restores from), goes unnoticed. `verify_build` reads
everything back instead:

- DVC outputs: every file of every stage's outs against the md5 in dvc.lock, and each cache
  object under .dvc/cache against its own name (fix: `dvc checkout --force` when the cache copy
  is intact, else delete the bad cache object and `dvc repro -f <stage>`);
- typed outputs (`edgeforge.outputs`): the search summary and each target's search result,
  selection, exports and bundle manifest parse; the selected artifact, and the exported .tflite a
  TFLite runtime loads, hash to the sha256 it was selected with; the bundle's files match its
  manifest and it ships the selected model;
- the memo: every entry against its seal (`edgeforge.search.memo`); damaged entries are discarded
  when read, and `remove_damaged_memo_entries` removes them now.

The memo output itself (persistent, rewritten by every search) is checked entry by entry, not
against dvc.lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeforge.layout import Layout

DVC_LOCK = "dvc.lock"


@dataclass(frozen=True)
class Finding:
    """Something corrupt: where, what is wrong, and the command that rebuilds it."""

    path: str
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.path}: {self.problem}; fix: {self.fix}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verification:
    findings: list[Finding]
    files_checked: int
    memo_entries_checked: int
    targets: list[str]


def verify_build(root: str | Path = ".", memo_dir: str | Path | None = None) -> Verification:
    root = Path(root)
    layout = Layout(root)
    findings: list[Finding] = []
    files = _check_dvc_outputs(root, layout, findings)
    targets = _check_typed_outputs(root, layout, findings)
    memo = Path(memo_dir) if memo_dir else layout.memo_dir() if root == Path(".") else layout.memo_out
    entries = _check_memo(memo, findings)
    return Verification(findings, files, entries, targets)


def remove_damaged_memo_entries(verification: Verification) -> int:
    """Delete the memo entries `verification` found damaged (the next search recomputes them)."""
    import shutil

    removed = 0
    for finding in verification.findings:
        if finding.fix.startswith(MEMO_FIX):
            shutil.rmtree(finding.path, ignore_errors=True)
            removed += 1
    return removed


# -- DVC outputs ---------------------------------------------------------------------------------


def _check_dvc_outputs(root: Path, layout: Layout, findings: list[Finding]) -> int:
    import yaml

    lock_path = root / DVC_LOCK
    if not lock_path.is_file():
        return 0
    try:
        lock = yaml.safe_load(lock_path.read_text())
        stages = lock["stages"]
    except (yaml.YAMLError, OSError, KeyError, TypeError) as error:
        findings.append(Finding(DVC_LOCK, f"unreadable ({type(error).__name__})", "git checkout dvc.lock, then `dvc repro`"))
        return 0
    cache = root / ".dvc" / "cache" / "files" / "md5"
    memo = layout.memo_out.relative_to(root).as_posix() if layout.memo_out.is_relative_to(root) else str(layout.memo_out)
    checked = 0
    for stage, entry in (stages or {}).items():
        for out in (entry or {}).get("outs", []) or []:
            path, md5 = out.get("path"), out.get("md5")
            if not path or not md5 or path == memo:
                continue
            for relpath, file_md5 in _expected_files(cache, path, md5, stage, findings):
                checked += 1
                _check_dvc_file(root, cache, relpath, file_md5, stage, findings)
    return checked


def _expected_files(cache: Path, path: str, md5: str, stage: str, findings: list[Finding]) -> list[tuple[str, str]]:
    """(workspace path, md5) of every file of an out; a directory's listing comes from its .dir
    object in the cache (checked first: it is a cache object like any other)."""
    if not md5.endswith(".dir"):
        return [(path, md5)]
    listing = _cache_object(cache, md5)
    if not listing.is_file():
        return []  # without its listing in the cache, a directory out cannot be checked file by file
    problem = _cache_object_problem(listing, md5)
    if problem:
        findings.append(Finding(str(listing), problem, f"delete it, then run `dvc repro -f {stage}`"))
        return []
    try:
        entries = json.loads(listing.read_text())
        return [(f"{path}/{item['relpath']}", item["md5"]) for item in entries]
    except (ValueError, KeyError, TypeError):
        findings.append(Finding(str(listing), "DVC directory listing unreadable", f"delete it, then run `dvc repro -f {stage}`"))
        return []


def _check_dvc_file(root: Path, cache: Path, relpath: str, md5: str, stage: str, findings: list[Finding]) -> None:
    cached = _cache_object(cache, md5)
    cache_problem = _cache_object_problem(cached, md5)
    if cache_problem and cached.is_file():
        findings.append(
            Finding(str(cached), f"{cache_problem} (the cached copy of {relpath}; `dvc status` does not notice)",
                    f"delete it, then run `dvc repro -f {stage}`")
        )
    workspace = root / relpath
    if not workspace.is_file():
        problem = "missing"
    elif _md5(workspace) != md5:
        problem = f"differs from dvc.lock (md5 {md5[:12]}...)"
    else:
        return
    fix = f"dvc checkout --force {relpath}" if not cache_problem else f"dvc repro -f {stage}"
    findings.append(Finding(relpath, problem, fix))


def _cache_object(cache: Path, md5: str) -> Path:
    return cache / md5[:2] / md5[2:]


def _cache_object_problem(path: Path, md5: str) -> str | None:
    """None when the cache object is intact or absent (not cached: `cache: false`, or gc'd)."""
    if not path.is_file():
        return None  # not cached (cache: false, `dvc gc`, a fresh clone): nothing to compare
    actual = _md5(path)
    name = md5.removesuffix(".dir")
    return None if actual == name else f"DVC cache object is corrupt: its content hashes to {actual[:12]}..."


def _md5(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 - DVC's content address, not a security hash
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- typed outputs -------------------------------------------------------------------------------


def _check_typed_outputs(root: Path, layout: Layout, findings: list[Finding]) -> list[str]:
    from edgeforge.errors import BuildError
    from edgeforge.outputs import Exports, Manifest, Selection, TargetSearch, read_output

    _check_search_summary(root, layout, findings)
    targets = sorted(
        {p.stem for p in (layout.search_dir / "targets").glob("*.json")}
        | {p.name for p in (layout.build / "targets").glob("*") if p.is_dir()}
    )
    for target in targets:
        outputs = {}
        for model, path, stage in (
            (TargetSearch, layout.search_target(target), "search"),
            (Selection, layout.selected(target), f"select@{target}"),
            (Exports, layout.exports(target), f"export@{target}"),
            (Manifest, layout.manifest(target), f"package@{target}"),
        ):
            if not path.is_file():
                continue
            try:
                outputs[model] = read_output(model, path)
            except BuildError as error:
                findings.append(Finding(_shown(path, root), str(error).split(": ", 1)[-1].split("; run ")[0], f"dvc repro -f {stage}"))
        selection = outputs.get(Selection)
        if selection is not None:
            _check_selected_artifact(root, selection, findings)
        exports = outputs.get(Exports)
        if exports is not None:
            _check_exports(root, target, exports, findings)
        if outputs.get(Manifest) is not None:
            _check_bundle(root, layout, target, outputs[Manifest], exports, findings)
    return targets


def _check_exports(root: Path, target: str, exports, findings: list[Finding]) -> None:
    """Every exported file is there, and the .tflite a TFLite runtime loads is the very model
    selected (export writes the verified bytes; other formats are converted from it)."""
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.search.memo import sha256_file

    runtime = RUNTIMES.get(exports.selection.runtime)
    for fmt, paths in exports.formats.items():
        for file in paths:
            path = root / file
            if not path.exists():
                findings.append(Finding(file, f"exported {fmt} file missing", f"dvc repro -f export@{target}"))
            elif (
                fmt == "tflite" and runtime is not None and runtime.artifact == "tflite" and path.suffix == ".tflite"
                and sha256_file(path) != exports.selection.sha256
            ):
                findings.append(
                    Finding(file, f"is not the selected model (sha256 {exports.selection.sha256[:12]}...)", f"dvc repro -f export@{target}")
                )


def _check_search_summary(root: Path, layout: Layout, findings: list[Finding]) -> None:
    from edgeforge.atomic import read_json
    from edgeforge.errors import BuildError

    if layout.search_summary.is_file():
        try:
            read_json(layout.search_summary, dict)
        except BuildError as error:
            detail = str(error).split(": ", 1)[-1].split("; run ")[0]
            findings.append(Finding(_shown(layout.search_summary, root), detail, "dvc repro -f search"))


def _check_selected_artifact(root: Path, selection, findings: list[Finding]) -> None:
    from edgeforge.search.memo import sha256_file

    artifact = root / selection.artifact
    if not artifact.is_file():
        findings.append(Finding(selection.artifact, "the selected candidate's artifact is missing", "dvc repro -f search"))
    elif sha256_file(artifact) != selection.sha256:
        findings.append(
            Finding(selection.artifact, f"does not match the sha256 {selection.sha256[:12]}... it was selected with",
                    "dvc repro -f search")
        )


def _check_bundle(root: Path, layout: Layout, target: str, manifest, exports, findings: list[Finding]) -> None:
    from edgeforge.bundle.package import verify_bundle
    from edgeforge.errors import BundleError

    bundle = layout.bundle_dir(target)
    try:
        verify_bundle(bundle)
    except BundleError as error:
        detail = str(error).split(": ", 1)[-1]
        findings.append(Finding(_shown(bundle, root), detail, f"dvc repro -f package@{target}"))
    if exports is not None and manifest.verified_sha256 not in (None, exports.selection.sha256):
        findings.append(
            Finding(_shown(layout.manifest(target), root), "ships another candidate than the one exported",
                    f"dvc repro -f package@{target}")
        )


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


# -- memo -----------------------------------------------------------------------------------------

MEMO_FIX = "discarded and recomputed by the next search that reads it"


def _check_memo(memo: Path, findings: list[Finding]) -> int:
    from edgeforge.search.memo import LEGACY, MISSING, entry_problem

    if not memo.is_dir():
        return 0
    checked = 0
    for kind in sorted(p for p in memo.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for entry in sorted(p for p in kind.iterdir() if p.is_dir() and not p.name.startswith(".")):
            checked += 1
            problem = entry_problem(entry)
            if problem not in (None, MISSING, LEGACY):  # an older edgeforge's entry is recomputed, not damaged
                findings.append(Finding(str(entry), f"memo entry {problem}", f"{MEMO_FIX} (`edgeforge verify --fix` removes it now)"))
    return checked
