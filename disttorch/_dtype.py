"""dtypes and PyTorch's type promotion (categories bool < integer < float < complex)."""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

BOOL, INT, FLOAT, COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type. Prints as PyTorch does (``torch.float32``) so outputs compare equal."""

    __slots__ = ("name", "_np", "itemsize", "is_floating_point", "is_complex", "is_signed", "category")

    def __init__(self, name: str, np_dtype: Any, category: int, signed: bool, itemsize: int = 0) -> None:
        self.name = name
        self._np = np.dtype(np_dtype) if np_dtype is not None else None  # None: an ml_dtypes type, loaded lazily
        self.itemsize = self._np.itemsize if self._np is not None else itemsize
        self.category = category
        self.is_floating_point = category == FLOAT
        self.is_complex = category == COMPLEX
        self.is_signed = signed

    @property
    def np(self) -> np.dtype:
        if self._np is None:
            self._np = _ml_dtypes_numpy(self.name)
            from_np[self._np] = self
        return self._np

    def to_real(self) -> dtype:
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> dtype:
        return {float32: complex64, float64: complex128, float16: complex64, bfloat16: complex64}.get(self, self)

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self) -> str:
        return "bool_" if self is bool_ else self.name  # pickles as the module-level singleton


def _ml_dtypes_numpy(name: str) -> np.dtype:
    try:
        import ml_dtypes
    except ImportError as exc:
        raise RuntimeError(f"{name} on numpy needs ml_dtypes: pip install ml_dtypes") from exc
    return np.dtype(getattr(ml_dtypes, name))


bool_ = dtype("bool", np.bool_, BOOL, False)
uint8 = dtype("uint8", np.uint8, INT, False)
uint16 = dtype("uint16", np.uint16, INT, False)
uint32 = dtype("uint32", np.uint32, INT, False)
uint64 = dtype("uint64", np.uint64, INT, False)
int8 = dtype("int8", np.int8, INT, True)
int16 = dtype("int16", np.int16, INT, True)
int32 = dtype("int32", np.int32, INT, True)
int64 = dtype("int64", np.int64, INT, True)
float16 = dtype("float16", np.float16, FLOAT, True)
bfloat16 = dtype("bfloat16", None, FLOAT, True, 2)
float32 = dtype("float32", np.float32, FLOAT, True)
float64 = dtype("float64", np.float64, FLOAT, True)
complex64 = dtype("complex64", np.complex64, COMPLEX, True)
complex128 = dtype("complex128", np.complex128, COMPLEX, True)
# 8-bit floats (ml_dtypes' types of the same names): storage, conversions and a few ops, as PyTorch on CPU
float8_e4m3fn = dtype("float8_e4m3fn", None, FLOAT, True, 1)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", None, FLOAT, True, 1)
float8_e5m2 = dtype("float8_e5m2", None, FLOAT, True, 1)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", None, FLOAT, True, 1)
float8_e8m0fnu = dtype("float8_e8m0fnu", None, FLOAT, False, 1)  # exponent only: powers of two, unsigned

FLOAT8 = (float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu)
LAZY = (bfloat16, *FLOAT8)  # their numpy dtypes come from ml_dtypes, imported on first use
ALL = (bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, bfloat16, float32, float64,
       complex64, complex128, *FLOAT8)

class _FromNumpy(dict):
    """numpy dtype -> dtype. The ml_dtypes types (bfloat16, float8_*) join on the first miss after ml_dtypes
    has been imported (by ``bfloat16.np`` or by the user): importing it eagerly would cost most of
    ``import disttorch``."""

    def _lazy_joins(self, key: Any) -> bool:
        ml = sys.modules.get("ml_dtypes")
        joined = False
        for d in LAZY:
            if d._np is None and ml is not None:
                d._np = np.dtype(getattr(ml, d.name))
            if d._np is not None and d._np not in self.keys():
                self[d._np] = d
                joined = True
        return joined and dict.__contains__(self, key)

    def __missing__(self, key: Any) -> dtype:
        if self._lazy_joins(key):
            return self[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or self._lazy_joins(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default


from_np: dict[Any, dtype] = _FromNumpy({d._np: d for d in ALL if d._np is not None})

_default = float32


def get_default_dtype() -> dtype:
    return _default


def set_default_dtype(d: dtype) -> None:
    global _default
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default = d


def to_dtype(d: Any) -> dtype:
    """Accept a disttorch dtype, a numpy dtype or type, or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return d
    if d is float:  # PyTorch maps the Python types to the 64-bit dtypes, whatever the default
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return complex128
    try:
        return from_np[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"not a dtype disttorch understands: {d!r}") from None


_BIG_UNSIGNED = frozenset((uint16, uint32, uint64))
# c10's ScalarType names, used in PyTorch's promotion error messages
_SCALAR_NAMES = {
    bool_: "Bool", uint8: "Byte", uint16: "UInt16", uint32: "UInt32", uint64: "UInt64", int8: "Char",
    int16: "Short", int32: "Int", int64: "Long", float16: "Half", bfloat16: "BFloat16", float32: "Float",
    float64: "Double", complex64: "ComplexFloat", complex128: "ComplexDouble", float8_e4m3fn: "Float8_e4m3fn",
    float8_e4m3fnuz: "Float8_e4m3fnuz", float8_e5m2: "Float8_e5m2", float8_e5m2fnuz: "Float8_e5m2fnuz",
    float8_e8m0fnu: "Float8_e8m0fnu",
}
_FLOAT8_SET = frozenset(FLOAT8)
_promote_cache: dict[tuple[dtype, dtype], dtype] = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types: the smallest dtype both ``a`` and ``b`` convert to without loss of category."""
    if a is b:
        return a
    key = (a, b)
    hit = _promote_cache.get(key)
    if hit is not None:
        return hit
    if a in _FLOAT8_SET or b in _FLOAT8_SET:
        raise RuntimeError(f"Promotion for Float8 Types is not supported, attempted to promote {_SCALAR_NAMES[a]} "
                           f"and {_SCALAR_NAMES[b]}")
    if (a in _BIG_UNSIGNED or b in _BIG_UNSIGNED) and a.category != FLOAT and b.category != FLOAT:
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
                           f"{_SCALAR_NAMES[a]} and {_SCALAR_NAMES[b]}")
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == COMPLEX and lo.category == FLOAT and lo.itemsize > hi.itemsize // 2:
            out = complex128
        else:
            out = hi
    elif a.category == FLOAT:
        if {a, b} == {float16, bfloat16}:
            out = float32
        else:
            out = a if a.itemsize >= b.itemsize else b
    elif a.category == INT:
        out = from_np[np.promote_types(a.np, b.np)]
    else:
        out = a if a.itemsize >= b.itemsize else b
    _promote_cache[key] = _promote_cache[(b, a)] = out
    return out


def scalar_dtype(value: Any) -> dtype:
    """The dtype PyTorch gives a Python scalar standing alone (bool, int64, default float, complex)."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _default
    if isinstance(value, complex):
        return complex128 if _default is float64 else complex64
    if isinstance(value, np.generic):
        return from_np[value.dtype]
    raise TypeError(f"not a scalar: {value!r}")


def result_type(*operands: Any) -> dtype:
    """torch.result_type over tensors and Python scalars.

    Dimensioned tensors win within their category; 0-dim tensors and then Python scalars only
    matter when they bring a higher category.
    """
    dim_t = zero_t = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim > 0:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        else:
            w = scalar_dtype(x)
            wrapped = w if wrapped is None else promote_types(wrapped, w)
    return _pick(dim_t, _pick(zero_t, wrapped))


def _pick(strong: dtype | None, weak: dtype | None) -> dtype | None:
    """Combine a stronger participant group with a weaker one the way PyTorch does."""
    if strong is None:
        return weak
    if weak is None or weak.category <= strong.category:
        if strong.category == BOOL and weak is not None:
            return promote_types(strong, weak)
        return strong
    # the weaker group brings a higher category
    if weak.category == COMPLEX and strong.category == FLOAT:
        return strong.to_complex()
    if strong.category == BOOL:
        return promote_types(strong, weak)
    return weak
