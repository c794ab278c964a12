"""torch.linalg: norms, determinants, inverses, solvers and decompositions."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._ops import linalg as _L
from disttorch._ops._util import cast, self_xp, wrap_dims
from disttorch._ops.arith import _out
from disttorch._ops.reduce.norms import ord_text as _ord_text
from disttorch._ops.reduce.norms import vector_norm
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

from ._ops.linalg import LinAlgError, inv, matmul, solve

__all__ = ["LinAlgError", "matmul", "vecdot", "multi_dot", "cross", "det", "slogdet", "inv", "inv_ex", "solve",
           "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eigh", "eigvalsh", "pinv", "matrix_rank",
           "matrix_power", "vector_norm", "matrix_norm", "norm"]

_const = Tensor._from_array
_INF = math.inf

_solve_ex_result = return_types._make("linalg_solve_ex", "result", "info")


# -- products -----------------------------------------------------------------------------------------
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """sum(conj(x) * y) over ``dim`` (inputs broadcast)."""
    prod = _L._conj(x) * y
    nd = prod._data.ndim
    d = wrap_dims(dim, nd)[0]
    letters = _L._LETTERS[:nd]
    result = _L.Einsum.apply(prod, terms=[letters], out=letters[:d] + letters[d + 1:], optimize=False,
                             label="SumBackward1")
    return result if out is None else _out(result, out)


def multi_dot(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """A chain of matrix products; a 1-D first (last) operand is a row (column) vector."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        edge = i == 0 or i == len(tensors) - 1
        if nd != 2 and not (edge and nd == 1):
            if edge:
                which = "first" if i == 0 else "last"
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {nd}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    return result if out is None else _out(result, out)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    result = _L._cross(input, other, dim)
    return result if out is None else _out(result, out)


def matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    result = _L.matrix_power(A, n)
    return result if out is None else _out(result, out)


# -- determinants, inverses, solvers ------------------------------------------------------------------
def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _L.det(A, out=out)


def slogdet(A: Tensor, *, out: Any = None) -> Any:
    return return_types.linalg_slogdet(_L._slogdet(A, "linalg.slogdet"))


def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    result = inv(A)
    return return_types.linalg_inv_ex((result, _info(A)))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    return _solve_ex_result((solve(A, B, left=left), _info(A)))


def _info(A: Tensor) -> Tensor:
    xp = A._xp
    return _const(xp.zeros(A._data.shape[:-2], dtype=np.int32))


def cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    return _L.cholesky(A, upper, out=out)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    return return_types.linalg_cholesky_ex((_L.cholesky(A, upper), _info(A)))


# -- decompositions ----------------------------------------------------------------------------------
def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    return return_types.linalg_qr(_L._qr(A, mode))


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None) -> Any:
    return return_types.linalg_svd(_L._svd(A, full_matrices, "linalg.svd"))


def svdvals(A: Tensor, *, driver: str | None = None, out: Tensor | None = None) -> Tensor:
    result = _L._svd(A, False, "linalg.svdvals")[1]
    return result if out is None else _out(result, out)


class LinalgEigh(Op):
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, read from one triangle.
    Backward (first order): the Hermitian part of V (diag(gL) + F * (V^H gV)) V^H, F_ij = 1 / (L_j - L_i)."""

    def forward(self, a: Any) -> Any:
        w, v = self_xp(a).linalg.eigh(a, UPLO=self.uplo)
        self.w, self.v = w, v
        return w.astype(a.real.dtype, copy=False), v

    def backward(self, gw: Tensor, gv: Tensor) -> Tensor:
        xp = gw._xp
        w = self.w
        V = _const(self.v)
        inner = _L._diag_embed(gw)
        if bool(xp.any(gv._data)):
            e = w[..., None, :] - w[..., :, None]
            F = _const(xp.where(e == 0, 0, 1 / xp.where(e == 0, 1, e)).astype(w.dtype))
            inner = inner + _L.Matmul.apply(_L._mH(V), gv) * F
        g = _L.Matmul.apply(_L.Matmul.apply(V, inner), _L._mH(V))
        return (g + _L._mH(g)) * 0.5  # PyTorch returns the Hermitian part

    def name(self) -> str:
        return "LinalgEighBackward0"


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:
    _L._check_square(A, "linalg.eigh")
    _L._check_float(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return return_types.linalg_eigh(LinalgEigh.apply(A, uplo=UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    result = eigh(A, UPLO)[0]
    return result if out is None else _out(result, out)


def _tolerance(s: Any, shape: tuple, dtype: Any, atol: Any, rtol: Any) -> Any:
    """max(atol, rtol * largest singular value), PyTorch's default rtol being eps * max(m, n)."""
    xp = self_xp(s)
    if rtol is None:
        rtol = np.finfo(dtype).eps * max(shape[-2:]) if atol is None or _is_zero(atol) else 0.0
    atol = 0.0 if atol is None else atol
    atol = atol._data if isinstance(atol, Tensor) else atol
    rtol = rtol._data if isinstance(rtol, Tensor) else rtol
    smax = s.max(axis=-1) if s.shape[-1] else xp.zeros(s.shape[:-1], dtype=s.dtype)
    return xp.maximum(xp.asarray(atol)[..., None] if xp.ndim(atol) else atol,
                      (xp.asarray(rtol) * smax)[..., None])


def _is_zero(v: Any) -> bool:
    return not isinstance(v, Tensor) and v == 0


class LinalgPinv(Op):
    """Moore-Penrose inverse through an SVD; the derivative is the Golub-Pereyra formula."""

    save_inputs = True
    save_output = True

    def forward(self, a: Any) -> Any:
        xp = self_xp(a)
        if self.hermitian:
            w, v = xp.linalg.eigh(a)
            cut = _tolerance(xp.abs(w), a.shape, a.real.dtype, self.atol, self.rtol)
            w_inv = xp.where(xp.abs(w) > cut, 1 / xp.where(w == 0, 1, w), 0)
            return ((v * w_inv[..., None, :]) @ v.swapaxes(-1, -2).conj()).astype(a.dtype, copy=False)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        cut = _tolerance(s, a.shape, a.real.dtype, self.atol, self.rtol)
        s_inv = xp.where(s > cut, 1 / xp.where(s == 0, 1, s), 0)
        return ((vh.swapaxes(-1, -2).conj() * s_inv[..., None, :]) @ u.swapaxes(-1, -2).conj()).astype(
            a.dtype, copy=False)

    def backward(self, grad: Tensor) -> Tensor:
        (a,) = self.saved_inputs
        p = self.saved_output
        mm, mH = _L.Matmul.apply, _L._mH
        xp = a._xp
        m, n = a._data.shape[-2:]
        eye_m = _const(xp.eye(m, dtype=a._data.dtype))
        eye_n = _const(xp.eye(n, dtype=a._data.dtype))
        ph = mH(p)
        g = -mm(mm(ph, grad), ph)
        g = g + mm(mm(eye_m - mm(a, p), mH(grad)), mm(p, ph))
        g = g + mm(mm(ph, p), mm(mH(grad), eye_n - mm(p, a)))
        return g

    def name(self) -> str:
        return "LinalgPinvBackward0"


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
         out: Tensor | None = None) -> Tensor:
    if A._data.ndim < 2:
        raise RuntimeError("linalg.pinv(" + A.dtype.name + "{" + ", ".join(map(str, A.shape)) +
                           "}): expected a tensor with 2 or more dimensions of float, double, cfloat or cdouble "
                           "types")
    _L._check_float(A, "linalg.pinv")
    result = LinalgPinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)
    return result if out is None else _out(result, out)


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
    cut = _tolerance(s, a.shape, a.real.dtype, atol, rtol)
    result = _const((s > cut).sum(axis=-1).astype(np.int64))
    return result if out is None else _out(result, out)


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
    d0, d1 = wrap_dims(tuple(dim), nd)
    if len(tuple(dim)) != 2:
        raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got " + " ".join(map(str, dim)))
    if ord == "fro":
        result = vector_norm(A, 2, (d0, d1), keepdim)
        return result if out is None else _out(result, out)
    if isinstance(ord, str) and ord != "nuc":
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if not isinstance(ord, str) and abs(ord) not in (1, 2, _INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {_ord_text(ord)} not supported.")
    rest = [k for k in range(nd) if k not in (d0, d1)]
    M = _L._permute(A, rest + [d0, d1])
    if ord == "nuc" or abs(ord) == 2:
        s = _L._svd(M, False, "linalg.matrix_norm")[1]
        if ord == "nuc":
            result = _sum_dim(s, s._data.ndim - 1)
        else:
            result = _extreme_last(s, ord > 0)
    else:
        a = _L._abs(M)
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
    return result if out is None else _out(result, out)


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
    return result if out is None else _out(result, out)
