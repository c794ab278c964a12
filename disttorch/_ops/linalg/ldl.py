"""linalg.ldl_factor(_ex) and linalg.ldl_solve: the Bunch-Kaufman factorization A = P L D L^T P^T of a symmetric
matrix (D with 1x1 and 2x2 blocks) in LAPACK's compact form and pivot convention (sytrf with the lower
triangle: 1-based pivots, a 2x2 block marked by negative pivots on both of its rows), and the solve with it.

The unblocked algorithm runs column by column in Python over numpy (on the host for cuda arrays), fine for
matrices up to a few hundred rows. Complex input is factored as complex symmetric (``hermitian=False``);
``hermitian=True`` is supported for real input. As in PyTorch, neither function has a derivative."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

from ._common import LinAlgError, _check_float, _check_square
from .eig_householder import _on_host

__all__: list[str] = []

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0
_ldl_result = return_types._make("linalg_ldl_factor", "LD", "pivots")
_ldl_ex_result = return_types._make("linalg_ldl_factor_ex", "LD", "pivots", "info")


def _factor_one(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """LAPACK sytf2 (lower) on one matrix, 0-based inside, 1-based pivots out."""
    a = np.tril(a).astype(a.dtype, copy=True)
    a = a + np.tril(a, -1).T  # work on the full symmetric matrix, read from the lower triangle
    n = a.shape[0]
    piv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        step = 1
        absakk = abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            if info == 0:
                info = k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = float(np.abs(a[imax, k:imax]).max())
                if imax < n - 1:
                    rowmax = max(rowmax, float(np.abs(a[imax + 1:, imax]).max()))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, step = imax, 2
            kk = k + step - 1
            if kp != kk:  # symmetric interchange of rows and columns kk and kp in the trailing matrix only
                sub = a[k:, k:]  # (the columns of L already made keep their rows, as in LAPACK)
                i, j = kk - k, kp - k
                sub[[i, j], :] = sub[[j, i], :]
                sub[:, [i, j]] = sub[:, [j, i]]
            if step == 1:
                if k < n - 1:
                    x = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] -= np.outer(x, x) / a[k, k]
                    a[k + 1:, k] = x / a[k, k]
                    a[k, k + 1:] = a[k + 1:, k]
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                ck, ck1 = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
                wk = d21 * (d11 * ck - ck1)
                wk1 = d21 * (d22 * ck1 - ck)
                a[k + 2:, k + 2:] -= np.outer(ck, wk) + np.outer(ck1, wk1)
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wk1
                a[k, k + 2:], a[k + 1, k + 2:] = wk, wk1
        if step == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += step
    return np.tril(a), piv, info


def _solve_one(ld: np.ndarray, piv: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LAPACK sytrs (lower): X with A X = B from sytf2's LD and pivots."""
    n = ld.shape[0]
    b = b.copy()
    k = 0
    while k < n:  # L D y = P^T b
        if piv[k] > 0:
            kp = piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(ld[k + 1:, k], b[k])
            b[k] /= ld[k, k]
            k += 1
        else:
            kp = -piv[k] - 1
            if kp != k + 1:
                b[[k + 1, kp]] = b[[kp, k + 1]]
            if k < n - 2:
                b[k + 2:] -= np.outer(ld[k + 2:, k], b[k]) + np.outer(ld[k + 2:, k + 1], b[k + 1])
            akm1k = ld[k + 1, k]
            akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T x = y, then undo the interchanges
        if piv[k] > 0:
            if k < n - 1:
                b[k] -= ld[k + 1:, k] @ b[k + 1:]
            kp = piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                b[k] -= ld[k + 1:, k] @ b[k + 1:]
                b[k - 1] -= ld[k + 1:, k - 1] @ b[k + 1:]
            kp = -piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


class _NoDerivative(Op):
    """The results of the LDL functions: PyTorch defines no derivative for them."""

    def forward(self, *arrays: Any) -> Any:
        return self.result

    def backward(self, *grads: Any) -> Any:
        raise RuntimeError(f"derivative for aten::{self.aten} is not implemented")


def _check_hermitian(A: Tensor, hermitian: bool, fname: str) -> None:
    if hermitian and A.is_complex():
        raise NotImplementedError(f"{fname}: hermitian=True is supported for real input only")


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """(LD, pivots, info): the compact Bunch-Kaufman factorization; info > 0 names the first zero pivot."""
    _check_square(A, "torch.linalg.ldl_factor_ex")
    _check_float(A, "torch.linalg.ldl_factor_ex")
    _check_hermitian(A, hermitian, "torch.linalg.ldl_factor_ex")
    host, back = _on_host(A._data)
    n = host.shape[-1]
    flat = host.reshape(-1, n, n)
    lds, pivs, infos = [], [], []
    for m in flat:
        ld, piv, info = _factor_one(m)
        lds.append(ld)
        pivs.append(piv)
        infos.append(info)
    batch = host.shape[:-2]
    ld = np.stack(lds).reshape(host.shape) if lds else np.zeros(host.shape, host.dtype)
    piv = np.stack(pivs).reshape(batch + (n,)) if pivs else np.zeros(batch + (n,), np.int32)
    info = np.array(infos, dtype=np.int32).reshape(batch)
    if check_errors and (info > 0).any():
        raise LinAlgError(f"torch.linalg.ldl_factor_ex: The factorization could not be completed because the "
                          f"input is not invertible (the diagonal element {int(info[info > 0][0])} is zero).")
    LD = _NoDerivative.apply(A, result=back(ld), aten="linalg_ldl_factor_ex") if A.requires_grad \
        else Tensor._from_array(back(ld))
    return _ldl_ex_result((LD, Tensor._from_array(back(piv)), Tensor._from_array(back(info))))


def ldl_factor(A: Tensor, *, hermitian: bool = False, out: Any = None) -> Any:
    """(LD, pivots) of ``ldl_factor_ex``, raising when the matrix is singular."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    bad = info._data > 0
    if bool(bad.any()):
        first = int(info._data[bad].reshape(-1)[0])
        raise LinAlgError(f"torch.linalg.ldl_factor: The factorization could not be completed because the input is "
                          f"not invertible (the diagonal element {first} is zero).")
    return _ldl_result((LD, pivots))


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out: Tensor | None = None) -> Tensor:
    """X with A X = B, from ``ldl_factor``'s LD and pivots (batches broadcast)."""
    _check_square(LD, "torch.linalg.ldl_solve")
    if LD.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.ldl_solve: Expected LD and B to have the same dtype, but found LD of type "
                           f"{LD.dtype} and B of type {B.dtype} instead")
    if pivots.dtype.name != "int32":
        raise RuntimeError(f"torch.linalg.ldl_solve: Expected pivots to be integers. Got {pivots.dtype}")
    if B.dim() < 2 or B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"torch.linalg.ldl_solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({LD.shape[-2]}x{LD.shape[-1]} and {B.shape[-2] if B.dim() > 1 else 1}x"
                           f"{B.shape[-1]})")
    ld, back = _on_host(LD._data)
    piv, _ = _on_host(pivots._data)
    b, _ = _on_host(B._data)
    batch = np.broadcast_shapes(ld.shape[:-2], piv.shape[:-1], b.shape[:-2])
    n, k = ld.shape[-1], b.shape[-1]
    ld = np.broadcast_to(ld, batch + (n, n)).reshape(-1, n, n)
    piv = np.broadcast_to(piv, batch + (n,)).reshape(-1, n)
    b = np.broadcast_to(b, batch + (n, k)).reshape(-1, n, k)
    x = np.stack([_solve_one(l_, p_, b_) for l_, p_, b_ in zip(ld, piv, b)]) if len(b) else b.copy()
    res = back(x.reshape(batch + (n, k)))
    if LD.requires_grad or B.requires_grad:
        return _NoDerivative.apply(LD, B, result=res, aten="linalg_ldl_solve")
    out_t = Tensor._from_array(res)
    return out_t if out is None else out.copy_(out_t)
