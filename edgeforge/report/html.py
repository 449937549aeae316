"""The report as one self-contained HTML page (inline CSS and SVG; no script, nothing fetched).

    render_html(report) -> str        the page for a `build_report` dict
    write_html(report, path)          written atomically

Sections: what is missing (a partial build), the device x constraint matrix, then per target its
Pareto plot, every candidate, the chosen model layer by layer with the arena over time, per-format
parity and the files shipped; last the search summary. The page is a function of the report only
(no clock, no host), so the pipeline's report stage is reproducible.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from edgeforge import __version__
from edgeforge.evaluate import AGREEMENT_KEYS, TASKS
from edgeforge.outputs import CONSTRAINT_METRICS
from edgeforge.report.classes import format_class_accuracy
from edgeforge.report.svg import arena_svg, constraint_unit, pareto_svg

# constraints on the task's quality (accuracy, ROC AUC): shown in points, not as a share of the limit
QUALITY_CONSTRAINTS = tuple(key for task in TASKS.values() for key in (task.min_constraint, task.drop_constraint))
STATUS_ORDER = ("chosen", "front", "feasible", "probe", "infeasible", "failed", "pruned", "not evaluated")

CSS = """
:root { --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9; --muted: #57606a; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #24292f; margin: 0; background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: white; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 6px; } nav a { margin-right: 12px; } .muted { color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.peak td { background: #fff1e5; } code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.sha { word-break: break-all; max-width: 34em; } td code { white-space: nowrap; }
.ok { background: var(--ok-bg); color: var(--ok); } .bad { background: var(--bad-bg); color: var(--bad); }
.na { color: var(--muted); background: #f6f8fa; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; border: 1px solid var(--line); white-space: nowrap; }
.badge.chosen { background: #fff8c5; border-color: #d4a72c; font-weight: 600; } .badge.front { background: #ddf4ff; }
.badge.feasible { background: var(--ok-bg); } .badge.infeasible, .badge.failed { background: var(--bad-bg); }
.badge.pruned, .badge.not-evaluated, .badge.probe { background: #f6f8fa; color: var(--muted); }
.missing { border: 1px solid #d4a72c; background: #fff8c5; padding: 8px 14px; border-radius: 6px; } .missing h2 { margin-top: 4px; }
.explanation { white-space: pre-wrap; background: var(--bad-bg); padding: 8px 12px; border-radius: 6px; }
figure { margin: 8px 0; } figcaption { font-size: 12px; color: var(--muted); }
.legend span { margin-right: 14px; white-space: nowrap; } .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 50%; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; } dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { color: var(--muted); } dd { margin: 0; }
"""


def write_html(report: dict, path: str | Path) -> Path:
    """Write the page to `path` atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(render_html(report), encoding="utf-8")
    os.replace(staging, path)
    return path


def render_html(report: dict) -> str:
    project = report.get("project") or "edgeforge project"
    targets = report["targets"]
    body = [
        f"<h1>{escape(project)}: build report</h1>",
        f'<p class="muted">{len(targets)} target{"s" if len(targets) != 1 else ""}: '
        + " ".join(f'<a href="#target-{escape(name)}">{escape(name)}</a>' for name in targets)
        + ' · <a href="#matrix">constraints</a> · <a href="#search">search</a></p>',
        _missing(report),
        _matrix(targets),
        *(_target(name, target, report.get("parity", {}).get(name) or {}) for name, target in targets.items()),
        _search(report["search"], targets),
        f'<p class="muted">edgeforge {escape(__version__)}: self-contained page, no network access needed.</p>',
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(project)}: edgeforge report</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{CSS}</style></head>\n<body><main>\n" + "\n".join(part for part in body if part) + "\n</main></body></html>\n"
    )


# --- sections --------------------------------------------------------------------------------


def _missing(report: dict) -> str:
    items = list(report.get("missing", []))
    for name, target in report["targets"].items():
        items += [f"{name}: {text}" for text in target.get("missing", [])]
    if not items:
        return ""
    lines = "".join(f"<li>{escape(item)}</li>" for item in items)
    return (f'<section class="missing" id="missing"><h2>Incomplete build</h2>'
            f"<p>This report shows what the build has produced so far. Missing:</p><ul>{lines}</ul></section>")


def _matrix(targets: dict) -> str:
    """Device x constraint: each cell the chosen model's value, the limit and the headroom."""
    keys = [key for key in CONSTRAINT_METRICS if any(key in t["constraints"] for t in targets.values())]
    head = "".join(f"<th>{escape(key)}</th>" for key in keys)
    rows = []
    for name, target in targets.items():
        chosen = target["candidate"]["id"] if target["candidate"] else None
        verdict = (f'<td class="ok"><code>{escape(chosen)}</code></td>' if chosen
                   else '<td class="bad">no feasible candidate</td>')
        cells = "".join(_constraint_cell(key, target["constraints"].get(key)) for key in keys)
        rows.append(
            f'<tr data-target="{escape(name)}"><th><a href="#target-{escape(name)}">{escape(name)}</a></th>'
            f"<td>{escape(target['device'])}<br><span class=\"muted\">{escape(target['runtime'])}</span></td>"
            f"{verdict}{cells}</tr>"
        )
    return (
        '<section id="matrix"><h2>Devices × constraints</h2>'
        '<p class="muted">Each cell: the chosen model\'s value against the limit, and the headroom left '
        "(relative for resources, in accuracy points for accuracy).</p>"
        f"<table><thead><tr><th>target</th><th>device / runtime</th><th>chosen</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _constraint_cell(key: str, check: dict | None) -> str:
    if check is None:
        return '<td class="na">-</td>'
    unit = constraint_unit(key)
    limit = f"{check['limit']:g}{' ' + unit if unit else ''}"
    if check.get("value") is None:
        return f'<td class="bad">limit {escape(limit)}<br>not met</td>'
    value = check["value"]
    is_max = CONSTRAINT_METRICS[key][2] == "max"
    if key in QUALITY_CONSTRAINTS:
        headroom = f"{(check['limit'] - value) if is_max else (value - check['limit']):+.4f}"
        shown = f"{value:.4f}"
    else:
        room = (check["limit"] - value) / (check["limit"] or 1.0) if is_max else (value - check["limit"]) / (check["limit"] or 1.0)
        headroom = f"{room:+.0%}"
        shown = f"{value:.4g}{' ' + unit if unit else ''}"
    mark = "pass" if check["ok"] else "fail"
    return (f'<td class="{"ok" if check["ok"] else "bad"}" title="{escape(key)}: {mark}">'
            f"<b>{escape(shown)}</b> / {escape(limit)}<br>headroom {escape(headroom)} · {mark}</td>")


def _target(name: str, target: dict, parity: dict) -> str:
    chosen = target["candidate"]["id"] if target["candidate"] else None
    parts = [
        f'<section class="target" id="target-{escape(name)}" data-target="{escape(name)}">',
        f"<h2>{escape(name)} <span class=\"muted\">· {escape(target['device'])} · {escape(target['runtime'])} · "
        f"objective {escape(target['objective'])}</span></h2>",
    ]
    if chosen:
        parts.append(f'<p>Chosen: <code class="chosen-id">{escape(chosen)}</code> ({_metrics_line(target["metrics"])})</p>')
        if target.get("choice_note"):
            parts.append(f'<p class="muted choice-note">{escape(target["choice_note"])}</p>')
        for fallback in target.get("fallbacks", []):
            parts.append(f'<p class="bad">Passed over <code>{escape(fallback["candidate"])}</code>: its '
                         f'{escape(fallback["format"])} export failed ({escape(fallback["reason"])}).</p>')
    elif target.get("explanation"):
        parts.append(f'<p class="bad">No feasible candidate.</p><div class="explanation">{escape(target["explanation"])}</div>')
    else:
        parts.append('<p class="bad">No candidate selected yet (see "Incomplete build" above).</p>')
    if target.get("per_class"):
        parts.append(_classes(target))
    if target.get("pareto"):
        parts.append(_pareto(target))
    else:
        parts.append('<p class="muted">No measured candidate: nothing to plot.</p>')
    parts.append(_candidates(target))
    if chosen:
        parts.append(_layers(name, target))
        parts.append(_parity(parity))
        parts.append(_files(target.get("files") or {}))
    parts.append("</section>")
    return "\n".join(parts)


def _metrics_line(metrics: dict) -> str:
    shown = [("accuracy", "{:.4f}"), ("latency_ms", "{:.3f} ms"), ("arena_bytes", "{:,} B arena"),
             ("flash_bytes", "{:,} B flash"), ("energy_mj", "{:.4f} mJ")]
    return escape(", ".join(fmt.format(metrics[key]) for key, fmt in shown if metrics.get(key) is not None))


def _classes(target: dict) -> str:
    """The chosen model's accuracy per class, measured in the runtime that verified it."""
    runtime = target["metrics"].get("accuracy_runtime", target["runtime"])
    rows = "".join(
        f'<tr><th>{escape(row["name"])}</th><td class="num">{escape(format_class_accuracy(row))}</td>'
        f'<td class="num">{"-" if row["samples"] is None else row["samples"]}</td></tr>'
        for row in target["per_class"]
    )
    return (f'<h3>Accuracy per class</h3><p class="muted">The chosen model on the held-out split, in {escape(runtime)}: '
            "the share of each class's samples it labels correctly.</p>"
            f'<table class="per-class"><thead><tr><th>class</th><th class="num">accuracy</th>'
            f'<th class="num">samples</th></tr></thead><tbody>{rows}</tbody></table>')


def _pareto(target: dict) -> str:
    pareto = target["pareto"]
    binding = pareto["binding"]
    quality = target.get("metric_label", "accuracy")
    caption = (f"{escape(quality[:1].upper() + quality[1:])} against {escape(binding['constraint'])}, the constraint "
               "that rules out the most candidates. The front: no other candidate is both better and cheaper.")
    if pareto.get("png"):
        caption += f" Also drawn to <code>{escape(pareto['png'])}</code>, with latency."
    legend = "".join(
        f'<span><i class="swatch" style="background:{color}"></i>{label}</span>'
        for label, color in (("chosen", "#d97706"), ("Pareto front", "#0969da"), ("feasible", "#2da44e"),
                             ("infeasible (hollow mark)", "#8c959f"), ("limit", "#cf222e"))
    )
    return (f'<h3>Pareto plot</h3><figure class="pareto">{pareto_svg(pareto, target.get("base_accuracy"), quality)}'
            f'<figcaption><div class="legend">{legend}</div>{caption}</figcaption></figure>')


def _candidates(target: dict) -> str:
    rows = sorted(target.get("candidates", []), key=lambda r: (STATUS_ORDER.index(r["status"]), r["id"]))
    front = set()
    if target.get("pareto"):
        front = set(target["pareto"]["fronts"].get(target["pareto"]["binding"]["metric"], []))
    body = []
    for row in rows:
        status = "front" if row["status"] == "feasible" and row["id"] in front else row["status"]
        metrics = row["metrics"]
        body.append(
            f'<tr data-candidate="{escape(row["id"])}"><td><code>{escape(row["id"])}</code></td>'
            f'<td><span class="badge {status.replace(" ", "-")}">{escape(status)}</span></td>'
            f"<td>{escape(row['passes'])}</td><td>{escape(row['fidelity'])}</td><td>{escape(row['training'])}</td>"
            f'<td class="num">{_num(metrics.get("accuracy"), "{:.4f}")}</td>'
            f'<td class="num">{_num(metrics.get("latency_ms"), "{:.3f}")}</td>'
            f'<td class="num">{_num(metrics.get("arena_bytes"), "{:,}")}</td>'
            f'<td class="num">{_num(metrics.get("flash_bytes"), "{:,}")}</td>'
            f"<td>{escape(row['reason'])}</td></tr>"
        )
    return (
        f"<h3>Candidates ({len(rows)})</h3>"
        '<table class="candidates"><thead><tr><th>candidate</th><th>status</th><th>passes</th><th>fidelity</th>'
        f'<th>training</th><th class="num">{escape(target.get("metric_label", "accuracy"))}</th>'
        '<th class="num">latency ms</th><th class="num">arena B</th><th class="num">flash B</th>'
        f'<th>why not chosen</th></tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _layers(name: str, target: dict) -> str:
    ops, arena = target.get("ops"), target.get("arena")
    if not ops:
        return ('<h3>Chosen model, layer by layer</h3><p class="muted">Per-layer costs unavailable '
                "(no params.yaml, or the model file is missing).</p>")
    has_live = "live_bytes" in ops[0]
    body = []
    for op in ops:
        peak = op.get("peak")
        marker = ' <span class="badge chosen">memory peak</span>' if peak else ""
        row_class = ' class="peak"' if peak else ""
        body.append(
            f'<tr{row_class}><td class="num">{op["index"]}</td>'
            f"<td>{escape(op['type'])}{marker}</td><td>{escape(str(op.get('dtype', '')))}</td>"
            f'<td class="num">{_num(op.get("macs"), "{:,}")}</td><td class="num">{_num(op.get("params"), "{:,}")}</td>'
            f'<td class="num">{_num(op.get("output_bytes"), "{:,}")}</td>'
            + (f'<td class="num">{_num(op.get("live_bytes"), "{:,}")}</td>' if has_live else "")
            + f'<td class="num">{_num(op.get("latency_ms"), "{:.4f}")}</td></tr>'
        )
    total = (f'<tr><th colspan="3">total</th><td class="num">{sum(op.get("macs") or 0 for op in ops):,}</td>'
             f'<td class="num">{sum(op.get("params") or 0 for op in ops):,}</td><td></td>'
             + ("<td></td>" if has_live else "")
             + f'<td class="num">{sum(op.get("latency_ms") or 0 for op in ops):.4f}</td></tr>')
    table = (
        '<table class="layers"><thead><tr><th class="num">#</th><th>op</th><th>dtype</th><th class="num">MACs</th>'
        '<th class="num">params</th><th class="num">activation B</th>'
        + ('<th class="num">live arena B</th>' if has_live else "")
        + f'<th class="num">predicted ms</th></tr></thead><tbody>{"".join(body)}{total}</tbody></table>'
    )
    chart = ""
    if arena:
        plans = f"TFLite Micro's greedy planner packs them into {arena['planned_bytes']:,} bytes"
        if arena.get("edgeforge_bytes") == arena["planned_bytes"]:
            plans += ", and so does edgeforge's offline plan (the model ships with TFLite Micro's own)"
        elif arena.get("edgeforge_bytes") is not None:
            verdict = "the model ships with it" if arena.get("edgeforge_kept") else arena.get("edgeforge_note", "not kept")
            plans += f", edgeforge's offline plan into {arena['edgeforge_bytes']:,} bytes: {verdict}"
        chart = (
            f'<figure class="arena">{arena_svg(arena, name)}<figcaption>Bytes of activation and scratch buffers alive '
            f"while each operator runs (no plan can use less than the peak). {escape(plans)}; plus "
            f"{arena['persistent_bytes']:,} bytes of interpreter state. The runtime reports "
            f"{arena['arena_bytes']:,} bytes in all ({escape(arena['arena_source'])}).</figcaption></figure>"
        )
    note = ('<p class="muted">Activation B: the operator\'s output tensor. Live arena B: every planned buffer alive '
            "while it runs; the row marked memory peak sets the arena the plan needs.</p>")
    return f'<h3>Chosen model, layer by layer</h3><div class="charts"><div>{table}{note}</div>{chart}</div>'


def _parity(parity: dict) -> str:
    if not parity:
        return '<h3>Parity per format</h3><p class="muted">No parity results (export has not run).</p>'
    body = []
    for fmt, entry in sorted(parity.items()):
        check = entry.get("check")
        verdict = '<td class="na">-</td>'
        if check:
            value = entry.get(check["metric"])
            if value is None and check["metric"] == "accuracy_drop":
                value = entry["reference_accuracy"] - entry["accuracy"]
            bound, limit = ("≤", check["max"]) if "max" in check else ("≥", check.get("min"))
            ok = value is not None and limit is not None and (value <= limit if bound == "≤" else value >= limit)
            verdict = f'<td class="{"ok" if ok else "bad"}">{escape(check["metric"])} {bound} {limit:g}: {"pass" if ok else "fail"}</td>'
        body.append(
            f"<tr><td>{escape(fmt)}</td><td>{escape(str(entry.get('reference')))}</td>"
            f'<td class="num">{_num(entry.get("samples"), "{:,}")}</td>'
            f'<td class="num">{_num(_agreement(entry), "{:.2%}")}</td>'
            f'<td class="num">{_num(entry.get("max_abs_diff"), "{:.3g}")}</td>'
            f'<td class="num">{_num(entry.get("accuracy"), "{:.4f}")}</td>'
            f'<td class="num">{_num(entry.get("reference_accuracy"), "{:.4f}")}</td>{verdict}</tr>'
        )
    return (
        '<h3>Parity per format</h3><table class="parity"><thead><tr><th>format</th><th>reference</th>'
        '<th class="num">samples</th><th class="num" title="same top-1 class, or same anomaly decision at the threshold">'
        'decision agreement</th><th class="num">largest |difference|</th>'
        '<th class="num">quality</th><th class="num">reference quality</th><th>check</th></tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table>'
    )


def _agreement(entry: dict) -> float | None:
    """The share of samples with the reference's decision, under its task's key."""
    return next((entry[key] for key in AGREEMENT_KEYS if key in entry), None)


def _files(files: dict) -> str:
    rows = [
        f"<tr><td>export ({escape(f['format'])})</td><td><code>{escape(f['path'])}</code></td>"
        f'<td class="num">{_num(f["bytes"], "{:,}")}</td><td class="mono sha">{escape(f["sha256"] or "missing")}</td></tr>'
        for f in files.get("exports", [])
    ] + [
        f"<tr><td>bundle</td><td><code>{escape(f['name'])}</code></td>"
        f'<td class="num">{_num(f["bytes"], "{:,}")}</td><td class="mono sha">{escape(f["sha256"])}</td></tr>'
        for f in files.get("bundle", [])
    ]
    if not rows:
        return '<h3>Files</h3><p class="muted">No exported files yet.</p>'
    return ('<h3>Files</h3><table class="files"><thead><tr><th>kind</th><th>file</th><th class="num">bytes</th>'
            f'<th>sha256</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _search(search: dict, targets: dict) -> str:
    budget = search.get("budget") or {}
    limits = [f"{key} {value}" for key, value in sorted(budget.items()) if value is not None]
    failures = [
        (name, row["id"], row["reason"]) for name, target in targets.items()
        for row in target.get("candidates", []) if row["status"] == "failed"
    ]
    items = [
        ("strategy", search.get("strategy")),
        ("candidates in the space", search.get("space_size")),
        ("evaluated", search.get("evaluated")),
        ("trainings", search.get("trained")),
        ("memo hits", search.get("memo_hits")),
        ("pruned before training", search.get("pruned_analytically")),
        ("budget", ", ".join(limits) or "unlimited"),
        ("budget exhausted", "yes" if search.get("budget_exhausted") else "no"),
        ("failures", len(failures)),
    ]
    listing = "".join(f"<dt>{escape(label)}</dt><dd>{escape(str(value if value is not None else '-'))}</dd>"
                      for label, value in items)
    failed = ""
    if failures:
        failed = "<ul>" + "".join(f"<li>{escape(name)}: <code>{escape(cid)}</code>: {escape(reason)}</li>"
                                  for name, cid, reason in failures) + "</ul>"
    return f'<section id="search"><h2>Search</h2><dl>{listing}</dl>{failed}</section>'


def _num(value, fmt: str) -> str:
    return "-" if value is None else escape(fmt.format(value))
