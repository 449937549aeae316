"""Stage `report`: the build's self-contained HTML page → build/report.html, and the headline
figures `dvc exp show` lists → build/metrics.json."""

from __future__ import annotations

from edgeforge.atomic import write_json
from edgeforge.layout import BUILD


def run(params: str = "params.yaml") -> None:
    from edgeforge.cost import graph_store
    from edgeforge.report import build_report
    from edgeforge.report.html import write_html
    from edgeforge.report.metrics import headline_metrics

    with graph_store.kept_in(BUILD.graph_cache_dir()):  # the chosen models' layers: parsed once per model
        report = build_report(params=params)
    write_html(report, BUILD.report_html)
    write_json(BUILD.metrics, headline_metrics(report))
    print(f"report: {BUILD.report_html.as_posix()} ({len(report['targets'])} targets)")
