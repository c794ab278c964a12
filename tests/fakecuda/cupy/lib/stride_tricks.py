"""``cupy.lib.stride_tricks.as_strided``: a view of the same device memory (no kernel, no device check)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._core import ndarray


def as_strided(x: Any, shape: Any = None, strides: Any = None) -> ndarray:
    if type(x) is not ndarray:
        raise TypeError(f"Unsupported type {type(x)}")
    r = np.lib.stride_tricks.as_strided(x._a, shape, strides)
    return ndarray._new(r, x._dev, False)
