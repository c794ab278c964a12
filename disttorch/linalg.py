"""torch.linalg: norms, determinants, inverses, solvers and decompositions (the ops live in disttorch._ops.linalg)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._ops import linalg as _L
from disttorch._ops._register import write_out
from disttorch._ops._util import cast, wrap_dims
from disttorch._ops.reduce.norms import ord_text as _ord_text
from disttorch._ops.reduce.norms import vector_norm
from disttorch._ops.shape import permute
from disttorch._ops.unary import conj
from disttorch._tensor import Tensor

from ._ops.linalg import (  # noqa: F401
    LinAlgError,
    cond,
    householder_product,  # noqa: F401
    inv,
    lstsq,
    matmul,
    matrix_exp,
    multi_dot,
    pinv,
    solve,
    solve_triangular,
    tensorinv,
    tensorsolve,
)
from ._ops.linalg import linalg_eig as eig
from ._ops.linalg import linalg_eigvals as eigvals
from ._ops.linalg import linalg_lu as lu
from ._ops.linalg import linalg_lu_factor as lu_factor
from ._ops.linalg import linalg_lu_factor_ex as lu_factor_ex
from ._ops.linalg import linalg_lu_solve as lu_solve
from ._ops.linalg.ldl import ldl_factor, ldl_factor_ex, ldl_solve

__all__ = ["LinAlgError", "matmul", "vecdot", "multi_dot", "cross", "det", "slogdet", "inv", "inv_ex", "solve",
           "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eigh", "eigvalsh", "pinv", "matrix_rank",
           "matrix_power", "vector_norm", "matrix_norm", "norm", "diagonal", "vander", "matrix_exp",
           "lu_factor", "lu_factor_ex", "lu", "lu_solve", "solve_triangular", "lstsq", "tensorinv", "tensorsolve",
           "cond", "eig", "eigvals", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]

_const = Tensor._from_array
_INF = math.inf

_solve_ex_result = return_types._make("linalg_solve_ex", "result", "info")


# -- products -----------------------------------------------------------------------------------------
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """sum(conj(x) * y) over ``dim`` (inputs broadcast)."""
    prod = conj(x) * y
    return write_out(_sum_dim(prod, wrap_dims(dim, prod._data.ndim)[0]), out)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    return write_out(_L._cross(input, other, dim), out)


def matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    return write_out(_L.matrix_power(A, n), out)


# -- determinants, inverses, solvers ------------------------------------------------------------------
def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _L.det(A, out=out)


def slogdet(A: Tensor, *, out: Any = None) -> Any:
    return return_types.linalg_slogdet(_L._slogdet(A, "linalg.slogdet"))


def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    result = _ex(lambda a: inv(a, fname="linalg.inv_ex"), _lu_info, check_errors, A)
    return return_types.linalg_inv_ex(result)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    return _solve_ex_result(_ex(lambda a, b: solve(a, b, left=left), _lu_info, check_errors, A, B))


def _info(A: Tensor) -> Tensor:
    """The ``info`` of the *_ex functions where every matrix succeeded: zeros."""
    return _const(A._xp.zeros(A._data.shape[:-2], dtype=np.int32))


def _ex(fn: Any, failed_info: Any, check_errors: bool, A: Tensor, *others: Tensor) -> tuple[Tensor, Tensor]:
    """``(fn(A, *others), info)`` for the *_ex functions. When a matrix fails and ``check_errors`` is False,
    ``fn`` runs matrix by matrix: a failed one gives nan, and ``info`` holds each matrix of A's LAPACK-style
    code (as PyTorch, no error)."""
    try:
        return fn(A, *others), _info(A)
    except LinAlgError:
        if check_errors or A.ndim < 2:
            raise
    from disttorch._ops.shape import stack

    # the batch every input broadcasts to; a right-hand side of A's batch less one dim is a batch of vectors,
    # a 1-d one the same vector for every matrix
    batched = [o.ndim >= 2 and o.ndim >= A.ndim - 1 for o in others]
    core = [o.shape[-2:] if o.ndim >= A.ndim else o.shape[-1:] for o in others]
    batch = tuple(np.broadcast_shapes(tuple(A.shape[:-2]),
                                      *[tuple(o.shape[:o.ndim - len(c)]) for o, c, b in zip(others, core, batched)
                                        if b]))
    count = math.prod(batch)
    mats = A.expand(*batch, *A.shape[-2:]).reshape(count, *A.shape[-2:])
    rhs = [o.expand(*batch, *c).reshape(count, *c) if b else o for o, c, b in zip(others, core, batched)]
    results = []
    for k in range(count):
        try:
            results.append(fn(mats[k], *(r[k] if b else r for r, b in zip(rhs, batched))))
        except LinAlgError:
            results.append(None)
    like = next((r for r in results if r is not None), None)
    if like is None:  # every matrix failed: the result's shape from a regular stand-in
        eye = _const(A._xp.eye(A.shape[-1], dtype=A._data.dtype))
        like = fn(eye, *(r[0] if b else r for r, b in zip(rhs, batched)))
    out = stack([r if r is not None else like.detach() * float("nan") for r in results])
    # info is A's own (its batch, not the broadcast one): 0 for each regular matrix
    infos = [failed_info(a) for a in A.reshape(-1, *A.shape[-2:])]
    info = _const(A._xp.asarray(np.array(infos, dtype=np.int32).reshape(tuple(A.shape[:-2]))))
    return out.reshape(*batch, *like.shape), info


def _lu_info(a: Tensor) -> int:
    """LAPACK getrf's info: the 1-based index of the first zero pivot."""
    return int(lu_factor_ex(a.detach()).info)


def _cholesky_info(a: Tensor) -> int:
    """LAPACK potrf's info: the order of the first leading minor that is not positive definite."""
    m = np.asarray(a.detach().cpu().numpy(), dtype=np.float64)
    n = m.shape[-1]
    low = np.zeros_like(m)
    for j in range(n):
        d = m[j, j] - low[j, :j] @ low[j, :j].conj()
        if not (np.real(d) > 0):
            return j + 1
        low[j, j] = np.sqrt(np.real(d))
        low[j + 1:, j] = (m[j + 1:, j] - low[j + 1:, :j] @ low[j, :j].conj()) / low[j, j]
    return 0


def cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    return _L.cholesky(A, upper, out=out, fname="linalg.cholesky")


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    result = _ex(lambda a: _L.cholesky(a, upper, fname="linalg.cholesky_ex"), _cholesky_info, check_errors, A)
    return return_types.linalg_cholesky_ex(result)


# -- decompositions ----------------------------------------------------------------------------------
def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    return return_types.linalg_qr(_L._qr(A, mode))


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None) -> Any:
    return return_types.linalg_svd(_L._svd(A, full_matrices, "linalg.svd"))


def svdvals(A: Tensor, *, driver: str | None = None, out: Tensor | None = None) -> Tensor:
    return write_out(_L._svd(A, False, "linalg.svdvals")[1], out)


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:
    return return_types.linalg_eigh(_L._eigh(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    return write_out(_L._eigh(A, UPLO)[0], out)


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
                tol: Any = None, out: Tensor | None = None) -> Tensor:
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    _L._check_float(A, "linalg.matrix_rank")
    if tol is not None:
        atol, rtol = tol, 0.0
    a = A._data
    xp = A._xp
    s = xp.abs(xp.linalg.eigvalsh(a)) if hermitian else xp.linalg.svd(a, compute_uv=False)
    cut = _L._tolerance(s, a.shape, a.real.dtype, atol, rtol)
    return write_out(_const((s > cut).sum(axis=-1).astype(np.int64)), out)


# -- norms (vector_norm is the reductions' one, shared with torch.norm) ------------------------------
def _sum_dim(t: Tensor, d: int) -> Tensor:
    nd = t._data.ndim
    letters = _L._LETTERS[:nd]
    return _L.Einsum.apply(t, terms=[letters], out=letters[:d] + letters[d + 1:], optimize=False,
                           label="SumBackward1")


def _extreme_last(t: Tensor, largest: bool) -> Tensor:
    """max (or min) over the last dim, with amax's gradient: shared evenly among ties."""
    xp = t._xp
    data = t._data
    best = data.max(axis=-1, keepdims=True) if largest else data.min(axis=-1, keepdims=True)
    mask = data == best
    weights = (mask / mask.sum(axis=-1, keepdims=True)).astype(data.dtype)
    nd = data.ndim
    letters = _L._LETTERS[:nd]
    return _L.Einsum.apply(t, _const(xp.asarray(weights)), terms=[letters, letters], out=letters[:-1],
                           optimize=False, label="AmaxBackward0" if largest else "AminBackward0")


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None,
                out: Tensor | None = None) -> Tensor:
    """Frobenius, nuclear, spectral (2, -2) or max-row/column-sum (inf, 1 and negatives) norms."""
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = cast(A, D.to_dtype(dtype))
    _L._check_float(A, "linalg.matrix_norm")
    nd = A._data.ndim
    if len(tuple(dim)) != 2:
        raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got " + " ".join(map(str, dim)))
    d0, d1 = wrap_dims(tuple(dim), nd)
    if ord == "fro":
        return write_out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if isinstance(ord, str) and ord != "nuc":
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if not isinstance(ord, str) and abs(ord) not in (1, 2, _INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {_ord_text(ord)} not supported.")
    order = [k for k in range(nd) if k not in (d0, d1)] + [d0, d1]
    M = A if order == list(range(nd)) else permute(A, order)
    if ord == "nuc" or abs(ord) == 2:
        s = _L._svd(M, False, "linalg.matrix_norm")[1]
        if ord == "nuc":
            result = _sum_dim(s, s._data.ndim - 1)
        else:
            result = _extreme_last(s, ord > 0)
    else:
        a = M.abs()
        # ord 1: largest column sum (sum over rows); ord inf: largest row sum
        sums = _sum_dim(a, nd - 2) if abs(ord) == 1 else _sum_dim(a, nd - 1)
        result = _extreme_last(sums, ord > 0)
    if keepdim:
        shape = list(result._data.shape)
        for k in sorted((d0, d1)):
            shape.insert(k, 1)
        result = _L._reshape(result, shape)
    if result._data.dtype != A._data.real.dtype:
        result = cast(result, D.from_np[A._data.real.dtype])
    return write_out(result, out)


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
         out: Tensor | None = None) -> Tensor:
    """A vector norm (1 dim, or a flattened tensor) or a matrix norm (2 dims)."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    elif ord is not None:
        if A._data.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A._data.ndim}D.")
        dim = tuple(range(A._data.ndim))
    if ord is None:
        result = vector_norm(A, 2, dim, keepdim, dtype=dtype)
    elif len(dim) == 2:
        result = matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    else:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.vector_norm: Expected a number for ord, got {ord}")
        result = vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return write_out(result, out)


# -- small composites --------------------------------------------------------------------------------
def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.diagonal with the last two dimensions as the default."""
    from disttorch._ops.shape.diagonal import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Columns x**0, x**1, ..., x**(N-1) along a new last dimension."""
    n = (x._data.shape[-1] if x._data.ndim else 0) if N is None else N
    if x._data.ndim < 1 or n <= 1:
        raise RuntimeError("N must be greater than 1.")
    from disttorch._ops.shape import unsqueeze
    powers = _const(x._xp.arange(n)).to(x.dtype)
    return unsqueeze(x, -1) ** powers
