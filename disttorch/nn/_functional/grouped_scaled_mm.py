"""``grouped_mm`` (one matrix product per group, for mixture-of-experts layers), ``scaled_mm`` (a product of
float8 matrices with decoding scales) and their enums ``ScalingType`` / ``SwizzleType``, as PyTorch 2.13 runs
them on CPU.

``grouped_mm`` takes float32, bfloat16 or float16 operands (2-D or 3-D) whose row or column stride is a
multiple of 16 bytes, and ``offs`` (int32 group ends) wherever an operand is 2-D; it is differentiable (the
groups are sliced matrix products). ``scaled_mm`` computes ``(a * scale_a) @ (b * scale_b) + bias`` in float32
for float8 ``a``/``b`` with tensor-wise (one float32 number) or row-wise (``(M, 1)`` and ``(1, N)`` float32)
scales, rounded once to ``output_dtype``; the block-wise recipes, like ``scaled_grouped_mm``, have no CPU
kernel in PyTorch, and raise as PyTorch does there.
"""
from __future__ import annotations

import enum
from typing import Any, Sequence

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends.float8 import to_float8

__all__ = ["ScalingType", "SwizzleType", "grouped_mm", "scaled_mm", "scaled_grouped_mm"]


class _ScalingType(enum.Enum):
    """How a scaled_mm operand was scaled (PyTorch's names and values)."""

    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5

    def __int__(self) -> int:
        return self.value

    __index__ = __int__


class _SwizzleType(enum.Enum):
    """The layout of a scaled_mm scale tensor (PyTorch's names and values)."""

    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1

    def __int__(self) -> int:
        return self.value

    __index__ = __int__


_ScalingType.__module__ = _SwizzleType.__module__ = "torch.nn.functional"
ScalingType, SwizzleType = _ScalingType, _SwizzleType

_GROUPED_DTYPES = ("float32", "bfloat16", "float16")
_GROUPED_WORDS = {"float64": "Double"}


# -- grouped_mm -------------------------------------------------------------------------------------------
def _check_strides(t: Tensor) -> None:
    """PyTorch's layout rule for grouped GEMM operands: row- or column-major last two dimensions with the
    other stride a multiple of 16 bytes."""
    item = t.element_size()
    s_row, s_col = t.stride()[-2], t.stride()[-1]
    if s_col == 1:
        ok = (s_row * item) % 16 == 0 and s_row >= t.shape[-1]
    elif s_row == 1:
        ok = (s_col * item) % 16 == 0 and s_col >= t.shape[-2]
    else:
        ok = False
    if not ok:
        raise RuntimeError("strides should be multiple of 16 bytes")


def _check_grouped(mat_a: Tensor, mat_b: Tensor, offs: Tensor | None, bias: Tensor | None,
                   out_dtype: Any) -> None:
    for name, t in (("mat_a", mat_a), ("mat_b", mat_b)):
        if t.dtype.name not in _GROUPED_DTYPES:
            word = D._SCALAR_NAMES.get(t.dtype, t.dtype.name)
            raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got {word}")
    if mat_a.ndim not in (2, 3):
        raise RuntimeError("mat_a has to be 2 or 3d")
    if mat_b.ndim not in (2, 3):
        raise RuntimeError("mat_b has to be 2 or 3d")
    if mat_a.dtype is not mat_b.dtype:
        raise RuntimeError("Expected mat_a and mat_b to have the same dtype")
    a_is_2d, b_is_2d = mat_a.ndim == 2, mat_b.ndim == 2
    if mat_a.shape[-1] != mat_b.shape[-2] and not (a_is_2d and b_is_2d):
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if a_is_2d and b_is_2d and mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if not a_is_2d and not b_is_2d and mat_a.shape[0] != mat_b.shape[0]:
        raise RuntimeError("batched dimension has to match")
    if (offs is not None) != (a_is_2d or b_is_2d):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d")
    if offs is not None:
        if offs.ndim != 1:
            raise RuntimeError("offs has to be 1D")
        if offs.dtype is not D.int32:
            raise RuntimeError("Offsets have to be int32")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and D.to_dtype(out_dtype) is not mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    _check_strides(mat_a)
    _check_strides(mat_b)


def grouped_mm(mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None, bias: Tensor | None = None,
               out_dtype: Any = None) -> Tensor:
    """One matrix product per group. Both 3-D: ``mat_a[g] @ mat_b[g]``. 2-D ``mat_a`` with 3-D ``mat_b``:
    the rows of group ``g`` (``offs[g-1]:offs[g]``) times ``mat_b[g]``; 3-D ``mat_a`` with 2-D ``mat_b``: the
    columns of group ``g`` of ``mat_b``; both 2-D: the contraction dimension split by ``offs``, giving
    ``(groups, M, N)``. Rows or columns past ``offs[-1]`` are zero in the result."""
    from disttorch._ops.creation import zeros
    from disttorch._ops.shape import cat, stack

    _check_grouped(mat_a, mat_b, offs, bias, out_dtype)
    if offs is None:
        return mat_a @ mat_b
    ends = [int(e) for e in offs.tolist()]
    starts = [0, *ends[:-1]]
    if mat_a.ndim == 2 and mat_b.ndim == 3:
        parts = [mat_a[s:e] @ mat_b[g] for g, (s, e) in enumerate(zip(starts, ends))]
        rest = mat_a.shape[0] - (ends[-1] if ends else 0)
        tail = [zeros(rest, mat_b.shape[-1], dtype=mat_a.dtype)] if rest > 0 else []
        return cat(parts + tail, 0)
    if mat_a.ndim == 3 and mat_b.ndim == 2:
        parts = [mat_a[g] @ mat_b[:, s:e] for g, (s, e) in enumerate(zip(starts, ends))]
        rest = mat_b.shape[1] - (ends[-1] if ends else 0)
        tail = [zeros(mat_a.shape[1], rest, dtype=mat_a.dtype)] if rest > 0 else []
        return cat(parts + tail, 1)
    return stack([mat_a[:, s:e] @ mat_b[s:e] for s, e in zip(starts, ends)], 0)


# -- scaled_mm --------------------------------------------------------------------------------------------
def _as_list(v: Any) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _recipe(r: Any) -> _ScalingType:
    return r if isinstance(r, _ScalingType) else _ScalingType(int(r))


def _scale_of(scale: Tensor, recipe: _ScalingType, name: str, rows: int, cols: int, row_wise_dim: int) -> Any:
    """The float32 array ``scale`` multiplies its operand with (checked as PyTorch checks it)."""
    if recipe is _ScalingType.TensorWise:
        if scale.numel() != 1:
            raise ValueError(f"{name} must have 1 Float element")
        return scale._data.reshape(()).astype(np.float32)
    want = [rows, 1] if row_wise_dim == 0 else [1, cols]
    got = [scale.shape[0], scale.shape[1]] if scale.ndim >= 2 else None
    if got is None:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(scale.ndim, 1)}, "
                         f"{max(scale.ndim, 1) - 1}], but got 1)")
    if got != want or scale.ndim != 2:
        raise ValueError(f"{name} must have shape {want}, got [{list(scale.shape)}]")
    return scale._data.astype(np.float32)


def scaled_mm(mat_a: Tensor, mat_b: Tensor, scale_a: Tensor | list[Tensor], scale_recipe_a: Any,
              scale_b: Tensor | list[Tensor], scale_recipe_b: Any, swizzle_a: Any = None, swizzle_b: Any = None,
              bias: Tensor | None = None, output_dtype: Any = D.bfloat16, contraction_dim: Sequence[int] = (),
              use_fast_accum: bool = False) -> Tensor:
    """``(mat_a * scale_a) @ (mat_b * scale_b) (+ bias)`` for float8 matrices, in float32, rounded once to
    ``output_dtype`` (None: ``mat_a``'s dtype). Tensor-wise scales are one float32 number per operand,
    row-wise scales ``(M, 1)`` for ``mat_a`` and ``(1, N)`` for ``mat_b``. ``swizzle_*``, ``contraction_dim``
    and ``use_fast_accum`` concern GPU kernels and change nothing here, as on PyTorch's CPU."""
    scales_a, recipes_a = _as_list(scale_a), [_recipe(r) for r in _as_list(scale_recipe_a)]
    scales_b, recipes_b = _as_list(scale_b), [_recipe(r) for r in _as_list(scale_recipe_b)]
    if mat_a.ndim != 2:
        raise ValueError("mat_a must be a matrix")
    if mat_b.ndim != 2:
        raise ValueError("mat_b must be a matrix")
    if mat_a.shape[1] != mat_b.shape[0]:
        raise ValueError(f"mat_a and mat_b shapes cannot be multiplied ({mat_a.shape[0]}x{mat_a.shape[1]} and "
                         f"{mat_b.shape[0]}x{mat_b.shape[1]})")
    simple = (_ScalingType.TensorWise, _ScalingType.RowWise)
    valid = (len(scales_a) == len(recipes_a) == 1 and len(scales_b) == len(recipes_b) == 1
             and recipes_a[0] is recipes_b[0] and recipes_a[0] in simple
             and mat_a.dtype in D.FLOAT8 and mat_b.dtype in D.FLOAT8
             and all(isinstance(s, Tensor) and s.dtype is D.float32 for s in (*scales_a, *scales_b)))
    if not valid:
        raise ValueError("Invalid scaling configuration.")
    m, n = mat_a.shape[0], mat_b.shape[1]
    sa = _scale_of(scales_a[0], recipes_a[0], "scale_a", m, n, 0)
    sb = _scale_of(scales_b[0], recipes_b[0], "scale_b", m, n, 1)
    if bias is not None and bias.numel() != n:
        raise ValueError(f"Bias must be size {n} but got {bias.numel()}")
    a = mat_a._data.astype(np.float32) * sa
    b = mat_b._data.astype(np.float32) * sb
    y = a @ b
    if bias is not None:
        y = y + bias._data.astype(np.float32).reshape(n)
    dt = mat_a.dtype if output_dtype is None else D.to_dtype(output_dtype)
    out = to_float8(y, dt.np) if dt in D.FLOAT8 else y.astype(dt.np)
    return Tensor._from_array(out)


def scaled_grouped_mm(mat_a: Tensor, mat_b: Tensor, scale_a: Tensor | list[Tensor], scale_recipe_a: Any,
                      scale_b: Tensor | list[Tensor], scale_recipe_b: Any, swizzle_a: Any = None,
                      swizzle_b: Any = None, bias: Tensor | None = None, offs: Tensor | None = None,
                      output_dtype: Any = D.bfloat16, contraction_dim: Sequence[int] = (),
                      use_fast_accum: bool = False) -> Tensor:
    """Grouped ``scaled_mm``. PyTorch has no CPU kernel for it (a CUDA-only operator): this raises its error."""
    raise NotImplementedError("Could not run 'aten::_scaled_grouped_mm_v2' with arguments from the 'CPU' backend. "
                              "This could be because the operator doesn't exist for this backend (scaled_grouped_mm "
                              "has CUDA kernels only).")
