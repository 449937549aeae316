"""Typed build outputs: what one stage writes and the next reads, validated both ways.

    TargetSearch   build/search/targets/<T>.json   search → select@T, report
    Selection      build/targets/<T>/selected.json select@T → report
    ExportPlan     build/targets/<T>/export_plan.json      select@T → export@T
    Exports        build/targets/<T>/export/exports.json   export@T → package@T, report
    Manifest       build/targets/<T>/bundle/manifest.json  package@T → release, device updater

`read_output(Model, path)` and `write_output(path, model)` are the only way stages touch them
(paths come from `edgeforge.layout`). A file that does not match its model is a BuildError naming
the file and the stage to rerun, never a KeyError deep in a later stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from edgeforge.atomic import write_json
from edgeforge.errors import BuildError, CorruptBuildError

# constraint key -> (metric, scale from metric to the constraint's unit, "max" or "min")
CONSTRAINT_METRICS: dict[str, tuple[str, float, str]] = {
    "ram_kb": ("ram_bytes", 1 / 1024, "max"),  # the arena the application reserves (TFLM: + margin)
    "flash_kb": ("flash_bytes", 1 / 1024, "max"),
    "download_kb": ("download_bytes", 1 / 1024, "max"),  # the released bundle.tar.gz (bundle/download.py)
    "latency_ms": ("latency_ms", 1.0, "max"),
    "energy_mj": ("energy_mj", 1.0, "max"),
    "avg_power_mw": ("avg_power_mw", 1.0, "max"),
    "min_accuracy": ("accuracy", 1.0, "min"),
    "max_accuracy_drop": ("accuracy_drop", 1.0, "max"),
    # model.task anomaly_detection: the quality the search ranks (`accuracy`) is its ROC AUC
    # (edgeforge/evaluate/task.py), so its constraints judge the same figure
    "min_auc": ("accuracy", 1.0, "min"),
    "max_auc_drop": ("accuracy_drop", 1.0, "max"),
}


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Check(Output):
    """One constraint checked against a candidate's metrics."""

    constraint: str
    limit: float
    value: float
    ok: bool

    @property
    def is_limit(self) -> bool:
        """A maximum (ram, latency, ...) rather than a minimum (accuracy)."""
        return CONSTRAINT_METRICS[self.constraint][2] == "max"

    @property
    def excess(self) -> float:
        """How far past the limit, relative to it (0 when met)."""
        if self.ok:
            return 0.0
        return abs(self.value - self.limit) / (abs(self.limit) or 1.0)

    def describe(self, precision: str = ".0%") -> str:
        bound = "at most" if self.is_limit else "at least"
        return f"{self.constraint} = {self.value:.4g}, needs {bound} {self.limit:g} (off by {self.excess:{precision}})"


class CandidateResult(Output):
    """One candidate on one target, as the search measured it (or why it could not)."""

    id: str
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    checks: list[Check]
    feasible: bool
    failure: str | None
    epochs: int | None  # fine-tune epochs it was trained at (its fidelity)
    probe: bool = False  # a short multi-fidelity probe: guides the solver, never selected
    artifact: str | None  # the file the target's runtime loads
    tflite_artifact: str | None = None  # the .tflite every cost figure is read from
    sha256: str | None = None  # of `artifact`
    trained_key: str | None = None  # memo key of its trained model: exports are converted from it


class Exclusion(Output):
    """A resource limit a combination's prediction exceeds on one target (before any training)."""

    constraint: str
    limit: float
    predicted: float

    def describe(self) -> str:
        return f"{self.constraint}: predicted {self.predicted:.4g}, limit {self.limit:g}"


class TargetSearch(Output):
    """build/search/targets/<T>.json: every candidate the search evaluated for one target."""

    target: str
    device: str
    runtime: str
    objective: str
    constraints: dict[str, float]
    base_accuracy: float
    candidates: list[CandidateResult]
    pruned_analytically: dict[str, list[Exclusion]]  # candidate id -> the predicted limits it exceeds
    unevaluated: list[str]  # kept by the pre-filter, but the strategy (or its budget) never evaluated them
    # of targets.<T> as the search read it (`target_sha256`): any edit of the target changes this file,
    # so stages that depend on it need not list targets.<T> in dvc.yaml (its largest lock entries)
    target_sha256: str = ""
    # the same less SELECTION_SETTINGS: what the target's bundle is built from (select@T copies it
    # into the export plan, on which package@T depends)
    target_build_sha256: str = ""

    def measured(self) -> list[CandidateResult]:
        return [entry for entry in self.candidates if entry.metrics]

    def selectable(self) -> list[CandidateResult]:
        """Feasible, fully trained candidates: the only ones a target may ship."""
        return [entry for entry in self.candidates if entry.feasible and not entry.probe]


# A target's settings that only decide which candidate it ships: nothing built from the choice (its
# exports, its bundle and the bundle's spec hash) depends on them, so a constraint edit that keeps the
# choice rebuilds none of it, and devices are not sent the same model again.
SELECTION_SETTINGS = frozenset({"constraints", "objective"})


def target_spec(target: BaseModel, *, without: frozenset[str] = frozenset()) -> dict:
    """A target's spec as JSON data (device figures, runtime, formats, constraints, objective, ...),
    less the top-level keys in `without`: what the hashes and memo keys of a target are made of."""
    return target.model_dump(mode="json", by_alias=True, exclude=set(without))


def target_sha256(target: BaseModel, *, without: frozenset[str] = frozenset()) -> str:
    """Hash of `target_spec(target, without=without)`."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(target_spec(target, without=without), sort_keys=True).encode()).hexdigest()


class ChosenCandidate(Output):
    id: str
    config: dict[str, Any]


class ConstraintResult(Output):
    limit: float
    value: float
    ok: bool


class Selection(Output):
    """build/targets/<T>/selected.json: the chosen candidate and the files it was verified as."""

    target: str
    device: str
    runtime: str
    objective: str
    base_accuracy: float
    candidate: ChosenCandidate
    metrics: dict[str, Any]
    constraints: dict[str, ConstraintResult]
    artifact: str
    sha256: str
    tflite_artifact: str
    trained_key: str  # memo key of the trained model every other format is converted from


# Figures of the bundle around a model, not of its files: the predicted download. Exporters do not
# need it and no manifest carries it (it would change the size it states), so an export plan leaves
# it out; the report reads it from the search result.
BUNDLE_METRICS = ("download_bytes", "download_source")


class ExportCandidate(Output):
    """What export@T needs of one candidate to export it: nothing a constraint edit alone changes (no
    limits, checks or bundle figures), so an edit that keeps the choice leaves the plan as it was."""

    target: str
    device: str
    runtime: str
    candidate: ChosenCandidate
    metrics: dict[str, Any]  # as measured, less BUNDLE_METRICS (exporters read the arena, parity the accuracy)
    artifact: str
    sha256: str
    tflite_artifact: str
    trained_key: str  # memo key of the trained model every other format is converted from


class ExportPlan(Output):
    """build/targets/<T>/export_plan.json: the selected candidate, then the next selectable ones in the
    objective's order (export@T falls back along them should an export fail). export@T depends on this
    file alone, not on selected.json or the search result, which every constraint edit rewrites."""

    target: str
    candidates: list[ExportCandidate]
    target_build_sha256: str = ""  # TargetSearch's: package@T reruns when the target changes, not its limits


class Fallback(Output):
    """A candidate export passed over: the format that failed, and why."""

    candidate: str
    format: str
    reason: str


class Exports(Output):
    """build/targets/<T>/export/exports.json: the files written per format, and the candidate they
    hold: the selected one, or the next selectable one when an export of a better one failed."""

    target: str
    candidate: str
    formats: dict[str, list[str]]
    selection: ExportCandidate  # the exported candidate (its checks and bundle figures: the search result)
    fallbacks: list[Fallback] = []


class Manifest(Output):
    """bundle/manifest.json: what a device verifies before it installs a model."""

    model_config = ConfigDict(extra="allow", frozen=True)  # newer builders may add fields

    schema_version: int
    project: str
    target: str
    device: str
    runtime: str
    format: str
    model_file: str
    model_sha256: str
    candidate: dict[str, Any]
    metrics: dict[str, Any]
    verified_sha256: str | None = None  # the artifact verified at selection (absent in older bundles)
    spec_hash: str
    edgeforge_version: str
    files: dict[str, dict[str, Any]]
    canary: str
    drift_reference: dict[str, Any]


OutputModel = TypeVar("OutputModel", bound=Output)

PRODUCER = {TargetSearch: "search", Selection: "select", ExportPlan: "select", Exports: "export", Manifest: "package"}


def read_output(model: type[OutputModel], path: str | Path) -> OutputModel:
    """The output at `path`, validated; BuildError naming the file and the stage to rerun."""
    import json

    path = Path(path)
    stage = PRODUCER.get(model, "")
    if not path.is_file():
        raise BuildError(f"{path}: missing; run `dvc repro {stage}`".rstrip())
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as error:  # UnicodeDecodeError too: a ValueError
        first = str(error).strip().splitlines()[0]
        raise CorruptBuildError(f"{path}: not a valid {model.__name__} ({first}); run `dvc repro -f {stage}`") from None


def write_output(path: str | Path, output: Output) -> None:
    write_json(path, output.model_dump(mode="json"))
