"""Stage `search`: evaluate the search space for every target → build/search/ (memo in build/memo/)."""

from __future__ import annotations

from edgeforge.atomic import atomic_dir
from edgeforge.bundle.download import BundleData
from edgeforge.cost import graph_store
from edgeforge.data import load_splits
from edgeforge.layout import BUILD
from edgeforge.search.memo import Memo
from edgeforge.spec import load_params


def run(params: str = "params.yaml") -> None:
    from edgeforge.progress import StageProgress
    from edgeforge.search.engine import run_search
    from edgeforge.search.results import write_search_outputs

    spec = load_params(params)
    splits = load_splits(BUILD.splits)
    BUILD.memo_out.mkdir(parents=True, exist_ok=True)  # dvc.yaml's out, even when the memo lives elsewhere
    memo = Memo(BUILD.memo_dir())
    # a constraint edit's search reads the models of the build before: parsed once, kept on disk
    with graph_store.kept_in(BUILD.graph_cache_dir()), StageProgress("search", "evaluated") as progress:
        result, evaluator = run_search(
            spec, splits, BUILD.base_model, memo,  # loaded only if something must be trained
            progress=lambda text, done, total, trained: progress.update(done, total, f"{trained} trained"),
            bundle_data=BundleData.read(BUILD.data_dir),  # what every bundle carries: for download_bytes
        )
    with atomic_dir(BUILD.search_dir) as out:
        summary = write_search_outputs(result, evaluator, out)
    print(search_line(summary))


def search_line(summary: dict) -> str:
    """The search's last log line: what was done, and what was not (failures, an exhausted budget)."""
    line = (
        f"search ({summary['strategy']}): {summary['space_size']} candidates, {summary['evaluated']} evaluated, "
        f"{summary['trained']} trained, {summary['memo_hits']} memo hits"
    )
    for target, why in summary.get("new_region", {}).items():
        line += f"; {target}: {why}"
    failed = {cid for failures in summary["failed_per_target"].values() for cid in failures}
    if failed:
        line += f"; {len(failed)} failed (see `edgeforge report`)"
    if summary.get("retried_tasks"):
        line += f"; {summary['retried_tasks']} task(s) retried after a Dask worker died running them"
    if summary["budget_exhausted"]:
        never = max(summary["unevaluated_per_target"].values(), default=0)
        line += f"; budget exhausted: up to {never} combinations per target never evaluated"
    return line
