"""weight_stats and compressed_bytes on models whose kernels are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.cost.weights import compressed_bytes, weight_stats

# A 1x1 conv, 2 input x 3 output channels: output channel 0 holds {0, 0.5}, channel 1 {0, 2},
# channel 2 {0.25, 0}. 3 of 6 weights are zero; 4 distinct values in the tensor, 2 per channel.
KERNEL = np.array([[[[0.0, 0.0, 0.25], [0.5, 2.0, 0.0]]]], dtype=np.float32)  # (1, 1, in, out)


def known_model_bytes(mode: str) -> bytes:
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    model = keras.Sequential([keras.layers.Input((4, 4, 2)), keras.layers.Conv2D(3, 1)])
    model.set_weights([KERNEL, np.zeros(3, np.float32)])
    representative = np.random.default_rng(0).uniform(-1, 1, (32, 4, 4, 2)).astype(np.float32)
    return PostTrainingQuantization({"mode": mode}).convert(model, representative)


@pytest.mark.parametrize(("mode", "max_unique"), [("float32", 4), ("float16", 4), ("int8", 2)])
def test_weight_stats_counts_zeros_and_distinct_values_per_channel_when_int8(mode, max_unique):
    stats = weight_stats(known_model_bytes(mode))
    assert stats == {"weight_sparsity": pytest.approx(3 / 6), "max_unique_weights": max_unique}


def test_compressed_bytes_is_deterministic_and_rewards_zeros():
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert compressed_bytes(noise) == compressed_bytes(noise)
    assert compressed_bytes(bytes(4096)) < compressed_bytes(noise) / 10
