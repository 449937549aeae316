"""Write the search's outputs: one file per target (so targets invalidate separately) + summary."""

from __future__ import annotations

from pathlib import Path

from edgeforge.atomic import write_json
from edgeforge.layout import BUILD
from edgeforge.cost.graph import TFLITE_IDENTIFIER
from edgeforge.outputs import SELECTION_SETTINGS, CandidateResult, TargetSearch, target_sha256, write_output
from edgeforge.runtimes import get_runtime
from edgeforge.search.engine import SearchResult
from edgeforge.search.evaluator import Evaluator


def write_search_outputs(result: SearchResult, evaluator: Evaluator, out: Path, final: Path = BUILD.search_dir) -> dict:
    """Write into `out` (a staging folder that becomes `final`); paths inside point at `final`."""
    spec = evaluator.spec
    models_written: set[str] = set()
    for name, evaluations in result.per_target.items():
        target = spec.targets[name]
        entries = []
        for candidate_id, evaluated in sorted(evaluations.items()):
            files = {}
            if evaluated.metrics is not None:
                # The file the target's runtime loads, and the .tflite every cost figure is read from.
                tflite_bytes, _ = evaluator.converter.cost_source(
                    evaluated.candidate, get_runtime(target.runtime).artifact, evaluated.epochs
                )
                model_bytes, suffix, record = evaluator.artifact(evaluated.candidate, target.runtime, evaluated.epochs, target)
                tflite_name = f"{candidate_id}.tflite"
                # the device's .tflite (a memory plan, say), or an ONNX base's .onnx, is what costs were read from
                if suffix.endswith(".tflite") or tflite_bytes[4:8] != TFLITE_IDENTIFIER:
                    tflite_name, tflite_bytes = f"{candidate_id}{suffix}", model_bytes
                (out / "models").mkdir(exist_ok=True)
                for filename, data in ((tflite_name, tflite_bytes), (f"{candidate_id}{suffix}", model_bytes)):
                    if filename not in models_written:
                        (out / "models" / filename).write_bytes(data)
                        models_written.add(filename)
                files = {
                    "artifact": (final / "models" / f"{candidate_id}{suffix}").as_posix(),
                    "tflite_artifact": (final / "models" / tflite_name).as_posix(),
                    "sha256": record["sha256"],
                    "trained_key": evaluator.trainer.key(evaluated.candidate.training, evaluated.epochs),
                }
            entries.append(CandidateResult(
                id=candidate_id,
                config=evaluated.candidate.config(),
                metrics=evaluated.metrics,
                checks=evaluated.checks,
                feasible=evaluated.feasible,
                failure=evaluated.failure,
                epochs=evaluated.metrics["epochs"] if evaluated.metrics else None,
                probe=evaluated.epochs is not None,
                **{"artifact": None, **files},
            ))
        write_output(out / "targets" / f"{name}.json", TargetSearch(
            target=name,
            device=target.device.name,
            runtime=target.runtime,
            objective=target.objective,
            constraints=target.constraints.limits(),
            base_accuracy=result.base_accuracy,
            candidates=entries,
            pruned_analytically={
                candidate_id: exclusions for candidate_id, exclusions in sorted(result.dropped.get(name, {}).items())
            },
            unevaluated=sorted(set(result.kept.get(name, ())) - set(evaluations)),
            target_sha256=target_sha256(target),  # the report depends on the target through it
            target_build_sha256=target_sha256(target, without=SELECTION_SETTINGS),  # package@T, through the plan
        ))
    stats = evaluator.stats
    summary = {
        "strategy": result.strategy,
        "space_size": len(result.space),
        "evaluated": len({cid for evaluations in result.per_target.values() for cid in evaluations}),
        "trained": stats.trained,
        "converted": stats.converted,
        "measured": stats.measured,
        "memo_hits": evaluator.memo.hits,
        "pruned_analytically": result.pruned_analytically,  # (combination, target) pairs dropped before training
        "pruned_everywhere": result.pruned_everywhere,  # combinations no target kept
        "pruned_per_target": {name: len(dropped) for name, dropped in sorted(result.dropped.items())},
        "budget_exhausted": result.budget_exhausted,
        "replayed": result.replayed,  # evaluations replayed from the explored region (memo hits)
        "new_region": result.new_region,  # target -> why the search trained beyond the explored region
        "retried_tasks": result.retried_tasks,  # jobs run again after their Dask worker died
        "unevaluated_per_target": {name: len(set(result.kept.get(name, ())) - set(evaluations))
                                   for name, evaluations in sorted(result.per_target.items())},
        "failed_per_target": {name: {cid: e.failure for cid, e in sorted(evaluations.items()) if e.failure}
                              for name, evaluations in sorted(result.per_target.items())},
        "train_epochs": stats.train_epochs,
        # candidates whose trained model this run trained; the others' came from the memo (the report says which)
        "trained_per_target": {
            name: sorted(cid for cid, e in evaluations.items()
                         if f"{e.candidate.training.id}@{evaluator.fidelity(e.epochs)}" in stats.train_epochs)
            for name, evaluations in sorted(result.per_target.items())
        },
        "base_accuracy": result.base_accuracy,
    }
    write_json(out / "summary.json", summary)
    return summary
