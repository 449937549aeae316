"""Image folders: one subfolder per class, png or jpg files, resized to dataset.image_size.

    data/images/
      cat/  0001.png  0002.jpg ...
      dog/  ...

Images become float32 (H, W, 1) for grayscale or (H, W, 3) for rgb, scaled to [0, 1], resized
with bilinear filtering. Class names are the folder names, sorted. Folders and files whose names
start with "." or "_" are skipped; any other file that is not a png/jpg is an error, so a stray
file never silently joins (or leaves) the data. Augmentation (dataset.augment_copies) adds seeded
variants of each training image: shifted by up to 10% of its size and brightness scaled by
0.9-1.1; validation and test images are never augmented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeforge.data.checks import Where
from edgeforge.data.source import Header, Source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_SHIFT = 0.1
BRIGHTNESS = (0.9, 1.1)


def class_folders(path: Path, where: Where, suffixes: tuple[str, ...], kind: str) -> dict[str, list[Path]]:
    """Class name → its files (sorted), for a folder-per-class layout; shared with audio."""
    if not path.is_dir():
        raise where.error("path", f"{where.path} is not a folder; {kind} data is a folder with one subfolder per class")
    classes = {}
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files = []
        for file in sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_"))):
            if not file.is_file() or file.suffix.lower() not in suffixes:
                raise where.error(
                    "path", f"{where.show(file)}: not a {'/'.join(s.lstrip('.') for s in suffixes)} file; remove it or move it out of the class folder"
                )
            files.append(file)
        if files:
            classes[folder.name] = files
    if len(classes) < 2:
        found = f" (found {', '.join(classes)})" if classes else ""
        raise where.error(
            "path", f"{where.path}: {len(classes)} class folder(s) with {kind} files{found}; a classifier needs at least 2, one subfolder per class"
        )
    return classes


def read_image_dir(path: Path, image_size: list[int], color: str, where: Where) -> Source:
    classes = class_folders(path, where, IMAGE_SUFFIXES, "image")
    names = list(classes)
    images, labels = [], []
    for label, name in enumerate(names):
        for file in classes[name]:
            images.append(_read_image(file, image_size, color, where))
            labels.append(label)
    return Source(x=np.stack(images), y=np.asarray(labels, dtype=np.int64), class_names=names)


def inspect_image_dir(path: Path, image_size: list[int], color: str, where: Where) -> Header:
    classes = class_folders(path, where, IMAGE_SUFFIXES, "image")
    y = np.concatenate([np.full(len(files), label, dtype=np.int64) for label, files in enumerate(classes.values())])
    return Header(input_shape=(*image_size, _channels(color)), y=y, class_names=list(classes))


def augment_images(x: np.ndarray, y: np.ndarray, copies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y followed by `copies` seeded variants of each image (same seed, same bytes)."""
    if copies == 0:
        return x, y
    rng = np.random.default_rng(seed)
    height, width = x.shape[1:3]
    variants = []
    for _ in range(copies):
        for image in x:
            dy, dx = (int(rng.integers(-round(size * MAX_SHIFT), round(size * MAX_SHIFT) + 1)) for size in (height, width))
            brightness = rng.uniform(*BRIGHTNESS)
            variants.append(np.clip(_shift(image, dy, dx) * brightness, 0.0, 1.0).astype(np.float32))
    return np.concatenate([x, np.stack(variants)]), np.concatenate([y] + [y] * copies)


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The image moved by (dy, dx) pixels, the uncovered border filled with zeros."""
    shifted = np.zeros_like(image)
    height, width = image.shape[:2]
    shifted[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = image[
        max(-dy, 0):height - max(dy, 0), max(-dx, 0):width - max(dx, 0)
    ]
    return shifted


def _channels(color: str) -> int:
    return 3 if color == "rgb" else 1


def _read_image(file: Path, image_size: list[int], color: str, where: Where) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    height, width = image_size
    try:
        with Image.open(file) as image:
            converted = image.convert("RGB" if color == "rgb" else "L").resize((width, height), Image.BILINEAR)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise where.error("path", f"{where.show(file)} could not be read as an image: {error}; replace or remove it") from None
    pixels = np.asarray(converted, dtype=np.float32) / 255.0
    return pixels.reshape(height, width, _channels(color))
