"""What running TFLite Micro in a worker process costs (edgeforge/cost/isolated.py).

TFLite Micro's allocator and interpreter run in a worker process so that a corrupt model crashes
the worker, not the build. For MLPerf Tiny int8 reference models this times `device_costs`
(allocation, offline memory plan, its verification) and `predict` (8 samples) called in this
process and through the worker: the first call on a model (the one the search makes; its result
is memoized), their ratio, and the time a repeated call adds (pickling over the pipe). The
worker's start (once per process) is timed separately.

    python benchmarks/isolation_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS = ["ad01_int8.tflite", "kws_ref_model.tflite", "vww_96_int8.tflite"]


def small_classifier() -> bytes:
    path = REPO / "tests" / "unit" / "bundle" / "bundle_helpers.py"
    spec = importlib.util.spec_from_file_location("bundle_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_classifier(0)


def timed(call, repeats: int) -> float:
    """Median seconds of `repeats` calls."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.isolated import run_isolated
    from edgeforge.runtimes import get_runtime
    from edgeforge.runtimes.tflite_micro import _device_costs, _predict
    from edgeforge.spec.presets import load_preset

    runtime = get_runtime("tflite-micro")
    device = load_preset("stm32f746_disco", REPO / "specs")
    started = time.perf_counter()
    run_isolated(sorted, [])
    print(f"worker start (once per process): {time.perf_counter() - started:.3f} s")
    warm_up = small_classifier()  # imports TFLite Micro on both sides, outside the timings
    _device_costs(warm_up), runtime.device_costs(warm_up, device)

    models = [(name, (REPO / "examples" / "mlperf_tiny" / name).read_bytes()) for name in MODELS]
    print("first call on a model (what the search pays: results are memoized per model), then repeated calls")
    print(f"{'model':22} {'call':13} {'first: in-process s':>19} {'worker s':>9} {'ratio':>6}   {'repeat: added ms':>16}")
    for name, model in models:
        graph = read_graph(model)
        shape = graph.tensors[graph.inputs[0]].shape
        x = np.random.default_rng(0).normal(size=(8, *shape[1:])).astype(np.float32)
        for call, direct, isolated in (
            ("device_costs", lambda m=model: _device_costs(m), lambda m=model: runtime.device_costs(m, device)),
            ("predict x8", lambda m=model, x=x: _predict(m, x), lambda m=model, x=x: runtime.predict(m, x)),
        ):
            inside, worker = timed(direct, 1), timed(isolated, 1)  # each side's own first call
            added_ms = (timed(isolated, args.repeats) - timed(direct, args.repeats)) * 1000
            print(f"{name:22} {call:13} {inside:19.4f} {worker:9.4f} {worker / inside:6.2f}   {added_ms:16.2f}")


if __name__ == "__main__":
    main()
