"""Decompositions and what is built on them: cholesky, qr, svd, eigh, and the pseudo-inverse
(pinverse, linalg.pinv)."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from .._register import methods, write_out
from ._common import LinAlgError, _check_float, _check_square, _const, _device_not_pd, _diag_embed, _mH
from .inverses import inv
from .products import Matmul

__all__ = ["cholesky", "svd", "qr", "pinverse"]


# -- Cholesky -------------------------------------------------------------------------------------------------
class LinalgCholeskyEx(Op):
    save_output = True

    def forward(self, a: Any) -> Any:
        xp = array_module(a)
        try:
            low = xp.linalg.cholesky(a)
            if type(a) is not np.ndarray and _device_not_pd(low):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            b, k = _not_pd_report(a)
            prefix = f"(Batch element {b}): " if a.ndim > 2 else ""
            raise LinAlgError(f"{self.fname}: {prefix}The factorization could not be completed because the input "
                              f"is not positive-definite (the leading minor of order {k} is not "
                              "positive-definite).") from None
        return low.swapaxes(-1, -2).conj() if self.upper else low

    def backward(self, grad: Tensor) -> Tensor:
        L = self.saved_output
        if self.upper:
            L, grad = _mH(L), _mH(grad)
        n = L._data.shape[-1]
        xp = L._xp
        mask = xp.tril(xp.ones((n, n), dtype=L._data.real.dtype)) - 0.5 * xp.eye(n, dtype=L._data.real.dtype)
        phi = Matmul.apply(_mH(L), grad) * _const(mask)
        l_inv = inv(L)
        g = Matmul.apply(Matmul.apply(_mH(l_inv), phi), l_inv)
        return (g + _mH(g)) * 0.5

    def name(self) -> str:
        return "LinalgCholeskyExBackward0"


def _not_pd_report(a: Any) -> tuple[int, int]:
    """(batch element, order of the leading minor) of the first matrix that is not positive-definite."""
    host = backend_for_array(a).to_numpy(a)
    mats = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(mats):
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return b, k
    return 0, mats.shape[-1]


def cholesky(A: Tensor, upper: bool = False, *, out: Tensor | None = None, fname: str = "cholesky") -> Tensor:
    _check_square(A, "linalg.cholesky")
    _check_float(A, "linalg.cholesky")
    return write_out(LinalgCholeskyEx.apply(A, upper=upper, fname=fname), out)


# -- QR -------------------------------------------------------------------------------------------------------
class LinalgQr(Op):
    def forward(self, a: Any) -> Any:
        xp = array_module(a)
        if self.mode == "r":
            r = xp.linalg.qr(a, mode="r")
            return xp.empty((0,), dtype=a.dtype), r
        q, r = xp.linalg.qr(a, mode=self.mode)
        self.q, self.r = q, r
        return q, r

    def backward(self, gq: Tensor, gr: Tensor) -> Tensor:
        m, n = self.q.shape[-2], self.r.shape[-1]
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if m < n or (self.mode == "complete" and m > n):
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols "
                               "or when nrows < ncols.")
        # A = QR: gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q
        q, r = _const(self.q), _const(self.r)
        M = Matmul.apply(r, _mH(gr)) - Matmul.apply(_mH(gq), q)
        xp = q._xp
        low = xp.tril(xp.ones((n, n), dtype=self.r.real.dtype), -1)
        Ml = M * _const(low)
        sym = Ml + _mH(Ml) + M * _const(xp.eye(n, dtype=low.dtype))
        return Matmul.apply(gq + Matmul.apply(q, sym), _mH(inv(r)))

    def name(self) -> str:
        return "LinalgQrBackward0"


def _qr(A: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    if A._data.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _check_float(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    return LinalgQr.apply(A, mode=mode)


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    return return_types.qr(_qr(input, "reduced" if some else "complete"))


# -- SVD ------------------------------------------------------------------------------------------------------
class LinalgSvd(Op):
    """(U, S, Vh). Backward (first order): through S always; through U and Vh for real inputs with
    distinct singular values, the standard formula for the reduced decomposition."""

    def forward(self, a: Any) -> Any:
        u, s, vh = array_module(a).linalg.svd(a, full_matrices=self.full_matrices)
        self.u, self.s, self.vh = u, s, vh
        return u, s.astype(a.real.dtype, copy=False), vh

    def backward(self, gu: Tensor, gs: Tensor, gvh: Tensor) -> Tensor:
        xp = gs._xp
        s = self.s
        k = s.shape[-1]
        m, n = self.u.shape[-2], self.vh.shape[-1]
        U, Vh = _const(self.u[..., :, :k]), _const(self.vh[..., :k, :])
        inner = _diag_embed(gs)
        uv_grad = bool(xp.any(gu._data)) or bool(xp.any(gvh._data))
        if not uv_grad:
            return Matmul.apply(Matmul.apply(U, inner), Vh)
        if self.full_matrices and m != n:
            raise RuntimeError("linalg.svd: The derivative of linalg.svd is not implemented when full_matrices=True "
                               "and the matrix is not square. Use full_matrices=False.")
        gu = _const(gu._data[..., :, :k]) if gu._data.shape[-1] != k else gu
        gvh = _const(gvh._data[..., :k, :]) if gvh._data.shape[-2] != k else gvh
        F = _const(_inverse_gaps(s[..., None, :] ** 2 - s[..., :, None] ** 2).astype(s.dtype))
        S_row = _const(s[..., None, :])  # scales columns
        S_col = _const(s[..., :, None])  # scales rows
        J = Matmul.apply(_mH(U), gu)
        K = Matmul.apply(Vh, _mH(gvh))
        inner = inner + (J - _mH(J)) * F * S_row + S_col * ((K - _mH(K)) * F)
        g = Matmul.apply(Matmul.apply(U, inner), Vh)
        s_inv = _const(_inverse_gaps(s)[..., None, :])
        if m > k:  # the part of gU outside the column space of U
            proj = gu - Matmul.apply(U, J)
            g = g + Matmul.apply(proj * s_inv, Vh)
        if n > k:
            gv = _mH(gvh)
            proj = gv - Matmul.apply(_mH(Vh), K)
            g = g + Matmul.apply(U * s_inv, _mH(proj))
        return g

    def name(self) -> str:
        return "LinalgSvdBackward0"


def _inverse_gaps(e: Any) -> Any:
    """1 / e, with 0 where e is 0 (equal eigen- or singular values contribute nothing)."""
    xp = array_module(e)
    return xp.where(e == 0, 0, 1 / xp.where(e == 0, 1, e))


def _svd(A: Tensor, full_matrices: bool, fname: str) -> tuple[Tensor, Tensor, Tensor]:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    _check_float(A, fname)
    return LinalgSvd.apply(A, full_matrices=full_matrices)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """torch.svd: (U, S, V) with V = Vh^H (reduced unless ``some=False``)."""
    u, s, vh = _svd(input, not some, "linalg.svd")
    if not compute_uv:
        xp = input._xp
        return return_types.svd((_const(xp.zeros_like(u._data)), s, _const(xp.zeros_like(vh._data))))
    return return_types.svd((u, s, _mH(vh)))


# -- Hermitian eigendecomposition -----------------------------------------------------------------------------
class LinalgEigh(Op):
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, read from one triangle.
    Backward (first order): the Hermitian part of V (diag(gL) + F * (V^H gV)) V^H, F_ij = 1 / (L_j - L_i)."""

    def forward(self, a: Any) -> Any:
        w, v = array_module(a).linalg.eigh(a, UPLO=self.uplo)
        self.w, self.v = w, v
        return w.astype(a.real.dtype, copy=False), v

    def backward(self, gw: Tensor, gv: Tensor) -> Tensor:
        xp = gw._xp
        w = self.w
        V = _const(self.v)
        inner = _diag_embed(gw)
        if bool(xp.any(gv._data)):
            F = _const(_inverse_gaps(w[..., None, :] - w[..., :, None]).astype(w.dtype))
            inner = inner + Matmul.apply(_mH(V), gv) * F
        g = Matmul.apply(Matmul.apply(V, inner), _mH(V))
        return (g + _mH(g)) * 0.5  # PyTorch returns the Hermitian part

    def name(self) -> str:
        return "LinalgEighBackward0"


def _eigh(A: Tensor, UPLO: str) -> tuple[Tensor, Tensor]:
    _check_square(A, "linalg.eigh")
    _check_float(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return LinalgEigh.apply(A, uplo=UPLO)


# -- pseudo-inverse -------------------------------------------------------------------------------------------
def _tolerance(s: Any, shape: tuple, dtype: Any, atol: Any, rtol: Any) -> Any:
    """max(atol, rtol * largest singular value), PyTorch's default rtol being eps * max(m, n)."""
    xp = array_module(s)
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
        xp = array_module(a)
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
        mm = Matmul.apply
        xp = a._xp
        m, n = a._data.shape[-2:]
        eye_m = _const(xp.eye(m, dtype=a._data.dtype))
        eye_n = _const(xp.eye(n, dtype=a._data.dtype))
        ph = _mH(p)
        g = -mm(mm(ph, grad), ph)
        g = g + mm(mm(eye_m - mm(a, p), _mH(grad)), mm(p, ph))
        g = g + mm(mm(ph, p), mm(_mH(grad), eye_n - mm(p, a)))
        return g

    def name(self) -> str:
        return "LinalgPinvBackward0"


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
         out: Tensor | None = None) -> Tensor:
    """torch.linalg.pinv."""
    if A._data.ndim < 2:
        raise RuntimeError("linalg.pinv(" + A.dtype.name + "{" + ", ".join(map(str, A.shape)) +
                           "}): expected a tensor with 2 or more dimensions of float, double, cfloat or cdouble "
                           "types")
    _check_float(A, "linalg.pinv")
    return write_out(LinalgPinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian), out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    return pinv(input, rtol=rcond)


methods({"cholesky": cholesky, "svd": svd, "qr": qr, "pinverse": pinverse})
