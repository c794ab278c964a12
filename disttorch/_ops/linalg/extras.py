"""Small composites over existing ops (their gradients come from those ops): diagflat, dist, frobenius_norm,
nuclear_norm, cholesky_solve, cholesky_inverse, matrix_exp."""
from __future__ import annotations

import math
from typing import Any

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor

from .._register import methods, write_out
from ..reduce.norms import vector_norm
from ..shape.diagonal import diag_embed
from ..shape.views import flatten
from ._common import _mH
from .inverses import inv, solve
from .products import Matmul

__all__ = ["diagflat", "dist", "frobenius_norm", "nuclear_norm", "cholesky_solve", "cholesky_inverse", "matrix_exp"]


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input laid on diagonal ``offset`` of a square matrix."""
    return diag_embed(flatten(input), offset, 0, 1)


@autocast_op("dist")
def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast)."""
    return vector_norm(input - other, p)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The 2-norm over at most two dimensions (the legacy spelling of linalg.vector_norm)."""
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    return write_out(vector_norm(input, 2, dims, keepdim), out)


def nuclear_norm(input: Tensor, dim: Any = (-2, -1), keepdim: Any = False, *, out: Tensor | None = None) -> Tensor:
    """The sum of singular values over two dimensions (the legacy spelling of linalg.matrix_norm 'nuc')."""
    from disttorch.linalg import matrix_norm  # the public module imports this package
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim) overload
        dim, keepdim = (-2, -1), dim
    return write_out(matrix_norm(input, "nuc", tuple(dim), keepdim), out)


def _from_factor(L: Tensor, upper: bool) -> Tensor:
    """A = L L^H (or U^H U) rebuilt from its Cholesky factor, so that gradients reach the factor."""
    return Matmul.apply(_mH(L), L) if upper else Matmul.apply(L, _mH(L))


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """X with A X = B, where A is given by its Cholesky factor."""
    return write_out(solve(_from_factor(L, upper), B), out)


def cholesky_inverse(L: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The inverse of A, given by its Cholesky factor."""
    return write_out(inv(_from_factor(L, upper), fname="cholesky_inverse"), out)


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) by scaling and squaring around a Taylor series; built from matmuls, so it is differentiable."""
    from ._common import _check_square
    from .inverses import _EyeLike
    _check_square(A, "linalg.matrix_exp")
    xp = A._xp
    data = A._data
    # scale so that every matrix has 1-norm <= 1/2; degree 18 is then below float64 rounding
    norm = float(xp.abs(data).sum(-2).max()) if data.size else 0.0
    squarings = max(0, int(math.ceil(math.log2(norm / 0.5)))) if norm > 0.5 else 0
    X = A / (2.0 ** squarings)
    eye = _EyeLike.apply(A)
    result = eye
    for k in range(18, 0, -1):  # Horner: I + X/1 (I + X/2 (I + ...))
        result = eye + Matmul.apply(X, result) / k
    for _ in range(squarings):
        result = Matmul.apply(result, result)
    return result


methods({"diagflat": diagflat, "dist": dist, "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse,
         "matrix_exp": matrix_exp})
