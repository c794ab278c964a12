"""``torch.finfo`` and ``torch.iinfo``: numerical properties of float and integer dtypes."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _dtype as D

__all__ = ["finfo", "iinfo"]


class finfo:  # noqa: N801 (torch's name)
    """Machine limits of a floating point dtype (default: the default dtype), PyTorch's fields."""

    def __init__(self, type: Any = None) -> None:
        dt = D.get_default_dtype() if type is None else D.to_dtype(type)
        if dt.category < D.FLOAT:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{dt}'")
        if dt in D.FLOAT8:
            self._float8(dt)
            return
        info = np.finfo(dt.to_real().np)
        self.dtype = dt.to_real().name
        self.bits = info.bits
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # PyTorch's: a power of ten

    def _float8(self, dt: D.dtype) -> None:
        """PyTorch's values for the 8-bit floats: ml_dtypes' limits, resolution 1, and PyTorch's eps of
        float8_e5m2fnuz (0.125, where ml_dtypes says 0.25)."""
        import ml_dtypes

        info = ml_dtypes.finfo(dt.np)
        self.dtype, self.bits = dt.name, 8
        self.eps = 0.125 if dt is D.float8_e5m2fnuz else float(info.eps)
        self.max, self.min = float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 1.0

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 (torch's name)
    """Machine limits of an integer (or bool) dtype, PyTorch's fields."""

    def __init__(self, type: Any) -> None:
        dt = D.to_dtype(type)
        if dt is D.bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dt.category != D.INT:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{dt}'")
        info = np.iinfo(dt.np)
        self.dtype = dt.name
        self.bits = info.bits
        self.max = int(info.max)
        self.min = int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"
