"""The one place that names paths under build/: every stage, the report and the release read them
here, and tests/unit/test_layout.py checks them against dvc.yaml's deps and outs.

    build/data/splits.npz, info.json                prepare
    build/base/model.h5, metrics.json               train
    build/search/summary.json, targets/<T>.json,    search
                 models/<candidate>.<suffix>
    build/memo/                                     search (persistent; EDGEFORGE_MEMO_DIR moves it)
    build/export-memo/                              export@T's own reuse memo (not a DVC output), with
                                                    select@T's plots and the report's layer profiles
    build/graph-cache/                              models the search and the report parsed (not a
                                                    DVC output; cost/graph_store.py)
    build/targets/<T>/selected.json, pareto.*,      select@T
                      candidates.json,              (candidates.json: the `dvc plots` data;
                      export_plan.json               export_plan.json: what export@T exports)
    build/targets/<T>/export/                       export@T (exports.json, parity.json, the files)
    build/targets/<T>/bundle/                       package@T
    build/report.html, metrics.json                 report (metrics.json: `dvc exp show`'s columns)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Paths of a build rooted at `root` (the project directory)."""

    root: Path = Path(".")

    @property
    def build(self) -> Path:
        return self.root / "build"

    # prepare
    @property
    def data_dir(self) -> Path:
        return self.build / "data"

    @property
    def splits(self) -> Path:
        return self.data_dir / "splits.npz"

    # train
    @property
    def base_dir(self) -> Path:
        return self.build / "base"

    @property
    def base_model(self) -> Path:
        return self.base_dir / "model.h5"

    # search
    @property
    def search_dir(self) -> Path:
        return self.build / "search"

    @property
    def search_summary(self) -> Path:
        return self.search_dir / "summary.json"

    def search_target(self, target: str) -> Path:
        return self.search_dir / "targets" / f"{target}.json"

    @property
    def memo_out(self) -> Path:
        """dvc.yaml's persistent memo output (the memo itself may live elsewhere: `memo_dir`)."""
        return self.build / "memo"

    def memo_dir(self) -> Path:
        return Path(os.environ.get("EDGEFORGE_MEMO_DIR") or self.memo_out)

    def export_memo_dir(self) -> Path:
        """Exports made before, which export@T reuses: beside build/memo/ (only `search` may write
        its own out), inside a shared EDGEFORGE_MEMO_DIR."""
        return Path(os.environ.get("EDGEFORGE_MEMO_DIR") or self.build / "export-memo")

    def graph_cache_dir(self) -> Path:
        """Parsed models the search and the report keep for their next run (cost/graph_store.py):
        local, since parsing again costs milliseconds, not a training."""
        return self.build / "graph-cache"

    # per target
    def target_dir(self, target: str) -> Path:
        return self.build / "targets" / target

    def selected(self, target: str) -> Path:
        return self.target_dir(target) / "selected.json"

    def export_plan(self, target: str) -> Path:
        """The candidates export@T tries, in order: its only input besides the target's formats."""
        return self.target_dir(target) / "export_plan.json"

    def pareto_json(self, target: str) -> Path:
        return self.target_dir(target) / "pareto.json"

    def pareto_png(self, target: str) -> Path:
        return self.target_dir(target) / "pareto.png"

    def candidates_json(self, target: str) -> Path:
        """One row per measured candidate: what `dvc plots show` draws as the Pareto plot."""
        return self.target_dir(target) / "candidates.json"

    def export_dir(self, target: str) -> Path:
        return self.target_dir(target) / "export"

    def exports(self, target: str) -> Path:
        return self.export_dir(target) / "exports.json"

    def parity(self, target: str) -> Path:
        return self.export_dir(target) / "parity.json"

    def bundle_dir(self, target: str) -> Path:
        return self.target_dir(target) / "bundle"

    def manifest(self, target: str) -> Path:
        return self.bundle_dir(target) / "manifest.json"

    # report
    @property
    def report_html(self) -> Path:
        return self.build / "report.html"

    @property
    def metrics(self) -> Path:
        """A few headline figures per target: the columns `dvc exp show` lists."""
        return self.build / "metrics.json"


BUILD = Layout()
