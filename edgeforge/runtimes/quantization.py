"""Convert between float tensors and a model's quantized input/output tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where arrays are used: every stage imports the spec, and most never touch an array
    import numpy as np


def quantize(x: np.ndarray, dtype: np.dtype, scale: float, zero_point: int) -> np.ndarray:
    import numpy as np

    if not np.issubdtype(dtype, np.integer) or scale == 0:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    import numpy as np

    if not np.issubdtype(y.dtype, np.integer) or scale == 0:
        return y.astype(np.float32)
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)
