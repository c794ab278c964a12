"""Composites over inv, solve, svd and the matrix norms: linalg.tensorinv, linalg.tensorsolve, linalg.cond.
Their gradients come from the ops they are built of."""
from __future__ import annotations

import math
from typing import Any

from disttorch._tensor import Tensor

from .._register import write_out
from ..compare import masked_fill
from ..shape import movedim
from ._common import _check_float, _const, _reshape
from .decompositions import _svd
from .inverses import inv, solve
from .lu import _getrf

__all__: list[str] = []


def _prod(shape: Any) -> int:
    return math.prod(int(s) for s in shape)


def tensorinv(A: Tensor, ind: int = 2, *, out: Tensor | None = None) -> Tensor:
    """The inverse of A read as a matrix of its first ``ind`` dims by the rest (shape: rest + first)."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A._data.shape)
    rows, cols = _prod(shape[:ind]), _prod(shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    _check_float(A, "linalg.inv")
    result = inv(_reshape(A, (rows, cols)), fname="inv")
    return write_out(_reshape(result, shape[ind:] + shape[:ind]), out)


def tensorsolve(A: Tensor, B: Tensor, dims: Any = None, *, out: Tensor | None = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B; ``dims`` of A are moved to the end first."""
    if dims is not None:
        dims = tuple(dims)
        nd = A._data.ndim
        A = movedim(A, dims, tuple(range(nd - len(dims), nd)))
    shape = tuple(A._data.shape)
    rest = shape[B._data.ndim:]
    size = _prod(rest)
    if size != _prod(B._data.shape):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {size} != {_prod(B._data.shape)}")
    x = solve(_reshape(A, (size, size)), _reshape(B, (size,)))
    return write_out(_reshape(x, rest), out)


_NORM_ORDERS = ("fro", "nuc", math.inf, -math.inf, 1, -1)


def _ord_name(p: Any) -> str:
    if isinstance(p, str):
        return p
    if math.isinf(p):
        return "inf" if p > 0 else "-inf"
    return str(int(p)) if float(p).is_integer() else str(p)


def cond(A: Tensor, p: Any = None, *, out: Tensor | None = None) -> Tensor:
    """The condition number: s_max / s_min (p None or 2; -2 the reciprocal), sum(s) sum(1 / s) for 'nuc', else
    norm(A, p) norm(A^{-1}, p), infinite for a singular matrix (as PyTorch computes each)."""
    from disttorch.linalg import matrix_norm  # the public module imports this package
    if not (p is None or p in (2, -2) or p in _NORM_ORDERS):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        s = _svd(A, False, "linalg.svd")[1]
        big, small = s[..., 0], s[..., -1]
        return write_out(small / big if p == -2 else big / small, out)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"linalg.cond(ord={_ord_name(p)}): A must be batches of square matrices, but they are {m} "
                           f"by {n} matrices")
    if p == "nuc":  # sum(s) * sum(1 / s): NaN for a zero matrix, finite (huge) for a rounded-singular one
        s = _svd(A, False, "linalg.svd")[1]
        return write_out(s.sum(-1) * (1 / s).sum(-1), out)
    _check_float(A, "linalg.inv")
    xp = A._xp
    singular = _getrf(A._data)[2] > 0
    if bool(singular.any()):
        keep = _const((~singular)[..., None, None].astype(A._data.real.dtype))
        eye = _const(xp.eye(n, dtype=A._data.dtype) * singular[..., None, None])
        A_inv = inv(A * keep + eye)
    else:
        A_inv = inv(A)
    result = matrix_norm(A, p) * matrix_norm(A_inv, p)
    if bool(singular.any()):
        result = masked_fill(result, _const(singular), math.inf)
    return write_out(result, out)
