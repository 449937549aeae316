"""Stage `export@T`: the selected candidate in every format the target lists → build/targets/T/export/.

It reads select@T's export plan (the selected candidate, then the next selectable ones), never
selected.json or the search result: a constraint edit that keeps the choice and the fallbacks
rewrites those two but not the plan, and DVC skips this stage."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from pathlib import Path

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.errors import BuildError, CandidateExportError, ExportError
from edgeforge.layout import BUILD
from edgeforge.outputs import (
    BUNDLE_METRICS, SELECTION_SETTINGS, ExportCandidate, ExportPlan, Exports, Fallback, read_output, target_spec, write_output,
)
from edgeforge.spec import load_params


def run(target: str, params: str = "params.yaml") -> None:
    from edgeforge.data import load_splits

    spec = load_params(params)
    if target not in spec.targets:
        raise BuildError(f"no target '{target}' in {params}; targets: {', '.join(spec.targets)}")
    plan = read_output(ExportPlan, BUILD.export_plan(target))
    if plan.target != target or not plan.candidates:
        raise BuildError(f"{BUILD.export_plan(target)}: no candidate for target '{target}'; run `dvc repro -f select@{target}`")
    # The selected candidate first, then the next selectable ones in the objective's order.
    ranked = plan.candidates
    selected = ranked[0]
    read_selected_model(selected)  # what was verified must still be there, unchanged
    splits = load_splits(BUILD.splits)
    fallbacks: list[Fallback] = []
    final = BUILD.export_dir(target)
    with atomic_dir(final) as out:
        for selection in ranked:
            try:
                written, report = export_or_reuse(spec, target, selection, splits, out)
                break
            except CandidateExportError as failure:
                fallbacks += failure.fallbacks
                print(f"{target}: {selection.candidate.id} cannot be exported ({failure}); trying the next candidate")
                for path in out.iterdir():
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            reasons = "; ".join(f"{f.candidate} as {f.format}: {f.reason}" for f in fallbacks)
            raise BuildError(f"targets.{target}: no selectable candidate can be exported in every format: {reasons}")
        written = {fmt: [(final / path.relative_to(out)).as_posix() for path in paths] for fmt, paths in written.items()}
        write_json(out / BUILD.parity(target).name, report)
        write_output(out / BUILD.exports(target).name, Exports(
            target=target, candidate=selection.candidate.id, formats=written, selection=selection, fallbacks=fallbacks,
        ))
    fell_back = f" (fell back from {selected.candidate.id})" if selection is not selected else ""
    print(f"{target}: exported {selection.candidate.id}{fell_back} as {', '.join(written)}; parity in {BUILD.parity(target)}")


# -- reuse -----------------------------------------------------------------------------------------
# A constraint edit reruns export@T with the very candidate it exported before: the files and their
# parity report come back from the export memo (no TensorFlow, no runtime, no converter), keyed by
# everything that decides them: the candidate's files and trained model, the target less its
# constraints and objective, the data, and the code and converters. Constraints only decide *which*
# candidate is exported, which the key's candidate already says.
TRAINING_DEPENDENCIES = ("tensorflow-cpu", "tf-keras")  # the Keras model every converter starts from
FILES = "files"


def export_or_reuse(spec, target: str, selected: ExportCandidate, splits, out: Path) -> tuple[dict[str, list[Path]], dict]:
    """`export_candidate`, or what it wrote for the same inputs before."""
    from edgeforge.search.memo import Memo

    memo = Memo(BUILD.export_memo_dir())
    key = export_key(spec, target, selected, splits)
    folder = memo.entry("export", key)
    if folder is not None:
        record = json.loads((folder / "record.json").read_text())
        shutil.copytree(folder / FILES, out, dirs_exist_ok=True)
        written = {fmt: [out / path for path in paths] for fmt, paths in record["written"].items()}
        return written, record["report"]
    written, report = export_candidate(spec, target, selected, splits, out)

    def remember(entry: Path) -> dict:
        shutil.copytree(out, entry / FILES)
        return {"written": {fmt: [path.relative_to(out).as_posix() for path in paths] for fmt, paths in written.items()},
                "report": report}

    memo.store("export", key, remember)
    return written, report


def export_key(spec, target: str, selected: ExportCandidate, splits) -> str:
    from edgeforge.export import EXPORTERS
    from edgeforge.search.codeversion import code_version
    from edgeforge.search.memo import hash_of, sha256_file

    exporters = [f"{cls.__module__}.{cls.__qualname__}" for fmt in spec.targets[target].formats if (cls := EXPORTERS.get(fmt))]
    return hash_of(
        "export",
        # all of edgeforge (exporters lean on runtimes, cost, memory), the converters and the runtimes
        code_version(("",), TRAINING_DEPENDENCIES + _converter_and_runtime_packages()),
        exporters,  # the classes that would run (a plugin's, a test's)
        target,
        target_spec(spec.targets[target], without=SELECTION_SETTINGS),
        selected.candidate.model_dump(mode="json"),
        # less the bundle's download size (the plan has none: see outputs.BUNDLE_METRICS); filtered
        # here still, so that the key means what it always meant
        {k: v for k, v in selected.metrics.items() if k not in BUNDLE_METRICS},
        selected.sha256,
        sha256_file(Path(selected.tflite_artifact)),
        selected.trained_key,
        splits.fingerprint(),
        spec.search.eval_samples,
        spec.project.seed,
    )


def export_candidate(spec, target: str, selected: ExportCandidate, splits, out: Path) -> tuple[dict[str, list[Path]], dict]:
    """Write every format of the target for one candidate into `out`, with its parity report."""
    from edgeforge.export import EXPORTERS, ExportContext
    from edgeforge.evaluate import get_task
    from edgeforge.export.parity import parity_problems, parity_report
    from edgeforge.progress import StageProgress

    selected_bytes = read_selected_model(selected)
    tflite_path = Path(selected.tflite_artifact)
    model_bytes = selected_bytes if tflite_path == Path(selected.artifact) else tflite_path.read_bytes()
    context = ExportContext(
        target_name=target,
        target=spec.targets[target],
        candidate_config=selected.candidate.config,
        metrics=selected.metrics,
        model_bytes=model_bytes,
        selected_bytes=selected_bytes,
        representative_x=splits.x_train,
        # one model for every exporter: the trained model that was verified, from the memo
        load_keras=functools.cache(lambda: load_candidate_keras(spec, splits, selected)),
    )
    staged: dict[str, list[Path]] = {}
    failed: list[Fallback] = []
    formats = spec.targets[target].formats
    with StageProgress(f"export {target}", "formats", total=len(formats)) as progress:
        for done, fmt in enumerate(formats, start=1):
            if fmt not in EXPORTERS:
                raise BuildError(f"targets.{target}.formats: no exporter for '{fmt}' yet; available: {', '.join(EXPORTERS)}")
            try:
                staged[fmt] = EXPORTERS[fmt]().export(context, out)
            except ExportError as error:  # the other formats still get built and reported
                failed.append(Fallback(candidate=selected.candidate.id, format=fmt, reason=str(error)))
            progress.update(done, detail=f"{fmt} done")
    if failed:
        raise CandidateExportError(failed)
    samples = spec.search.eval_samples
    report = parity_report(context, staged, splits.x_test[:samples], splits.y_test[:samples], get_task(spec.model.task))
    problems = parity_problems(report)
    if problems:
        raise CandidateExportError([
            Fallback(candidate=selected.candidate.id, format=fmt, reason=f"parity: {problem}")
            for fmt, problem in problems
        ])
    return staged, report


def read_selected_model(selected: ExportCandidate) -> bytes:
    path = Path(selected.artifact)
    if not path.is_file():
        raise BuildError(f"{path}: the selected model is missing; run `dvc repro search`")
    model_bytes = path.read_bytes()
    if hashlib.sha256(model_bytes).hexdigest() != selected.sha256:
        raise BuildError(f"{path}: contents differ from what was selected; run `dvc repro -f search`")
    return model_bytes


def load_candidate_keras(spec, splits, selected: ExportCandidate):
    """The selected candidate's trained Keras model, the very one verified: export never trains."""
    from edgeforge.search.candidates import Candidate
    from edgeforge.search.memo import Memo
    from edgeforge.search.trainer import Trainer

    trainer = Trainer(spec, splits, BUILD.base_model, Memo(BUILD.memo_dir()))
    return trainer.load(Candidate(**selected.candidate.config).training, selected.trained_key)


def _converter_and_runtime_packages() -> tuple[str, ...]:
    """What every exporter converts with and every runtime runs with (their versions key the memo)."""
    from edgeforge.export import EXPORTERS
    from edgeforge.runtimes import RUNTIMES

    packages = [p for exporter in EXPORTERS.values() for p in exporter.packages]
    return tuple(dict.fromkeys(packages + [p for runtime in RUNTIMES.values() for p in runtime.packages]))
