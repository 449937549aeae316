"""Stage `export@T`: the selected candidate in every format the target lists → build/targets/T/export/."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.errors import BuildError
from edgeforge.layout import BUILD
from edgeforge.outputs import Exports, Selection, read_output, write_output
from edgeforge.spec import load_params


def run(target: str, params: str = "params.yaml") -> None:
    from edgeforge.data import load_splits
    from edgeforge.export import EXPORTERS, ExportContext, ExportError
    from edgeforge.export.parity import check_parity, parity_report

    spec = load_params(params)
    if target not in spec.targets:
        raise BuildError(f"no target '{target}' in {params}; targets: {', '.join(spec.targets)}")
    selected = read_output(Selection, BUILD.selected(target))
    selected_bytes = read_selected_model(selected)
    tflite_path = Path(selected.tflite_artifact)
    model_bytes = selected_bytes if tflite_path == Path(selected.artifact) else tflite_path.read_bytes()
    splits = load_splits(BUILD.splits)
    context = ExportContext(
        target_name=target,
        target=spec.targets[target],
        candidate_config=selected.candidate.config,
        metrics=selected.metrics,
        model_bytes=model_bytes,
        selected_bytes=selected_bytes,
        representative_x=splits.x_train,
        # one model for every exporter: loading may mean training, if the memo was wiped
        load_keras=functools.cache(lambda: load_candidate_keras(spec, splits, selected)),
    )
    staged: dict[str, list[Path]] = {}
    failed: dict[str, str] = {}
    final = BUILD.export_dir(target)
    with atomic_dir(final) as out:
        for fmt in spec.targets[target].formats:
            if fmt not in EXPORTERS:
                raise BuildError(f"targets.{target}.formats: no exporter for '{fmt}' yet; available: {', '.join(EXPORTERS)}")
            try:
                staged[fmt] = EXPORTERS[fmt]().export(context, out)
            except ExportError as error:  # the other formats still get built and reported
                failed[fmt] = str(error)
        if failed:
            reasons = "; ".join(f"{fmt}: {reason}" for fmt, reason in failed.items())
            raise BuildError(f"targets.{target}: the selected candidate {selected.candidate.id} cannot be exported as {reasons}")
        samples = spec.search.eval_samples
        report = parity_report(context, staged, splits.x_test[:samples], splits.y_test[:samples])
        check_parity(report, target)
        written = {fmt: [(final / path.relative_to(out)).as_posix() for path in paths] for fmt, paths in staged.items()}
        write_json(out / BUILD.parity(target).name, report)
        write_output(out / BUILD.exports(target).name, Exports(target=target, candidate=selected.candidate.id, formats=written))
    print(f"{target}: exported {', '.join(written)}; parity in {BUILD.parity(target)}")


def read_selected_model(selected: Selection) -> bytes:
    path = Path(selected.artifact)
    if not path.is_file():
        raise BuildError(f"{path}: the selected model is missing; run `dvc repro search`")
    model_bytes = path.read_bytes()
    if hashlib.sha256(model_bytes).hexdigest() != selected.sha256:
        raise BuildError(f"{path}: contents differ from what was selected; run `dvc repro -f search`")
    return model_bytes


def load_candidate_keras(spec, splits, selected: Selection):
    """The selected candidate's trained Keras model, the very one verified: export never trains."""
    from edgeforge.models.training import load_base_model
    from edgeforge.search.candidates import Candidate
    from edgeforge.search.memo import Memo
    from edgeforge.search.trainer import Trainer

    trainer = Trainer(spec, splits, load_base_model(BUILD.base_model), Memo(BUILD.memo_dir()))
    return trainer.load(Candidate(**selected.candidate.config).training, selected.trained_key)
