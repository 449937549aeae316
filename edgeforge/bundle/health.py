"""Health check of an installed bundle: load the model in its runtime, run the canary inputs.

Healthy means: every file matches the manifest, the model loads and runs in its runtime on this
device (the runtime that loads its format here: LiteRT for .tflite files, MCU models included), and its outputs match
the canary outputs recorded at build time: the largest absolute difference is at most
CANARY_ATOL, and the predicted class is the same on every sample whose recorded top-2 margin
exceeds that tolerance (a near tie may flip between CPUs).

The updater runs this in a child process (`python -m edgeforge.bundle.health BUNDLE_DIR`), so a
model that crashes the runtime only fails its own check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CANARY_ATOL = 0.01  # outputs are dequantized scores; one int8 step of a softmax is ~0.004
HEALTH_TIMEOUT_S = 120


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    max_abs_diff: float | None = None


def check_health(bundle_dir: Path) -> Health:
    from edgeforge.bundle.package import load_canary, verify_bundle
    from edgeforge.errors import BundleError
    from edgeforge.runtimes import RUNTIMES, NotRunnableHere, runtime_for_bundle

    bundle_dir = Path(bundle_dir)
    try:
        manifest = verify_bundle(bundle_dir)
        x, expected = load_canary(bundle_dir, manifest)
        model_bytes = (bundle_dir / manifest["model_file"]).read_bytes()
    except (BundleError, OSError, KeyError, ValueError) as error:
        return Health(False, f"bundle unreadable: {error}")
    # The runtime the package stage recorded the canary outputs with (`runtime_for_bundle`); else
    # the manifest's runtime, which says why it cannot run here.
    runtime = runtime_for_bundle(manifest["format"], manifest["runtime"]) or RUNTIMES.get(manifest["runtime"])
    name = runtime.name if runtime else manifest["runtime"]
    try:
        if runtime is None:
            raise NotRunnableHere(f"unknown runtime '{name}'")
        actual = runtime.predict(model_bytes, x)
    except Exception as error:  # any runtime failure makes the model unhealthy, never the updater
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return Health(False, f"the model does not run in {name}: {first_line}")
    return compare_outputs(np.asarray(actual), np.asarray(expected))


def compare_outputs(actual: np.ndarray, expected: np.ndarray, atol: float = CANARY_ATOL) -> Health:
    if actual.shape != expected.shape:
        return Health(False, f"canary output shape {actual.shape} differs from the recorded {expected.shape}")
    if not np.all(np.isfinite(actual)):
        return Health(False, "canary outputs contain NaN or infinity")
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    if diff > atol:
        return Health(False, f"canary outputs differ from the recorded ones by {diff:.4g} (tolerance {atol})", diff)
    if expected.ndim == 2 and expected.shape[1] > 1:
        top2 = np.sort(expected, axis=1)[:, -2:]
        decisive = (top2[:, 1] - top2[:, 0]) > atol
        flipped = int(np.sum(decisive & (np.argmax(actual, axis=1) != np.argmax(expected, axis=1))))
        if flipped:
            return Health(False, f"predicted class differs from the recorded one on {flipped} canary samples", diff)
    return Health(True, f"{len(expected)} canary outputs match (max abs diff {diff:.3g})", diff)


def check_health_isolated(bundle_dir: Path, timeout_s: float = HEALTH_TIMEOUT_S) -> Health:
    """check_health in a child process: a crash or hang of the runtime is an unhealthy model."""
    command = [sys.executable, "-m", "edgeforge.bundle.health", str(bundle_dir)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return Health(False, f"health check did not finish within {timeout_s:g} s")
    try:
        return Health(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError, TypeError):
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Health(False, f"health check crashed (exit {done.returncode}): {detail}")


if __name__ == "__main__":
    print(json.dumps(asdict(check_health(Path(sys.argv[1])))))
