"""Import TensorFlow the one way edgeforge needs it: legacy tf_keras, deterministic ops, quiet logs."""

from __future__ import annotations

import os
from contextlib import contextmanager


def import_tf():
    """Return (tf, tf_keras). TF-MOT needs tf_keras, so TF_USE_LEGACY_KERAS must be set before import."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CUDA-probe noise on CPU-only hosts
    import tensorflow as tf
    import tf_keras

    tf.get_logger().setLevel("ERROR")
    return tf, tf_keras


def seed_everything(seed: int) -> None:
    """Bit-reproducible CPU training: same seed, same weights."""
    tf, tf_keras = import_tf()
    tf_keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@contextmanager
def fresh_layer_names():
    """Inside the block, Keras numbers auto-named layers and models from scratch, as in a new process.

    Keras names a layer without an explicit name from a process-wide counter ("dense", then "dense_5"
    once other models were built), and layer names end up in TFLite and ONNX tensor names and in the
    memo's HDF5 files. Every model edgeforge builds (architectures, user factories, imported ONNX
    graphs, TF-MOT's wrapping) is built inside this block, so its bytes depend on its recipe only,
    never on what the process built before (a partly deleted memo, a resumed search). Keras's public
    `reset_uids` rather than a rename afterwards: variables and name scopes take the names at
    creation, so only names given at creation are reliably the names everywhere. Keras needs names
    unique within a model only, so restarting the count does not clash with models built earlier
    (only a layer object made before the block and reused inside it could).
    """
    _, tf_keras = import_tf()
    tf_keras.backend.reset_uids()
    yield
