"""LUT-compressed weights in TFLite Micro: flash before and after, accuracy, bit-identical outputs.

For each model and cluster count: the model is trained briefly on the built-in digits, clustered
with edgeforge's `cluster` pass (TF-MOT, one fine-tune epoch), converted by the `ptq` pass to full
int8, and compressed by `edgeforge.runtimes.tflm_compression` (per tensor, only where it shrinks,
kept only when TFLite Micro gives bit-identical outputs on held-out and random inputs). Flash is the
model plus TFLite Micro's code for its ops on an STM32F746 (the DECODE kernel included); accuracy
is measured in TFLite Micro's interpreter on the test split, on the model that ships.

Models (MLPerf Tiny reference layouts, sized for digits' 8x8 input):
- resnet8:  MLPerf Tiny image classification's ResNet-8 on digits upsampled to 32x32 (1 channel, ~78k params)
- fc_ad:    the anomaly-detection autoencoder's encoder layout (AD01: dense 128 x 4), 64 -> 10 (~59k params)
- tiny_cnn: edgeforge's registry CNN on digits upsampled to 64x64 (~88k params, most in its classifier)

    python benchmarks/compression.py [--clusters 8 16 32] [--epochs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

DEVICE = "stm32f746_disco"


def fc_ad(input_shape, num_classes):
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    layers = keras.layers
    return keras.Sequential(
        [layers.Input(shape=input_shape), layers.Flatten()]
        + [layers.Dense(128, activation="relu") for _ in range(4)]
        + [layers.Dense(num_classes), layers.Softmax()],
        name="fc_ad",
    )


def resnet8(input_shape, num_classes):
    """MLPerf Tiny image classification's ResNet-8 (tiny/benchmark/training/image_classification):
    a 3x3 conv of 16, then three residual stacks of 16, 32 and 64 filters (strided 1x1 shortcuts),
    average pooling and a dense classifier."""
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    layers = keras.layers
    inputs = layers.Input(shape=input_shape)

    def conv_bn(x, filters, strides=1, relu=True):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same")(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x) if relu else x

    x = conv_bn(inputs, 16)
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        y = conv_bn(conv_bn(x, filters, strides), filters, relu=False)
        if strides != 1:
            x = layers.Conv2D(filters, 1, strides=strides)(x)
        x = layers.Activation("relu")(layers.Add()([x, y]))
    x = layers.Flatten()(layers.AveragePooling2D(pool_size=x.shape[1])(x))
    outputs = layers.Softmax()(layers.Dense(num_classes)(x))
    return keras.Model(inputs, outputs, name="resnet8")


def tiny_cnn(input_shape, num_classes):
    from edgeforge.models import build_model

    return build_model("tiny_cnn", input_shape, num_classes)


MODELS = {"resnet8": (resnet8, 4), "fc_ad": (fc_ad, 1), "tiny_cnn": (tiny_cnn, 8)}  # name -> (builder, input upsampling)


def upsampled(splits, factor: int):
    if factor == 1:
        return splits
    import dataclasses

    grow = lambda x: np.kron(x, np.ones((1, factor, factor, 1), dtype=x.dtype))  # noqa: E731
    return dataclasses.replace(splits, x_train=grow(splits.x_train), x_val=grow(splits.x_val), x_test=grow(splits.x_test))


def run(clusters: list[int], epochs: int) -> list[dict]:
    from rich.progress import Progress

    from edgeforge.cost.profile import profile_model
    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.models.training import compile_classifier
    from edgeforge.passes.cluster import Cluster
    from edgeforge.passes.base import TrainContext
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.runtimes import get_runtime
    from edgeforge.runtimes.tflm_compression import compress_weights
    from edgeforge.spec.models import Dataset
    from edgeforge.spec.presets import load_preset
    from edgeforge.tfcompat import seed_everything

    device = load_preset(DEVICE, REPO / "specs")
    runtime = get_runtime("tflite-micro")
    dataset = Dataset(name="digits")
    digits = split_dataset(*load_dataset(dataset), dataset, seed=0)
    rows = []
    with Progress() as progress:
        task = progress.add_task("compress", total=len(MODELS) * (len(clusters) + 1))
        for name, (builder, factor) in MODELS.items():
            splits = upsampled(digits, factor)
            seed_everything(0)
            base = builder(splits.x_train.shape[1:], splits.num_classes)
            compile_classifier(base, learning_rate=0.003)
            base.fit(splits.x_train, splits.y_train, epochs=epochs, batch_size=64, verbose=0)
            params = int(base.count_params())
            for k in [0, *clusters]:
                model = base
                if k:
                    context = TrainContext(splits=splits, teacher=base, epochs=1, batch_size=64, learning_rate=0.003, seed=0)
                    model = Cluster({"clusters": k}).apply(base, context)
                dense = PostTrainingQuantization({"mode": "int8"}).convert(model, splits.x_train)
                outcome = compress_weights(dense, splits.x_test[:16], runtime.decode_code_bytes(device.arch))
                shipped = outcome.model_bytes
                scores = runtime.predict(shipped, splits.x_test)
                flash = {
                    label: profile_model(data, device, "tflite-micro", device_costs=runtime.device_costs(data, device))
                    for label, data in (("dense", dense), ("shipped", shipped))
                }
                rows.append({
                    "model": name, "params": params, "clusters": k,
                    "file_dense_bytes": len(dense), "file_shipped_bytes": len(shipped),
                    "file_ratio": round(len(shipped) / len(dense), 3),
                    "flash_dense_bytes": flash["dense"]["flash_bytes"], "flash_shipped_bytes": flash["shipped"]["flash_bytes"],
                    "arena_dense_bytes": flash["dense"]["arena_bytes"], "arena_shipped_bytes": flash["shipped"]["arena_bytes"],
                    "latency_dense_ms": round(flash["dense"]["latency_ms"], 3),
                    "latency_shipped_ms": round(flash["shipped"]["latency_ms"], 3),
                    "accuracy": round(float(np.mean(scores.argmax(axis=1) == splits.y_test)), 4),
                    "compressed": outcome.kept, "bit_identical_samples": outcome.samples if outcome.kept else 0,
                    "reason": outcome.reason,
                })
                progress.advance(task)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(args.clusters, args.epochs)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'model':9} {'params':>7} {'k':>3} {'file B':>15} {'ratio':>6} {'flash B':>15} {'arena B':>13} "
          f"{'latency ms':>13} {'acc':>6}  verified / why not")
    for r in rows:
        print(
            f"{r['model']:9} {r['params']:7d} {r['clusters']:3d} {r['file_dense_bytes']:7d}>{r['file_shipped_bytes']:7d} "
            f"{r['file_ratio']:6.3f} {r['flash_dense_bytes']:7d}>{r['flash_shipped_bytes']:7d} "
            f"{r['arena_dense_bytes']:6d}>{r['arena_shipped_bytes']:6d} {r['latency_dense_ms']:6.3f}>{r['latency_shipped_ms']:6.3f} "
            f"{r['accuracy']:6.3f}  "
            + (f"bit-identical on {r['bit_identical_samples']} inputs" if r["compressed"] else r["reason"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
