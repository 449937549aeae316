"""Bad-input campaign: ~300 bad inputs through the real CLI; each must end in exit 2 and one line.

Specs and overrides (NaN, infinity, huge numbers, wrong types, unknown keys, empty strings, broken
YAML), device presets, corrupt .tflite files for `profile` (truncations, random bytes, bit flips,
scribbles), telemetry files for `monitor`, CLI arguments, and corrupt build files (for `report`,
the stages, `verify`, `release`). Every case runs `edgeforge` in a subprocess on a private copy of
a built project and is judged: ok, TRACEBACK, CRASH (a signal), INTERNAL (a bug caught by
cli.main), SILENT (exit 0 where 2 was due), WRONG-CODE, MULTILINE (more than one line, unless a
SpecError's `file: key: problem` list) or BAD-JSON (`--json` output that strict JSON refuses).
Prints the cases that are not ok and the count per verdict.

    python benchmarks/bad_input_campaign.py PROJECT_DIR [NAME_FILTER]    # PROJECT_DIR: after `dvc repro`
    ALL=1 python benchmarks/bad_input_campaign.py PROJECT_DIR            # every case, ok ones too
"""
from __future__ import annotations

import json
import os
import re
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SRC = Path(sys.argv[1]).resolve()
FILTER = sys.argv[2] if len(sys.argv) > 2 else ""
WORK = Path(tempfile.mkdtemp(prefix="campaign-"))
PROJECT = WORK / "project"
shutil.copytree(SRC, PROJECT, symlinks=True)
FILES = WORK / "files"
FILES.mkdir()
EDGEFORGE = str(Path(sys.executable).parent / "edgeforge")

cases: list[tuple[str, list[str], dict]] = []  # (name, argv, {files to write before: path -> bytes})


def case(name, argv, files=None, expect=2):
    cases.append((name, argv, files or {}, expect))


# ---- specs via overrides --------------------------------------------------------------------------
OVERRIDES = {
    "nan-lr": "train.learning_rate=nan", "inf-lr": "train.learning_rate=inf", "neg-inf-lr": "train.learning_rate=-inf",
    "nan-epochs": "train.epochs=nan", "huge-epochs": "train.epochs=100000000000000000000000",
    "str-epochs": "train.epochs=many", "list-epochs": "train.epochs=[1,2]", "dict-epochs": "train.epochs={a:1}",
    "null-epochs": "train.epochs=null", "zero-batch": "train.batch_size=0", "float-batch": "train.batch_size=1.5",
    "huge-batch": "train.batch_size=1e30", "inf-latency": "targets.mcu.constraints.latency_ms=inf",
    "nan-latency": "targets.mcu.constraints.latency_ms=nan", "inf-ram": "targets.mcu.constraints.ram_kb=inf",
    "nan-ram": "targets.mcu.constraints.ram_kb=nan", "nan-acc": "targets.mcu.constraints.min_accuracy=nan",
    "inf-drop": "targets.sbc.constraints.max_accuracy_drop=inf", "nan-flash": "targets.mcu.constraints.flash_kb=nan",
    "inf-energy": "+targets.mcu.constraints.energy_mj=inf", "nan-hz": "+targets.mcu.constraints.inference_hz=nan",
    "nan-width": "model.width=nan", "inf-width": "model.width=inf", "nan-dropout": "model.dropout=nan",
    "nan-seed": "project.seed=nan", "neg-seed": "project.seed=-1", "huge-seed": "project.seed=99999999999999",
    "empty-name": "project.name=''", "str-seed": "project.seed=abc", "unknown-key": "train.epoch=3",
    "unknown-section": "+trian.epochs=3", "unknown-target-key": "targets.mcu.constraint.ram_kb=3",
    "bad-runtime": "targets.mcu.runtime=tflite-mikro", "bad-objective": "targets.mcu.objective=fastest",
    "bad-format": "targets.mcu.formats=[tflight]", "empty-formats": "targets.mcu.formats=[]",
    "nan-space-width": "search.space.width=[nan]", "inf-space-sparsity": "search.space.sparsity=[inf]",
    "nan-finetune": "search.finetune_epochs=nan", "huge-finetune": "search.finetune_epochs=1e40",
    "nan-max-seconds": "+search.budget.max_seconds=nan", "inf-temperature": "+search.distill.temperature=inf",
    "nan-soft-weight": "+search.distill.soft_weight=nan", "empty-label-col": "dataset.label_column=''",
    "nan-test-fraction": "+dataset.test_fraction=nan", "bad-device": "device@targets.mcu.device=stm33",
    "nan-device-clock": "targets.mcu.device.clock_mhz=nan", "inf-device-ram": "targets.mcu.device.ram_kb=inf",
    "empty-source": "targets.mcu.device.sources.clock_mhz=''", "blank-source": "targets.mcu.device.sources.clock_mhz='  '",
    "nan-macs": "targets.mcu.device.throughput.tflite-micro.macs_per_cycle.int8=nan",
    "inf-overhead": "targets.mcu.device.throughput.tflite-micro.op_overhead_us=inf",
    "nan-power": "targets.mcu.device.power.active_mw=nan", "inf-idle": "targets.mcu.device.power.idle_mw=inf",
    "empty-cpu": "targets.mcu.device.cpu=''", "bad-target-name": "+targets={'a b': {}}",
    "syntax": "train.epochs=[", "no-equals": "train.epochs", "eval-samples-neg": "search.eval_samples=-3",
}
for name, override in OVERRIDES.items():
    case(f"spec-override-{name}", ["validate", override])
    if name in ("nan-lr", "inf-latency", "empty-source", "neg-seed"):
        case(f"compose-override-{name}", ["compose", override])

# ---- spec files ----------------------------------------------------------------------------------
config = (SRC / "specs/config.yaml").read_text()
SPEC_FILES = {
    "yaml-syntax": config + "\n  bad: [unclosed\n",
    "binary": os.urandom(200),
    "top-list": "- a\n- b\n",
    "empty": "",
    "tab-indent": config.replace("  epochs: 6", "\tepochs: 6"),
    "nan-literal": config.replace("learning_rate: 0.003", "learning_rate: .nan"),
    "inf-literal": config.replace("latency_ms: 5", "latency_ms: .inf"),
    "dup-key": config.replace("  epochs: 6", "  epochs: 6\n  epochs: 7"),
    "unknown-top": config + "\nextra_section: {a: 1}\n",
    "string-targets": config.split("targets:")[0] + "targets: everything\n",
    "huge-float": config.replace("latency_ms: 5", "latency_ms: 1e400"),
    "bad-utf8": config.encode() + b"\n# \xff\xfe\n",
}
for name, text in SPEC_FILES.items():
    data = text if isinstance(text, bytes) else text.encode()
    case(f"spec-file-{name}", ["validate"], {"specs/config.yaml": data})

# ---- device presets ------------------------------------------------------------------------------
preset = (SRC / "specs/device/stm32f746_disco.yaml").read_text()
PRESETS = {
    "inf-clock": preset.replace("clock_mhz: 216", "clock_mhz: .inf"),
    "nan-ram": preset.replace("ram_kb: 320", "ram_kb: .nan"),
    "empty-source": preset.replace('  ram_kb: "STM32F746NG datasheet (DS10916): 320 KB SRAM; MLPerf Tiny v0.7 DISCO_F746NG.json: 320KB SRAM"', '  ram_kb: ""'),
    "blank-source": preset.replace('  ram_kb: "STM32F746NG datasheet (DS10916): 320 KB SRAM; MLPerf Tiny v0.7 DISCO_F746NG.json: 320KB SRAM"', '  ram_kb: "   "'),
    "null-source": preset.replace('  ram_kb: "STM32F746NG datasheet (DS10916): 320 KB SRAM; MLPerf Tiny v0.7 DISCO_F746NG.json: 320KB SRAM"', '  ram_kb: null'),
    "no-sources": preset.split("sources:")[0],
    "inf-macs": preset.replace("int8: 0.324", "int8: .inf"),
    "nan-overhead": preset.replace("op_overhead_us: 9.3", "op_overhead_us: .nan"),
    "neg-idle": preset.replace("idle_mw: 0.5", "idle_mw: -1"),
    "settings-nan": preset.replace("sources:", "runtime_settings:\n  tflite-micro: {arena_margin: .nan}\nsources:\n  runtime_settings: \"x\""),
    "settings-inf": preset.replace("sources:", "runtime_settings:\n  tflite-micro: {arena_margin: .inf}\nsources:\n  runtime_settings: \"x\""),
    "syntax": preset + "\n bad: [\n",
    "binary": os.urandom(300),
    "empty": "",
    "list": "- 1\n",
    "unknown-runtime": preset.replace("runtimes: [tflite-micro]", "runtimes: [tflite-macro]"),
    "str-clock": preset.replace("clock_mhz: 216", "clock_mhz: fast"),
    "unknown-key": preset.replace("clock_mhz: 216", "clock_mhz: 216\nclock_ghz: 0.2"),
    "empty-name": preset.replace("name: stm32f746_disco", "name: ''"),
    "huge-int": preset.replace("ram_kb: 320", "ram_kb: 1" + "0" * 400),
}
for name, text in PRESETS.items():
    data = text if isinstance(text, bytes) else text.encode()
    files = {"specs/device/stm32f746_disco.yaml": data}
    case(f"preset-validate-{name}", ["validate"], files)
    case(f"preset-devices-{name}", ["devices"], files)
    case(f"preset-devices-json-{name}", ["devices", "--json"], files)

# ---- corrupt models for profile --------------------------------------------------------------------
good = (SRC / "build/targets/mcu/export/model.tflite").read_bytes()
rng = random.Random(17)
models = {"empty": b"", "header-only": good[:8], "random-1k": bytes(rng.randrange(256) for _ in range(1024)),
          "random-tfl3": b"\x1c\x00\x00\x00TFL3" + bytes(rng.randrange(256) for _ in range(4000))}
for cut in (12, 64, 200, 1000, len(good) // 3, len(good) // 2, len(good) - 100, len(good) - 1):
    models[f"truncated-{cut}"] = good[:cut]
for i in range(40):
    data = bytearray(good)
    offset = rng.randrange(8, min(len(good), 2000)) if i < 25 else rng.randrange(8, len(good))
    data[offset] ^= 1 << rng.randrange(8)
    models[f"bitflip-{i}-at-{offset}"] = bytes(data)
for i in range(6):
    data = bytearray(good)
    for _ in range(20):
        data[rng.randrange(8, len(good))] = rng.randrange(256)
    models[f"scribble-{i}"] = bytes(data)
for name, data in models.items():
    path = FILES / f"{name}.tflite"
    path.write_bytes(data)
    case(f"profile-{name}", ["profile", str(path), "--device", "stm32f746_disco", "--json"], expect=(0, 2))
    if name.startswith(("truncated", "random", "scribble")):
        case(f"profile-sbc-{name}", ["profile", str(path), "--device", "raspberry_pi_4"], expect=(0, 2))
case("profile-missing", ["profile", str(FILES / "nope.tflite"), "--device", "stm32f746_disco"])
case("profile-directory", ["profile", str(FILES), "--device", "stm32f746_disco"])
good_path = FILES / "good.tflite"
good_path.write_bytes(good)
for value in ("nan", "inf", "-1", "0", "abc", "-inf"):
    case(f"profile-hz-{value}", ["profile", str(good_path), "--device", "stm32f746_disco", "--json", "--inference-hz", value])
case("profile-bad-device", ["profile", str(good_path), "--device", "stm33"])
case("profile-bad-runtime", ["profile", str(good_path), "--device", "stm32f746_disco", "--runtime", "onnx"])
case("profile-bad-target", ["profile", str(good_path), "--device", "stm32f746_disco", "--target", "nope"])
case("profile-no-specs", ["profile", str(good_path), "--device", "stm33", "--specs", str(FILES / "nospecs")])

# ---- telemetry for monitor ---------------------------------------------------------------------------
import numpy as np
with np.load(SRC / "build/targets/sbc/bundle/canary.npz") as _canary:
    _x = _canary["x"].reshape(len(_canary["x"]), -1)
    _y = _canary["y"].argmax(axis=1)
GOOD_ROWS = [[round(float(v), 6) for v in row] for row in _x]
line = {"target": "sbc", "version": 1, "latency_ms": 1.0, "features": GOOD_ROWS[:1], "classes": [int(_y[0])]}
TELEMETRY = {
    "not-json": "hello\n",
    "truncated-line": json.dumps(line) + "\n" + json.dumps(line)[:40] + "\n",
    "json-list": "[1, 2]\n",
    "json-number": "3\n",
    "no-features": json.dumps({"target": "sbc"}) + "\n",
    "features-string": json.dumps({**line, "features": "abc"}) + "\n",
    "features-ragged": json.dumps({**line, "features": [[0.0] * 64, [0.0] * 3]}) + "\n",
    "features-wrong-width": json.dumps({**line, "features": [[0.0] * 5]}) + "\n",
    "features-nan": json.dumps({**line, "features": [[float("nan")] * 64]}) + "\n",
    "features-inf": json.dumps({**line, "features": [[float("inf")] * 64]}) + "\n",
    "features-null": json.dumps({**line, "features": [[None] * 64]}) + "\n",
    "features-nested": json.dumps({**line, "features": [[[0.0] * 64]]}) + "\n",
    "classes-negative": json.dumps({**line, "classes": [-5]}) + "\n",
    "classes-float": json.dumps({**line, "classes": [2.5]}) + "\n",
    "classes-string": json.dumps({**line, "classes": ["x"]}) + "\n",
    "classes-huge": json.dumps({**line, "classes": [10 ** 12]}) + "\n",
    "latency-string": json.dumps({**line, "latency_ms": "fast"}) + "\n",
    "latency-nan": json.dumps({**line, "latency_ms": float("nan")}) + "\n",
    "empty": "",
    "blank-lines": "\n\n\n",
    "binary": os.urandom(500),
    "other-target": json.dumps({**line, "target": "mcu"}) + "\n",
    "features-empty": json.dumps({**line, "features": []}) + "\n",
}
for name, text in TELEMETRY.items():
    data = text if isinstance(text, bytes) else text.encode()
    path = FILES / f"telemetry-{name}.jsonl"
    path.write_bytes(data)
    case(f"monitor-{name}", ["monitor", str(path), "--target", "sbc", "--plot", str(FILES / f"{name}.png")])
    if name in ("features-nan", "latency-nan"):
        case(f"monitor-json-{name}", ["monitor", str(path), "--target", "sbc", "--json", "--plot", str(FILES / f"{name}.png")])
good_tel = FILES / "telemetry-good.jsonl"
good_tel.write_text("".join(json.dumps({**line, "features": [row], "classes": [int(c)]}) + "\n" for row, c in zip(GOOD_ROWS * 20, list(_y) * 20)))
for value in ("nan", "inf", "-1", "abc", "-inf"):
    case(f"monitor-threshold-{value}", ["monitor", str(good_tel), "--target", "sbc", "--threshold", value])
case("monitor-missing", ["monitor", str(FILES / "none.jsonl"), "--target", "sbc"])
case("monitor-directory", ["monitor", str(FILES), "--target", "sbc"])
case("monitor-no-bundle", ["monitor", str(good_tel), "--target", "nope"])
case("monitor-plot-in-missing-dir", ["monitor", str(good_tel), "--target", "sbc", "--plot", "/proc/nope/x.png"])
case("monitor-corrupt-manifest", ["monitor", str(good_tel), "--target", "sbc"], {"build/targets/sbc/bundle/manifest.json": b'{"schema'})
case("monitor-manifest-no-reference", ["monitor", str(good_tel), "--target", "sbc"],
     {"build/targets/sbc/bundle/manifest.json": (SRC / "build/targets/sbc/bundle/manifest.json").read_bytes().replace(b'"drift_reference"', b'"drift_refx"')})

# ---- other CLI arguments --------------------------------------------------------------------------
case("cli-unknown-command", ["frobnicate"])
case("cli-stage-unknown", ["stage", "frob"])
case("cli-report-bad-target", ["report", "--target", "nope"])
case("cli-device-status-missing", ["device", "status", "--install-dir", str(FILES / "nodevice")])
case("cli-device-status-file", ["device", "status", "--install-dir", str(good_path)])
case("cli-device-rollback-missing", ["device", "rollback", "--install-dir", str(FILES / "nodevice")])
case("cli-device-update-bad-url", ["device", "update", "--repo", "not a url", "--target", "sbc", "--install-dir", str(FILES / "dev1"), "--root", str(good_path)])
case("cli-device-update-no-root", ["device", "update", "--repo", "http://127.0.0.1:9/", "--target", "sbc", "--install-dir", str(FILES / "dev2")])
case("cli-device-update-root-missing", ["device", "update", "--repo", "http://127.0.0.1:9/", "--target", "sbc", "--install-dir", str(FILES / "dev3"), "--root", str(FILES / "nope.json")])
case("cli-release-no-keys", ["release", "--keys-dir", str(FILES / "nokeys"), "--repo-dir", str(FILES / "repo")])
case("cli-release-bad-target", ["release", "--keys-dir", str(FILES / "nokeys"), "--repo-dir", str(FILES / "repo"), "--target", "zzz"])
case("cli-keys-rotate-missing", ["keys", "rotate", "--keys-dir", str(FILES / "nokeys"), "--repo-dir", str(FILES / "repo")])
case("cli-init-existing", ["init", str(PROJECT)])
case("cli-schema-extra", ["schema", "--bogus"])
case("cli-validate-no-specs", ["validate", "--specs", str(FILES / "nospecs")])
case("cli-compose-check-stale", ["compose", "--check"], {"params.yaml": b"project: {name: x}\n"}, expect=1)  # CI's check: 1 = stale

# ---- corrupt build files ----------------------------------------------------------------------------
for name, path in {
    "selected": "build/targets/mcu/selected.json", "exports": "build/targets/mcu/export/exports.json",
    "search-target": "build/search/targets/mcu.json", "summary": "build/search/summary.json",
    "manifest": "build/targets/sbc/bundle/manifest.json",
}.items():
    for kind, data in {"truncated": b'{"tar', "binary": os.urandom(64), "list": b"[]"}.items():
        case(f"build-{name}-{kind}-report", ["report"], {path: data})
case("build-params-garbage-stage-prepare", ["stage", "prepare"], {"params.yaml": b"{{{"})
case("build-params-nan-stage-train", ["stage", "train"], {"params.yaml": (SRC / "params.yaml").read_bytes().replace(b"learning_rate: 0.003", b"learning_rate: .nan")})
for name, path in {"selected": "build/targets/mcu/selected.json", "manifest": "build/targets/sbc/bundle/manifest.json",
                   "model": "build/targets/mcu/export/model.tflite", "summary": "build/search/summary.json"}.items():
    case(f"verify-corrupt-{name}", ["verify"], {path: b'{"trunc'})
case("monitor-good", ["monitor", str(good_tel), "--target", "sbc", "--plot", str(FILES / "good.png")], expect=(0, 1))
case("monitor-good-json", ["monitor", str(good_tel), "--target", "sbc", "--json", "--plot", str(FILES / "good2.png")], expect=(0, 1))
for flag, value in (("--deadline-s", "nan"), ("--deadline-s", "-5"), ("--min-bytes-per-s", "0"), ("--min-bytes-per-s", "inf")):
    case(f"cli-device-update{flag}-{value}", ["device", "update", "--repo", "http://127.0.0.1:9", "--target", "sbc",
                                              "--install-dir", str(FILES / "dev4"), flag, value])
case("cli-verify-missing-memo-dir", ["verify", "--memo-dir", str(FILES / "nomemo")], expect=(0, 2))
case("cli-device-status-torn-log", ["device", "status", "--install-dir", "device"], {"device/update.log": b'{"time": "20'}, expect=0)
case("build-selected-truncated-export", ["stage", "export", "--target", "mcu"], {"build/targets/mcu/selected.json": b'{"tar'})
case("build-exports-truncated-package", ["stage", "package", "--target", "mcu"], {"build/targets/mcu/export/exports.json": b'{"t'})
case("build-manifest-truncated-release", ["release", "--keys-dir", str(FILES / "nokeys"), "--repo-dir", str(FILES / "repo")], {"build/targets/sbc/bundle/manifest.json": b'{"t'})


def run_case(item):
    name, argv, files, expect = item
    root = WORK / "runs" / name
    shutil.copytree(PROJECT, root, symlinks=True, ignore=shutil.ignore_patterns("memo", "cache"))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    try:
        done = subprocess.run([EDGEFORGE, *argv], cwd=root, capture_output=True, text=True, timeout=300)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    shutil.rmtree(root, ignore_errors=True)
    expected = expect if isinstance(expect, tuple) else (expect,)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith(("warning:", "usage:", " "))]
    verdict = "ok"
    if rc not in (0, 1, 2) :
        verdict = "CRASH" if rc != "timeout" else "TIMEOUT"
    elif "internal error" in err:
        verdict = "INTERNAL"
    elif "Traceback" in err:
        verdict = "TRACEBACK"
    elif rc not in expected:
        verdict = "SILENT" if rc == 0 else "WRONG-CODE"
    elif rc == 2 and len(lines) != 1 and not all(re.match(r"^(edgeforge \w+: error: )?[\w./-]+(:\d+)*: [\w.@\[\]-]+: ", l) for l in lines):
        verdict = "MULTILINE"  # several lines are fine only as a SpecError's list: `file: key: problem` each
    if "--json" in argv and rc == 0:
        try:
            json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            verdict = f"BAD-JSON({e})"
    detail = (err.strip().splitlines() or [""])[-1][:200]
    return name, rc, verdict, detail


selected = [c for c in cases if FILTER in c[0]]
with ThreadPoolExecutor(2) as pool:
    results = list(pool.map(run_case, selected))
bad = [r for r in results if r[2] != "ok"]
for name, rc, verdict, detail in results:
    if verdict != "ok" or os.environ.get("ALL"):
        print(f"{verdict:10} rc={rc} {name}: {detail}")
kinds = {}
for r in results:
    kinds[r[2].split("(")[0]] = kinds.get(r[2].split("(")[0], 0) + 1
print(f"\n{len(results)} cases: {kinds}")
shutil.rmtree(WORK, ignore_errors=True)
