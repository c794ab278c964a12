"""LU with partial pivoting and what is built on it: torch.linalg.lu_factor(_ex), lu, lu_solve, and the older
torch.lu, torch.lu_unpack, torch.lu_solve.

The factorization is batched right-looking elimination written once in ``xp``: at step j each matrix of the
batch takes as pivot the first entry of largest magnitude in column j (|re| + |im| for complex numbers, as
LAPACK's getrf), swaps it up, and updates the trailing block. Pivots are LAPACK's: 1-based int32, row j was
swapped with row pivots[j]. A = P L U with L unit lower triangular (m x k) and U upper (k x n), k = min(m, n).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch._warn import warn_user
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, type_word, write_out
from .._util import sum_to
from ..shape import cat
from ..shape.diagonal import tril, triu
from ._common import _broadcast_shapes, _const, _mH, _mT, _shape_x
from .products import Matmul
from .triangular import _substitute, solve_triangular

__all__ = ["lu", "lu_unpack", "lu_solve"]


# -- raw kernels ----------------------------------------------------------------------------------------------
def _getrf(a: Any, pivot: bool = True) -> tuple[Any, Any, Any]:
    """(LU packed, pivots (..., k) int32 1-based, info (...) int32: 1-based index of the first zero pivot)."""
    xp = array_module(a)
    *batch, m, n = a.shape
    k = min(m, n)
    lu = a.reshape((math.prod(batch), m, n)).copy()
    nb = lu.shape[0]
    piv = xp.empty((nb, k), dtype=np.int32)
    info = xp.zeros((nb,), dtype=np.int32)
    rows = xp.arange(nb)
    for j in range(k):
        if pivot:
            col = lu[:, j:, j]
            mag = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)
            p = xp.argmax(mag, axis=1) + j
            row_j = lu[:, j, :].copy()
            row_p = lu[rows, p, :]
            lu[rows, p, :] = row_j
            lu[:, j, :] = row_p
            piv[:, j] = p + 1
        else:
            piv[:, j] = j + 1
        d = lu[:, j, j]
        zero = d == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
        if j + 1 < m:
            lu[:, j + 1:, j] /= xp.where(zero, 1, d)[:, None]
            if j + 1 < n:
                lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(tuple(batch) + (k,)), info.reshape(tuple(batch))


def _permutation(piv: Any, m: int) -> Any:
    """perm (..., m) with (P^T A)[i] = A[perm[i]], from LAPACK's row swaps."""
    xp = array_module(piv)
    batch = piv.shape[:-1]
    flat = piv.reshape((math.prod(batch), piv.shape[-1])).astype(np.int64) - 1
    nb = flat.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    rows = xp.arange(nb)
    for j in range(flat.shape[1]):
        p = flat[:, j]
        at_j = perm[:, j].copy()
        perm[:, j] = perm[rows, p]
        perm[rows, p] = at_j
    return perm.reshape(batch + (m,))


def _perm_matrix(piv: Any, m: int, dtype: Any) -> Any:
    """P (..., m, m) with A = P L U: column i of P is e_{perm[i]}."""
    xp = array_module(piv)
    perm = _permutation(piv, m)
    return (perm[..., None, :] == xp.arange(m)[:, None]).astype(dtype)


def _check_pivots(piv: Any, m: int) -> None:
    if piv.size and (int(piv.min()) < 1 or int(piv.max()) > m):
        raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you properly "
                           "pass the result of lu_factor?")


# -- backward of the factorization ----------------------------------------------------------------------------
def _lu_grad(L: Tensor, U: Tensor, P: Tensor, gL: Tensor, gU: Tensor) -> Tensor:
    """The gradient of A = P L U from those of L (m x k, strictly lower part) and U (k x n, upper part).

    With X = L^{-1} P^T dA U^{-1} (square case) dL = L tril(X, -1) and dU = triu(X) U, so
    gA = P L^{-H} (tril(L^H gL, -1) + triu(gU U^H)) U^{-H}. A wide A = P L [U1 U2] adds the columns
    gA2 = P L^{-H} gU2 and the term -gU2 U2^H inside tril; a tall A, symmetrically, rows gL2 U^{-H} and
    -L2^H gL2 inside triu.
    """
    mm = Matmul.apply
    m, k = L._data.shape[-2:]
    n = U._data.shape[-1]
    gL, gU = tril(gL, -1), triu(gU)
    if m == n:
        inner = tril(mm(_mH(L), gL), -1) + triu(mm(gU, _mH(U)))
        left = solve_triangular(_mH(L), inner, upper=True, unitriangular=True)
        g = solve_triangular(_mH(U), left, upper=False, left=False)
    elif m < n:  # wide: U = [U1 U2]
        U1, U2, gU1, gU2 = U[..., :m], U[..., m:], gU[..., :m], gU[..., m:]
        inner = tril(mm(_mH(L), gL) - mm(gU2, _mH(U2)), -1) + triu(mm(gU1, _mH(U1)))
        right = cat([solve_triangular(_mH(U1), inner, upper=False, left=False), gU2], -1)
        g = solve_triangular(_mH(L), right, upper=True, unitriangular=True)
    else:  # tall: L = [L1; L2]
        L1, L2, gL1, gL2 = L[..., :n, :], L[..., n:, :], gL[..., :n, :], gL[..., n:, :]
        inner = tril(mm(_mH(L1), gL1), -1) + triu(mm(gU, _mH(U)) - mm(_mH(L2), gL2))
        top = cat([solve_triangular(_mH(L1), inner, upper=True, unitriangular=True), gL2], -2)
        g = solve_triangular(_mH(U), top, upper=False, left=False)
    return mm(P, g)


def _unpack(LU: Tensor) -> tuple[Tensor, Tensor]:
    """L (m x k, unit diagonal) and U (k x n) as Tensor ops of the packed factor (gradients flow to it)."""
    m, n = LU._data.shape[-2:]
    k = min(m, n)
    eye = _const(LU._xp.eye(m, k, dtype=LU._data.dtype))
    low = tril(LU, -1)
    L = (low if k == n else low[..., :, :k]) + eye
    up = triu(LU)
    U = up if k == m else up[..., :k, :]
    return L, U


class LinalgLuFactorEx(Op):
    save_output = True
    nondiff_outputs = (1, 2)

    def forward(self, a: Any) -> Any:
        lu, piv, info = _getrf(a, self.pivot)
        self.piv = piv
        return lu, piv, info

    def backward(self, glu: Tensor, gpiv: Any, ginfo: Any) -> Tensor:
        LU = self.saved_output
        L, U = _unpack(LU)
        m, n = LU._data.shape[-2:]
        k = min(m, n)
        P = _const(_perm_matrix(self.piv, m, LU._data.dtype))
        gL = glu if k == n else glu[..., :, :k]
        gU = glu if k == m else glu[..., :k, :]
        return _lu_grad(L, U, P, gL, gU)


def _check_lu_input(A: Tensor, fname: str) -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    if A._data.dtype.kind not in "fc":
        raise NotImplementedError(f'"lu_{A.device.type}" not implemented for \'{type_word(A.dtype)}\'')


def _factor(A: Tensor, pivot: bool, fname: str) -> tuple[Tensor, Tensor, Tensor]:
    _check_lu_input(A, fname)
    if not pivot and A.device.type == "cpu":
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    return LinalgLuFactorEx.apply(A, pivot=bool(pivot))


def _raise_singular(info: Tensor, fname: str) -> None:
    bad = info._data.reshape(-1)
    if not bad.size or not bool((bad > 0).any()):
        return
    b = int(array_module(bad).argmax(bad > 0))
    k = int(bad[b])
    prefix = f"(Batch element {b}): " if info._data.ndim else ""
    raise RuntimeError(f"{fname}: {prefix}U[{k},{k}] is zero and using it on lu_solve would result in a division "
                       "by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) "
                       "or linalg.lu_factor_ex(A, pivot)")


def _write_all(results: tuple, out: Any) -> tuple:
    if out is None:
        return results
    return tuple(write_out(r, o) for r, o in zip(results, out))


def linalg_lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    LU, piv, info = _factor(A, pivot, "torch.linalg.lu_factor_ex")
    if check_errors:
        _raise_singular(info, "torch.linalg.lu_factor_ex")
    return return_types.linalg_lu_factor_ex(_write_all((LU, piv, info), out))


def linalg_lu_factor(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    LU, piv, info = _factor(A, pivot, "torch.lu_factor")
    _raise_singular(info, "torch.linalg.lu_factor")
    return return_types.linalg_lu_factor(_write_all((LU, piv), out))


# -- unpacking ------------------------------------------------------------------------------------------------
class LuUnpack(Op):
    """(P, L, U) from a packed factor; P carries no gradient, L and U send theirs to the two triangles."""

    nondiff_outputs = (0,)

    def forward(self, lu: Any) -> Any:
        xp = array_module(lu)
        m, n = lu.shape[-2:]
        k = min(m, n)
        if self.unpack_pivots:
            p = _perm_matrix(self.piv, m, lu.dtype)
            batch = _broadcast_shapes(lu.shape[:-2], p.shape[:-2])
            p = xp.broadcast_to(p, batch + (m, m)).copy()
        else:
            p = xp.empty((0,), dtype=lu.dtype)
        if not self.unpack_data:
            return p, xp.empty((0,), dtype=lu.dtype), xp.empty((0,), dtype=lu.dtype)
        low = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
        return p, low, xp.triu(lu[..., :k, :])

    def backward(self, gp: Any, gl: Tensor, gu: Tensor) -> Tensor | None:
        if not self.unpack_data:
            return None
        m, n = self._out_meta[1][0][-2], self._out_meta[2][0][-1]
        gl, gu = tril(gl, -1), triu(gu)
        if m == n:
            return gl + gu
        zeros = _const(gl._xp.zeros(gl._data.shape[:-2] + (abs(m - n),) + (min(m, n),), dtype=gl._data.dtype))
        if m > n:  # gU is n x n, L is m x n
            return gl + cat([gu, zeros], -2)
        return cat([gl, _mT(zeros)], -1) + gu


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out: Any = None) -> Any:
    if LU_data._data.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(LU_data.shape)} instead")
    if LU_pivots._data.dtype != np.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m = LU_data._data.shape[-2]
    if unpack_pivots:
        _check_pivots(LU_pivots._data, m)
    P, L, U = LuUnpack.apply(LU_data, piv=LU_pivots._data, unpack_data=bool(unpack_data),
                             unpack_pivots=bool(unpack_pivots))
    return return_types.lu_unpack(_write_all((P, L, U), out))


def linalg_lu(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    _check_lu_input(A, "linalg.lu")
    if not pivot and A.device.type == "cpu":
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    LU, piv, _ = LinalgLuFactorEx.apply(A, pivot=bool(pivot))
    P, L, U = LuUnpack.apply(LU, piv=piv._data, unpack_data=True, unpack_pivots=bool(pivot))
    return return_types.linalg_lu(_write_all((P, L, U), out))


# -- solving with a factor ------------------------------------------------------------------------------------
class LinalgLuSolve(Op):
    """X with A X = B (A^H X = B when ``adjoint``), A = P L U given packed; pivots are an attribute."""

    save_inputs = True
    save_output = True

    def forward(self, lu: Any, b: Any) -> Any:
        xp = array_module(lu)
        n = lu.shape[-1]
        batch = _broadcast_shapes(_broadcast_shapes(lu.shape[:-2], self.piv.shape[:-1]), b.shape[:-2])
        perm = xp.broadcast_to(_permutation(self.piv, n), batch + (n,))
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        if not self.adjoint:  # X = U^{-1} L^{-1} P^T B
            y = xp.take_along_axis(b, perm[..., :, None], axis=-2)
            y = _substitute(lu, y, upper=False, unit=True)
            return _substitute(lu, y, upper=True, unit=False)
        lh = lu.swapaxes(-1, -2).conj()  # X = P L^{-H} U^{-H} B
        z = _substitute(lh, b, upper=False, unit=False)
        z = _substitute(lh, z, upper=True, unit=True)
        x = xp.empty_like(z)
        _scatter_rows(x, perm, z)
        return x

    def backward(self, grad: Tensor) -> tuple:
        LU, B = self.saved_inputs
        X = self.saved_output
        nlu, nb = self.next_edges
        gb = LinalgLuSolve.apply(LU, grad, piv=self.piv, adjoint=not self.adjoint)
        glu = None
        if nlu is not None:
            mm = Matmul.apply
            ga = -mm(X, _mH(gb)) if self.adjoint else -mm(gb, _mH(X))
            L, U = _unpack(LU)
            n = LU._data.shape[-1]
            Pt = _mT(_const(_perm_matrix(self.piv, n, LU._data.dtype)))
            q = mm(Pt, ga)
            glu = sum_to(tril(mm(q, _mH(U)), -1) + triu(mm(_mH(L), q)), LU._data.shape)
        return glu, (sum_to(gb, B._data.shape) if nb is not None else None)


def _scatter_rows(x: Any, perm: Any, z: Any) -> None:
    """x[..., perm[i], :] = z[..., i, :]."""
    xp = array_module(x)
    flat_x = x.reshape((-1,) + x.shape[-2:])
    flat_p = perm.reshape((-1, perm.shape[-1]))
    flat_z = z.reshape((-1,) + z.shape[-2:])
    rows = xp.arange(flat_x.shape[0])[:, None]
    flat_x[rows, flat_p] = flat_z


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False,
                    out: Tensor | None = None) -> Tensor:
    fname = "linalg.lu_solve"
    for name, t in (("LU", LU), ("B", B)):
        if t._data.ndim < 2:
            raise RuntimeError(f"{fname}: The input tensor {name} must have at least 2 dimensions.")
    m, n = LU._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"torch.linalg.lu_solve: A must be batches of square matrices, but they are {m} by {n} "
                           "matrices")
    sb = B._data.shape
    if (left and sb[-2] != n) or (not left and sb[-1] != n):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} ({_shape_x((m, n))} and "
                           f"{_shape_x(sb[-2:])})")
    if B._data.dtype != LU._data.dtype:
        raise RuntimeError(f"{fname}: Expected LU and B to have the same dtype, but found LU of type "
                           f"{type_word(LU.dtype)} and B of type {type_word(B.dtype)} instead")
    if pivots._data.dtype != np.int32:
        raise RuntimeError(f"{fname}: pivots should be a Tensor of scalar type torch.int32")
    if pivots._data.ndim == 0 or pivots._data.shape[-1] != n:
        raise RuntimeError(f"{fname}: Number of pivots per batch should be same as the dimension of the matrix")
    if pivots._data.shape != LU._data.shape[:-1]:
        raise RuntimeError(f"{fname}: Expected LU.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    _broadcast_shapes(sb[:-2], LU._data.shape[:-2])
    if left:
        x = LinalgLuSolve.apply(LU, B, piv=pivots._data, adjoint=bool(adjoint))
    else:  # X A = B  <=>  A^H X^H = B^H
        x = _mH(LinalgLuSolve.apply(LU, _mH(B), piv=pivots._data, adjoint=not adjoint))
    return write_out(x, out)


# -- the older spellings --------------------------------------------------------------------------------------
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out: Any = None) -> Any:
    """torch.lu (deprecated in PyTorch): (LU, pivots) or, with ``get_infos``, (LU, pivots, infos)."""
    warn_user("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
              "removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced "
              "with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = torch.lu(A, "
              "compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
              "torch.linalg.lu_factor_ex(A, compute_pivots)")
    LU, piv, info = _factor(A, pivot, "torch.lu_factor")
    if not get_infos:  # a singular matrix is factored, not reported, as in PyTorch
        return _write_all((LU, piv), out)
    return return_types._lu_with_info(_write_all((LU, piv, info), out))


def lu_solve(input: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out: Tensor | None = None) -> Tensor:
    """torch.lu_solve(b, LU_data, LU_pivots) (deprecated in PyTorch; linalg.lu_solve takes them reversed)."""
    warn_user("torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
              "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = torch.lu_solve(B, "
              "LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)")
    return linalg_lu_solve(LU_data, LU_pivots, input, out=out)


methods({"lu": lu, "lu_solve": lu_solve})
