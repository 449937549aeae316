"""Stage `search`: evaluate the search space for every target → build/search/ (memo in build/memo/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgeforge.data import load_splits
from edgeforge.search.memo import Memo
from edgeforge.spec import load_params
from edgeforge.atomic import atomic_dir

OUT = Path("build/search")
MEMO = Path(os.environ.get("EDGEFORGE_MEMO_DIR", "build/memo"))


def run(params: str = "params.yaml") -> None:
    from rich.progress import Progress

    from edgeforge.search.engine import run_search
    from edgeforge.search.results import write_search_outputs
    from edgeforge.stages.train import load_base_model

    spec = load_params(params)
    splits = load_splits("build/data/splits.npz")
    Path("build/memo").mkdir(parents=True, exist_ok=True)  # dvc.yaml's out, even when the memo lives elsewhere
    memo = Memo(MEMO)
    with Progress(transient=True) as bar:
        task = bar.add_task("searching", total=None)
        result, evaluator = run_search(
            spec, splits, load_base_model(), memo,
            progress=lambda text, done, total: bar.update(task, description=text, completed=done, total=total),
        )
    with atomic_dir(OUT) as out:
        summary = write_search_outputs(result, evaluator, out)
    print(
        f"search ({summary['strategy']}): {summary['space_size']} candidates, {summary['evaluated']} evaluated, "
        f"{summary['trained']} trained, {summary['memo_hits']} memo hits"
    )
