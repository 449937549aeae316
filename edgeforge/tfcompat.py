"""Import TensorFlow the one way edgeforge needs it: legacy tf_keras, deterministic ops, quiet logs."""

from __future__ import annotations

import os


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
