"""The audio feature frontend: a numpy reference, and the same computation as a TFLite model.

    clip (samples in [-1, 1]) → frames (window_ms every stride_ms, periodic Hann window)
      → |DFT| (fft_length = next power of two ≥ the frame) → mel filterbank (HTK mel scale,
      triangles between lower_hz and upper_hz, as tf.signal.linear_to_mel_weight_matrix)
      → log(energy + LOG_FLOOR) → [mfcc: orthonormal DCT-II, the first mfcc_count]
      → features (frames, bins, 1)

The model trains on `compute_features` (numpy, FFT in float64). The device computes the same
with `frontend_tflite`: a float32 TFLite model whose ops (CONV_2D for the windowed DFT and the
mel and DCT matrices, MUL, ADD, SQRT, LOG, RESHAPE) LiteRT and TFLite Micro both run. The
bundle ships it as frontend.tflite next to the classifier, and `frontend_parity` runs it in the
real runtime on the data set's clips: the largest difference from the features the model was
trained on must stay within PARITY_TOLERANCE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgeforge.spec.models import AudioFrontend

# Added to every mel energy before the log. A full-scale tone puts ~120 into its DFT bin, so
# 1e-3 lies ~100 dB down, below 16-bit audio's dynamic range: it hides only quantization noise.
# It also bounds float32 rounding in the device's DFT (~1e-6 absolute) to ~1e-3 in the log; a
# floor of 1e-6 (tf.signal examples) lets near-empty bins differ by up to log(2) ≈ 0.7.
LOG_FLOOR = 1e-3
# Largest |device - reference| allowed on a log-mel or MFCC feature. Measured in LiteRT and
# TFLite Micro on noiseless tone bursts (the worst case: empty bins next to loud ones): up to
# 8e-4; on noisy clips, 2e-5 (tests/unit/data/test_frontend.py). Features spread over several
# units and a frontend with other parameters differs by more than 0.1, so 1e-2 separates the two.
PARITY_TOLERANCE = 1e-2


@dataclass(frozen=True)
class FrontendShape:
    clip_samples: int
    frame_samples: int
    stride_samples: int
    fft_length: int
    frames: int
    dft_bins: int  # DFT bins up to the filterbank's top (higher bins carry zero weight)
    features: int  # mel_bins, or mfcc_count

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.frames, self.features, 1)


def frontend_shape(config: AudioFrontend) -> FrontendShape:
    rate = config.sample_rate_hz
    clip = round(rate * config.clip_ms / 1000)
    frame = round(rate * config.window_ms / 1000)
    stride = round(rate * config.stride_ms / 1000)
    fft_length = 1 << math.ceil(math.log2(frame))
    top_bin = math.ceil(config.upper_hz * fft_length / rate)
    return FrontendShape(
        clip_samples=clip,
        frame_samples=frame,
        stride_samples=stride,
        fft_length=fft_length,
        frames=1 + (clip - frame) // stride,
        dft_bins=min(fft_length // 2 + 1, top_bin + 1),
        features=config.mfcc_count if config.features == "mfcc" else config.mel_bins,
    )


def frontend_parameters(config: AudioFrontend) -> dict:
    """What the device needs to know, for preprocessing.json (the model file carries the matrices)."""
    shape = frontend_shape(config)
    return {
        **config.model_dump(exclude={"background_volume", "background_fraction"}),
        "clip_samples": shape.clip_samples,
        "frame_samples": shape.frame_samples,
        "stride_samples": shape.stride_samples,
        "fft_length": shape.fft_length,
        "window": "hann (periodic)",
        "mel_scale": "htk",
        "log_floor": LOG_FLOOR,
        "input": f"float32 ({shape.clip_samples},): 16-bit PCM / 32768",
        "output_shape": list(shape.output_shape),
    }


def compute_features(clips: np.ndarray, config: AudioFrontend) -> np.ndarray:
    """Features (N, frames, bins, 1) float32 of clips (N, clip_samples) in [-1, 1]."""
    shape = frontend_shape(config)
    starts = np.arange(shape.frames) * shape.stride_samples
    frames = clips[:, starts[:, None] + np.arange(shape.frame_samples)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(frames * hann_window(shape.frame_samples), n=shape.fft_length))[..., : shape.dft_bins]
    features = np.log(spectrum @ mel_matrix(config, shape) + LOG_FLOOR)
    if config.features == "mfcc":
        features = features @ dct_matrix(config.mel_bins, config.mfcc_count)
    return features[..., np.newaxis].astype(np.float32)


def hann_window(length: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


def mel_matrix(config: AudioFrontend, shape: FrontendShape) -> np.ndarray:
    """(dft_bins, mel_bins) triangular filters, laid out as tf.signal.linear_to_mel_weight_matrix."""
    def to_mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)

    bin_hz = np.arange(shape.fft_length // 2 + 1) * config.sample_rate_hz / shape.fft_length
    bin_mel = to_mel(bin_hz)[:, None]
    edges = np.linspace(to_mel(config.lower_hz), to_mel(config.upper_hz), config.mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((bin_mel - lower) / (center - lower), (upper - bin_mel) / (upper - center)))
    weights[0] = 0.0  # the DC bin carries no speech
    return weights[: shape.dft_bins]


def dct_matrix(inputs: int, outputs: int) -> np.ndarray:
    """(inputs, outputs) orthonormal DCT-II: features @ matrix gives the first `outputs` coefficients."""
    n = np.arange(inputs)[:, None]
    k = np.arange(outputs)[None, :]
    matrix = np.sqrt(2.0 / inputs) * np.cos(np.pi * k * (2 * n + 1) / (2 * inputs))
    matrix[:, 0] /= np.sqrt(2.0)
    return matrix


def frontend_tflite(config: AudioFrontend) -> bytes:
    """The frontend as a float32 TFLite model: input (1, clip_samples), output (1, frames, bins, 1)."""
    from edgeforge.tfcompat import import_tf

    tf, _ = import_tf()
    shape = frontend_shape(config)
    window = hann_window(shape.frame_samples)[:, None]
    phase = 2 * np.pi * np.arange(shape.frame_samples)[:, None] * np.arange(shape.dft_bins)[None, :] / shape.fft_length
    # The windowed DFT as two strided convolutions over the clip: one kernel per bin.
    cos_kernel = (window * np.cos(phase)).astype(np.float32).reshape(1, shape.frame_samples, 1, shape.dft_bins)
    sin_kernel = (window * np.sin(phase)).astype(np.float32).reshape(1, shape.frame_samples, 1, shape.dft_bins)
    projection = mel_matrix(config, shape)
    if config.features == "mfcc":
        mel_kernel = projection.astype(np.float32).reshape(1, 1, shape.dft_bins, config.mel_bins)
        dct_kernel = dct_matrix(config.mel_bins, config.mfcc_count).astype(np.float32).reshape(1, 1, config.mel_bins, config.mfcc_count)
    else:
        mel_kernel, dct_kernel = projection.astype(np.float32).reshape(1, 1, shape.dft_bins, config.mel_bins), None

    @tf.function(input_signature=[tf.TensorSpec([1, shape.clip_samples], tf.float32, name="audio")])
    def frontend(audio):
        signal = tf.reshape(audio, [-1, 1, shape.clip_samples, 1])
        strides = [1, 1, shape.stride_samples, 1]
        real = tf.nn.conv2d(signal, tf.constant(cos_kernel), strides, "VALID")
        imaginary = tf.nn.conv2d(signal, tf.constant(sin_kernel), strides, "VALID")
        magnitude = tf.sqrt(real * real + imaginary * imaginary)
        features = tf.math.log(tf.nn.conv2d(magnitude, tf.constant(mel_kernel), [1, 1, 1, 1], "VALID") + LOG_FLOOR)
        if dct_kernel is not None:
            features = tf.nn.conv2d(features, tf.constant(dct_kernel), [1, 1, 1, 1], "VALID")
        return tf.reshape(features, [-1, shape.frames, shape.features, 1])

    converter = tf.lite.TFLiteConverter.from_concrete_functions([frontend.get_concrete_function()], frontend)
    return converter.convert()


def frontend_parity(model_bytes: bytes, clips: np.ndarray, reference: np.ndarray, runtime: str = "tflite") -> dict:
    """Run the frontend model in `runtime` on clips; the largest gap to the reference features."""
    from edgeforge.runtimes import get_runtime

    device = get_runtime(runtime).predict(model_bytes, clips.astype(np.float32))
    gap = float(np.max(np.abs(device.reshape(reference.shape) - reference))) if len(clips) else 0.0
    return {"runtime": runtime, "clips": int(len(clips)), "max_abs_diff": gap, "tolerance": PARITY_TOLERANCE}
