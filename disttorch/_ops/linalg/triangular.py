"""Triangular solves: torch.linalg.solve_triangular and the older torch.triangular_solve.

The forward is batched substitution written once in ``xp`` (one row per step, every batch and right-hand
side at once); it reads only the triangle it is told to, so a packed LU factor can be passed as it is.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch._warn import warn_user
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, type_word, write_out
from .._util import cast, sum_to
from ..shape.diagonal import tril, triu
from ._common import _broadcast_shapes, _mH, _mT, _shape_x
from .products import Matmul

__all__ = ["triangular_solve"]


def _substitute(a: Any, b: Any, upper: bool, unit: bool) -> Any:
    """X with T X = B, T the upper (or lower) triangle of ``a`` (its diagonal taken as ones when ``unit``).
    ``a`` is (..., n, n), ``b`` (..., n, k); their batch dimensions broadcast. Zeros on the diagonal give
    infinities and NaNs, as LAPACK's trtrs does, without a warning."""
    xp = array_module(a)
    batch = _broadcast_shapes(a.shape[:-2], b.shape[:-2])
    n = a.shape[-1]
    x = xp.empty(batch + b.shape[-2:], dtype=np.result_type(a.dtype, b.dtype))
    x[...] = b
    if n == 0 or b.shape[-1] == 0:
        return x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            rest = slice(i + 1, n) if upper else slice(0, i)
            if (n - i - 1 if upper else i) > 0:
                x[..., i, :] -= (a[..., i:i + 1, rest] @ x[..., rest, :])[..., 0, :]
            if not unit:
                x[..., i, :] /= a[..., i, i:i + 1]
    return x


def _check_solvable(A: Tensor, fname: str) -> None:
    if A._data.dtype.kind not in "fc":
        raise NotImplementedError(f'"triangular_solve_{A.device.type}" not implemented for \'{type_word(A.dtype)}\'')


def _tri_mask(g: Tensor, upper: bool, unit: bool) -> Tensor:
    """The part of a gradient that reaches the triangle the solve read."""
    k = int(unit)
    return triu(g, k) if upper else tril(g, -k)


def _tri_grads(A: Tensor, X: Tensor, grad: Tensor, upper: bool, left: bool, unit: bool, need_a: bool
               ) -> tuple[Tensor, Tensor | None]:
    """Gradients of X = T^{-1} B (``left``) or X = B T^{-1}: gB solves with T^H; gA = -gB X^H (or -X^H gB),
    restricted to the triangle."""
    gb = LinalgSolveTriangular.apply(_mH(A), grad, upper=not upper, left=left, unit=unit)
    if not need_a:
        return gb, None
    ga = -Matmul.apply(gb, _mH(X)) if left else -Matmul.apply(_mH(X), gb)
    return gb, _tri_mask(ga, upper, unit)


class LinalgSolveTriangular(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        if self.left:
            return _substitute(a, b, self.upper, self.unit)
        # X A = B  <=>  A^T X^T = B^T
        return _substitute(a.swapaxes(-1, -2), b.swapaxes(-1, -2), not self.upper, self.unit).swapaxes(-1, -2)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        na, nb = self.next_edges
        gb, ga = _tri_grads(a, self.saved_output, grad, self.upper, self.left, self.unit, na is not None)
        return (sum_to(ga, a._data.shape) if ga is not None else None,
                sum_to(gb, b._data.shape) if nb is not None else None)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Tensor | None = None) -> Tensor:
    """torch.linalg.solve_triangular: X with A X = B (or X A = B), A upper or lower triangular. The result has
    A's dtype (B is cast to it, as PyTorch does)."""
    fname = "linalg.solve_triangular"
    for name, t in (("A", A), ("B", B)):
        if t._data.ndim < 2:
            raise RuntimeError(f"{fname}: The input tensor {name} must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are {m} by {n} matrices")
    sa, sb = A._data.shape, B._data.shape
    if (left and sb[-2] != n) or (not left and sb[-1] != n):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} ({_shape_x(sa[-2:])} and "
                           f"{_shape_x(sb[-2:])})")
    _broadcast_shapes(sb[:-2], sa[:-2])
    _check_solvable(A, fname)
    if B._data.dtype != A._data.dtype:
        B = cast(B, D.from_np[A._data.dtype])
    return write_out(LinalgSolveTriangular.apply(A, B, upper=bool(upper), left=bool(left),
                                                 unit=bool(unitriangular)), out)


class TriangularSolve(Op):
    """torch.triangular_solve(b, A): (solution of op(A) X = b, A copied to the broadcast batch shape)."""

    save_inputs = True
    save_output = True

    def forward(self, b: Any, a: Any) -> Any:
        xp = array_module(a)
        t = a.swapaxes(-1, -2) if self.transpose else a
        x = _substitute(t, b, self.upper != self.transpose, self.unit)
        clone = xp.empty(x.shape[:-2] + a.shape[-2:], dtype=a.dtype)
        clone[...] = a
        return x, clone

    def backward(self, gx: Tensor, gclone: Tensor) -> tuple:
        b, a = self.saved_inputs
        nb, na = self.next_edges
        t = _mT(a) if self.transpose else a
        gb, gt = _tri_grads(t, self.saved_output, gx, self.upper != self.transpose, True, self.unit, na is not None)
        ga = None
        if na is not None:
            ga = (_mT(gt) if self.transpose else gt) + gclone
            ga = sum_to(ga, a._data.shape)
        return (sum_to(gb, b._data.shape) if nb is not None else None), ga


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out: Any = None) -> Any:
    """torch.triangular_solve: solves A X = b (A^T X = b when ``transpose``) for triangular A."""
    warn_user("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be removed "
              "in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments reversed and does not "
              "return a copy of one of the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be replaced "
              "with\nX = torch.linalg.solve_triangular(A, B).")
    b = input
    if b._data.ndim < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, but it has "
                           f"{b._data.ndim} dimensions instead")
    if A._data.ndim < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected A to have at least 2 dimensions, but it has "
                           f"{A._data.ndim} dimensions instead")
    if b._data.dtype != A._data.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {type_word(b.dtype)} and "
                           f"A of type {type_word(A.dtype)} instead.")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"A must be batches of square matrices, but they are {m} by {n} matrices")
    if b._data.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for triangular_solve: each A matrix is {m} by {n} but each b "
                           f"matrix is {b._data.shape[-2]} by {b._data.shape[-1]}")
    _broadcast_shapes(b._data.shape[:-2], A._data.shape[:-2])
    _check_solvable(A, "triangular_solve")
    x, clone = TriangularSolve.apply(b, A, upper=bool(upper), transpose=bool(transpose), unit=bool(unitriangular))
    if out is not None:
        write_out(x, out[0])
        write_out(clone, out[1])
        return return_types.triangular_solve((out[0], out[1]))
    return return_types.triangular_solve((x, clone))


methods({"triangular_solve": triangular_solve})
