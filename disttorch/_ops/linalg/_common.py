"""What the linear-algebra ops share: argument checks and PyTorch's error texts, and the few Tensor-level
helpers their backward formulas are written with (conjugate transpose, reshape)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import array_module

from .._register import type_word
from ..shape import reshape, transpose
from ..unary import conj

_BOOL = np.dtype(bool)
_const = Tensor._from_array

# the C++ type names PyTorch's matmul kernels print in dtype errors
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


class LinAlgError(RuntimeError):
    """Raised when a matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


def _device_failed(result: Any, *inputs: Any) -> bool:
    """Whether a device library's inv/solve (cupy: no exception by default, ``cupyx.errstate(linalg='ignore')``)
    failed on a singular matrix: finite inputs gave a result that is not finite. One host synchronisation, as
    PyTorch's own check on cuda; host arrays never get here (numpy raises)."""
    xp = array_module(result)
    bad = ~xp.isfinite(result).all()
    for a in inputs:
        bad &= xp.isfinite(a).all()
    return bool(bad)


def _device_not_pd(low: Any) -> bool:
    """Whether a device library's Cholesky factor ``low`` is of a matrix that is not positive-definite: a
    factorisation that completed has a positive diagonal; a failed one (LAPACK/cuSOLVER potrf stop at the failing
    minor, the stand-in fills nan) has not. One host synchronisation."""
    xp = array_module(low)
    d = xp.diagonal(low, axis1=-2, axis2=-1).real
    return bool(~(d > 0).all())


def _cpp(t: Tensor) -> str:
    return _CPP_NAMES.get(t.dtype.name, t.dtype.name)


def _sname(t: Tensor) -> str:
    return type_word(t.dtype)


def _shape_x(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


def _check_tensor(fname: str, argname: str, pos: int, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")


def _broadcast_shapes(sa: Sequence[int], sb: Sequence[int]) -> tuple[int, ...]:
    """The broadcast shape of two shapes, with PyTorch's error when they do not broadcast."""
    n = max(len(sa), len(sb))
    sa = (1,) * (n - len(sa)) + tuple(sa)
    sb = (1,) * (n - len(sb)) + tuple(sb)
    out = []
    for i, (x, y) in enumerate(zip(sa, sb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _check_expand(shape: Sequence[int], target: Sequence[int]) -> None:
    """PyTorch's error for an ``input`` that does not broadcast to the product's shape."""
    shape, target = tuple(shape), tuple(target)
    lead = len(target) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == t for s, t in zip(shape, target[lead:]))
    if ok:
        return
    if lead < 0:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(target)}): the number of sizes "
                           "provided must be greater or equal to the number of dimensions in the tensor")
    for i in range(len(shape) - 1, -1, -1):
        s, t = shape[i], target[lead + i]
        if s != 1 and s != t:
            raise RuntimeError(f"The expanded size of the tensor ({t}) must match the existing size ({s}) at "
                               f"non-singleton dimension {lead + i}.  Target sizes: {list(target)}.  Tensor "
                               f"sizes: {list(shape)}")


def _check_square(A: Tensor, fname: str) -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are {m} by {n} matrices")


def _check_float(A: Tensor, fname: str) -> None:
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got {_sname(A)}")


# -- Tensor-level helpers of the backward formulas ---------------------------------------------------------
def _mT(t: Tensor) -> Tensor:
    """Swap the last two dimensions."""
    return transpose(t, -2, -1)


def _mH(t: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions."""
    return transpose(conj(t), -2, -1)


def _reshape(t: Tensor, shape: Sequence[int]) -> Tensor:
    """``reshape``, skipped when the shape is already right (no extra node in the graph)."""
    shape = tuple(shape)
    return t if t._data.shape == shape else reshape(t, shape)


def _diag_embed(v: Tensor) -> Tensor:
    """Square matrices with ``v``'s last dimension on their diagonals."""
    n = v._data.shape[-1]
    return _reshape(v, v._data.shape[:-1] + (1, n)) * _const(array_module(v._data).eye(n, dtype=v._data.dtype))
