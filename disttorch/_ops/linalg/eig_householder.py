"""The general (non-Hermitian) eigendecomposition and Householder-reflector ops: linalg.eig, linalg.eigvals,
geqrf, linalg.householder_product (orgqr) and ormqr.

eig runs numpy's LAPACK geev (on the host for cuda arrays: cupy has no general eigensolver), returns complex
results, and differentiates with PyTorch's formula for unit-norm eigenvectors. householder_product and ormqr
apply the reflectors H_i = I - tau_i v_i v_i^H one rank-1 update at a time with Tensor ops, so their gradients
(and gradients of gradients) come from autograd."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from .._register import methods, write_out
from ..creation import eye
from ..shape import tril
from ..unary import conj
from ._common import _check_float, _check_square, _const, _diag_embed, _mH
from .inverses import solve
from .products import Matmul

__all__ = ["geqrf", "orgqr", "ormqr"]

_eig_result = return_types._make("linalg_eig", "eigenvalues", "eigenvectors")
_geqrf_result = return_types._make("geqrf", "a", "tau")
_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
            np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}


def _on_host(a: Any) -> tuple[Any, Any]:
    """``a`` as a numpy array, and a function bringing numpy results back to ``a``'s backend."""
    if isinstance(a, np.ndarray):
        return a, lambda r: r
    backend = backend_for_array(a)
    return backend.to_numpy(a), lambda r: backend.asarray(r, device_index=backend.device_index(a))


class LinalgEig(Op):
    """A = V diag(L) V^-1 with unit-norm columns of V (LAPACK's geev). Backward (PyTorch's):
    gA = V^-H (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(L_j - L_i)) V^H, real part for real A."""

    def forward(self, a: Any) -> Any:
        host, back = _on_host(a)
        cdt = _COMPLEX[host.dtype]
        w, v = np.linalg.eig(host)
        w, v = back(w.astype(cdt, copy=False)), back(v.astype(cdt, copy=False))
        self.w, self.v, self.real_input = w, v, a.dtype.kind == "f"
        return w, v

    def backward(self, gw: Tensor, gv: Tensor) -> Tensor:
        xp = array_module(self.v)
        V = _const(self.v)
        Vh = _mH(V)
        n = self.w.shape[-1]
        eye_n = xp.eye(n, dtype=bool)
        if bool(xp.any(gv._data)):
            VhgV = Matmul.apply(Vh, gv)
            diag = xp.diagonal(VhgV._data, axis1=-2, axis2=-1)
            if float(xp.abs(diag.imag).max(initial=0.0)) > float(np.finfo(diag.real.dtype).eps) ** 0.5 * max(
                    1.0, float(xp.abs(diag).max(initial=0.0))):
                raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are specified up to "
                                   "multiplication by e^{i phi}. The specified loss function depends on this "
                                   "quantity, so it is ill-defined.")
            re_diag = VhgV.diagonal(0, -2, -1).real
            inner = VhgV - Matmul.apply(Vh, V) * re_diag.unsqueeze(-2)
            gaps = xp.conj(self.w[..., None, :] - self.w[..., :, None])
            gaps = xp.where(eye_n, 1, gaps)
            inner = inner / _const(gaps) * _const(xp.asarray(~eye_n))
            inner = inner + _diag_embed(gw)
        else:
            inner = _diag_embed(gw)
        g = solve(Vh, Matmul.apply(inner, Vh))
        return g.real if self.real_input else g

    def name(self) -> str:
        return "LinalgEigBackward0"


def _eig_checked(A: Tensor, fname: str) -> tuple:
    _check_square(A, fname)
    _check_float(A, fname)
    host = A._data
    if host.size and not bool(array_module(host).isfinite(host).all()):
        raise RuntimeError(f"{fname}: input tensor should not contain infs or NaNs.")
    return LinalgEig.apply(A)


def linalg_eig(A: Tensor, *, out: Any = None) -> Any:
    """Eigenvalues and unit-norm eigenvectors of a square matrix (complex; batches allowed)."""
    return _eig_result(_eig_checked(A, "linalg.eig"))


def linalg_eigvals(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The eigenvalues of a square matrix (complex), differentiable through eig."""
    return write_out(_eig_checked(A, "linalg.eigvals")[0], out)


# -- Householder reflectors --------------------------------------------------------------------------------
class Geqrf(Op):
    """LAPACK's geqrf: R on and above the diagonal, the reflectors' vectors below it, and their scales tau."""

    def forward(self, a: Any) -> Any:
        xp = array_module(a)
        h, tau = xp.linalg.qr(a, mode="raw")
        return xp.ascontiguousarray(h.swapaxes(-1, -2)), tau

    def backward(self, ga: Tensor, gtau: Tensor) -> Tensor:
        raise RuntimeError("the derivative for 'geqrf' is not implemented.")


def geqrf(input: Tensor, *, out: Any = None) -> Any:
    """(a, tau): the QR decomposition in LAPACK's compact form (``householder_product(a, tau)`` is Q)."""
    if input.dim() < 2:
        raise RuntimeError("torch.geqrf: The input tensor A must have at least 2 dimensions.")
    _check_float(input, "geqrf")
    return _geqrf_result(Geqrf.apply(input))


def _reflector_vectors(A: Tensor) -> Tensor:
    """The columns v_i: 1 on the diagonal, A's entries below it, 0 above."""
    m, n = A.shape[-2], A.shape[-1]
    return tril(A, -1) + eye(m, n, dtype=A.dtype, device=A.device)


def _check_reflectors(A: Tensor, tau: Tensor, fname: str, square_ok: bool = True) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{fname}: input must have at least 2 dimensions.")
    if tau.dim() < 1:
        raise RuntimeError(f"{fname}: tau must have at least 1 dimension.")
    if A.dtype != tau.dtype:
        raise RuntimeError(f"{fname}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{fname}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")


def householder_product(A: Tensor, tau: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The first n columns of H_1 H_2 ... H_k (A: m x n with m >= n >= k = tau.shape[-1])."""
    fname = "torch.linalg.householder_product"
    _check_reflectors(A, tau, fname)
    m, n, k = A.shape[-2], A.shape[-1], tau.shape[-1]
    if m < n:
        raise RuntimeError(f"{fname}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if n < k:
        raise RuntimeError(f"{fname}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    _check_float(A, fname)
    V = _reflector_vectors(A)
    Q = eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    for i in range(k - 1, -1, -1):  # Q <- H_i Q, last reflector first
        v = V[..., :, i:i + 1]
        Q = Q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (_mH(v) @ Q)
    return write_out(Q, out)


orgqr = householder_product


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False, *,
          out: Tensor | None = None) -> Tensor:
    """Q @ other (``left``) or other @ Q, with Q^H instead of Q when ``transpose``; Q = H_1 ... H_k is the
    full m x m orthogonal factor of ``geqrf``'s reflectors."""
    fname = "torch.ormqr"
    _check_reflectors(input, tau, fname)
    if other.dim() < 2:
        raise RuntimeError(f"{fname}: other must have at least 2 dimensions.")
    if other.dtype != input.dtype:
        raise RuntimeError(f"{fname}: Expected input and other to have the same dtype, but input has dtype "
                           f"{input.dtype} and other has dtype {other.dtype}")
    m = other.shape[-2] if left else other.shape[-1]
    if input.shape[-2] != m:
        which = "other.shape[-2]" if left else "other.shape[-1]"
        raise RuntimeError(f"{fname}: input.shape[-2] must be equal to {which}")
    k = tau.shape[-1]
    if k > input.shape[-1] or k > m:
        raise RuntimeError(f"{fname}: tau.shape[-1] must be less than or equal to input.shape[-1]")
    V = _reflector_vectors(input)
    C = other
    # Q C = H_1 (... (H_k C)); Q^H C = H_k^H (... (H_1^H C)); C Q = ((C H_1) ...) H_k; C Q^H = ((C H_k^H) ...) H_1^H
    forward_order = left == transpose
    order = range(k) if forward_order else range(k - 1, -1, -1)
    for i in order:
        v = V[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        if transpose:
            t = conj(t)
        C = C - (t * v) @ (_mH(v) @ C) if left else C - ((C @ v) * t) @ _mH(v)
    return write_out(C, out)


methods({"geqrf": lambda self: geqrf(self), "orgqr": lambda self, input2: orgqr(self, input2),
         "ormqr": lambda self, input2, input3, left=True, transpose=False: ormqr(self, input2, input3, left,
                                                                                  transpose)})
