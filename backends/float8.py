"""Conversions to and from the 8-bit float dtypes with PyTorch's rounding, on raw numpy arrays.

ml_dtypes holds the values; its casts agree with PyTorch's bit for bit except in three places, fixed here:
``float8_e4m3fn`` saturates every finite overflow and +-inf to +-448 (ml_dtypes gives NaN), ``float8_e5m2``
writes NaN as 0x7F/0xFF (ml_dtypes 0x7E/0xFE), and ``float8_e8m0fnu`` (a bare exponent) takes the magnitude,
rounds half up and keeps 2**-127 exact (ml_dtypes gives NaN for negatives and rounds half to even). Every
conversion goes through float32, as PyTorch's does (its float8 types convert from and to float).
"""
from __future__ import annotations

from typing import Any

import numpy as np

_E4M3FN_MAX = 448.0


def is_float8(np_dtype: Any) -> bool:
    """Whether a numpy dtype is one of ml_dtypes' 8-bit floats (int8, uint8 and bool are not)."""
    return np_dtype.itemsize == 1 and np_dtype.kind in "fV"


def _e8m0_bits(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32)
    exponent = (bits >> 23) & 0xFF
    guard = (bits >> 22) & 1
    rest = (bits & 0x3FFFFF) != 0
    up = (guard == 1) & ((exponent != 0) | rest)  # a subnormal input of exactly 2**-127 stays exact
    code = np.minimum(exponent + up, 0xFF)
    return np.where(exponent == 0xFF, 0xFF, code).astype(np.uint8)


def to_float8(arr: Any, np_dtype: Any) -> np.ndarray:
    """``arr`` (a numpy array of any dtype) converted to the float8 ``np_dtype`` as PyTorch converts it."""
    x = np.asarray(arr)
    if x.dtype.kind == "c":
        x = x.real
    x = from_float8(x) if is_float8(x.dtype) else x.astype(np.float32)
    name = np_dtype.name
    if name == "float8_e8m0fnu":
        out = np.empty(x.shape, np_dtype)  # its own buffer (a view of the bits would keep a uint8 base)
        out.view(np.uint8)[...] = _e8m0_bits(x)
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        out = x.astype(np_dtype)
    if name == "float8_e4m3fn":
        overflow = np.isnan(out) & ~np.isnan(x)
        if overflow.any():
            out[overflow] = np.copysign(np.float32(_E4M3FN_MAX), x[overflow]).astype(np_dtype)
    elif name == "float8_e5m2":
        nan = np.isnan(x)
        if nan.any():
            out.view(np.uint8)[nan] = np.where(np.signbit(x[nan]), 0xFF, 0x7F).astype(np.uint8)
    return out


def cast(arr: Any, np_dtype: Any) -> np.ndarray:
    """``arr.astype(np_dtype)`` with PyTorch's rules where a float8 dtype is the source or the target."""
    np_dtype = np.dtype(np_dtype)
    if is_float8(np_dtype):
        return to_float8(arr, np_dtype)
    if is_float8(arr.dtype):
        return from_float8(arr).astype(np_dtype, copy=False)
    return arr.astype(np_dtype)


def from_float8(arr: Any) -> np.ndarray:
    """A float8 array as float32, NaN positive (PyTorch's; ml_dtypes gives the fnuz types' NaN a sign)."""
    x = arr.astype(np.float32)
    if arr.dtype.name.endswith("fnuz"):
        nan = np.isnan(x)
        if nan.any():
            x[nan] = np.nan
    return x


def check_scalar_fits(value: Any, np_dtype: Any, type_name: str) -> None:
    """PyTorch's check on a Python number written into a float8 tensor (fill_, full): finite values beyond
    the type's range, and inf where the type has none, are errors rather than saturated."""
    import ml_dtypes

    if isinstance(value, complex) or np.isnan(value):
        return
    info = ml_dtypes.finfo(np_dtype)
    has_inf = np.dtype(np_dtype).name == "float8_e5m2"
    if (np.isinf(value) and has_inf) or float(info.min) <= float(value) <= float(info.max):
        return
    raise RuntimeError(f"value cannot be converted to type c10::{type_name} without overflow")


def involves_float8(src: Any, np_dtype: Any) -> bool:
    """Whether a cast from dtype ``src`` to ``np_dtype`` (None: no cast) needs :func:`cast`."""
    return (src.itemsize == 1 and src.kind in "fV") or (np_dtype is not None and is_float8(np.dtype(np_dtype)))


def refuse_on_device(np_dtype: Any, where: str = "cuda") -> None:
    """Raise the error for a float8 array asked of a device backend: cupy has no 8-bit float type."""
    raise RuntimeError(f"{where} tensors cannot hold {np.dtype(np_dtype).name}: cupy has no 8-bit float dtype, "
                       f"so float8 tensors stay on the cpu (convert to float16/float32 before moving to {where})")
