"""The audio frontend (edgeforge/data/frontend.py): the numpy reference agrees with TensorFlow's
tf.signal, and the device-side TFLite frontend agrees with the reference in LiteRT and TFLite
Micro within PARITY_TOLERANCE."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.frontend import (
    LOG_FLOOR,
    PARITY_TOLERANCE,
    compute_features,
    dct_matrix,
    frontend_parity,
    frontend_shape,
    frontend_tflite,
)
from edgeforge.spec.models import AudioFrontend


def clips(count: int = 5, samples: int = 16000) -> np.ndarray:
    """Tone bursts at several pitches, noise, and silence: the range a keyword clip spans."""
    rng = np.random.default_rng(0)
    t = np.arange(samples) / 16000
    tones = [0.6 * np.sin(2 * np.pi * (250 + 400 * k) * t) * np.exp(-((t - 0.5) / 0.2) ** 2) for k in range(count - 2)]
    return np.stack(tones + [0.3 * rng.normal(size=samples), np.zeros(samples)]).astype(np.float32)


def test_frontend_shape_matches_the_mlperf_tiny_keyword_input():
    shape = frontend_shape(AudioFrontend(features="mfcc", mfcc_count=10))
    assert (shape.clip_samples, shape.frame_samples, shape.stride_samples, shape.fft_length) == (16000, 480, 320, 512)
    assert shape.output_shape == (49, 10, 1)


def test_log_mel_reference_agrees_with_tf_signal():
    from edgeforge.tfcompat import import_tf

    tf, _ = import_tf()
    config = AudioFrontend()
    audio = clips()
    ours = compute_features(audio, config)[..., 0]
    magnitude = tf.abs(tf.signal.stft(audio, 480, 320, 512, window_fn=tf.signal.hann_window))
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, config.lower_hz, config.upper_hz)
    theirs = tf.math.log(tf.tensordot(magnitude, mel, 1) + LOG_FLOOR).numpy()  # tf.signal runs in float32
    assert np.abs(ours - theirs).max() < PARITY_TOLERANCE


def test_dct_matrix_is_orthonormal():
    matrix = dct_matrix(40, 40)
    np.testing.assert_allclose(matrix.T @ matrix, np.eye(40), atol=1e-12)


@pytest.mark.parametrize("features", ["log_mel", "mfcc"])
@pytest.mark.parametrize("runtime", ["tflite", "tflite-micro"])
def test_tflite_frontend_computes_the_reference_features_in_the_runtime(features, runtime):
    config = AudioFrontend(features=features)
    audio = clips()
    model = frontend_tflite(config)
    parity = frontend_parity(model, audio, compute_features(audio, config), runtime)
    assert parity["max_abs_diff"] < PARITY_TOLERANCE  # measured: up to 8e-4 on these tones


def test_tflite_frontend_is_byte_reproducible_and_uses_mcu_ops():
    from edgeforge.cost.graph import read_graph

    config = AudioFrontend(features="mfcc")
    model = frontend_tflite(config)
    assert frontend_tflite(config) == model
    graph = read_graph(model)
    assert {op.type for op in graph.operators} <= {"RESHAPE", "CONV_2D", "MUL", "ADD", "SQRT", "LOG"}


def test_frontend_parity_catches_a_frontend_with_other_parameters():
    audio = clips()
    model = frontend_tflite(AudioFrontend(upper_hz=7600))
    parity = frontend_parity(model, audio, compute_features(audio, AudioFrontend()))
    assert parity["max_abs_diff"] > PARITY_TOLERANCE
