"""Randomized low-rank factorizations: svd_lowrank and pca_lowrank (Halko, Martinsson and Tropp 2009: a random
range finder refined by ``niter`` subspace iterations, then the SVD of the small projected matrix). Written with
differentiable Tensor ops, so gradients flow through qr and svd as PyTorch's do."""
from __future__ import annotations

from disttorch._tensor import Tensor

from ..random import randn
from ._common import _mH
from .decompositions import _qr, _svd

__all__ = ["svd_lowrank", "pca_lowrank"]


def _orth(X: Tensor) -> Tensor:
    return _qr(X, "reduced")[0]


def _range_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal m x q basis approximating the range of A - M."""
    R = randn(A.shape[-1], q, dtype=A.dtype, device=A.device)
    Q = _orth(A @ R if M is None else A @ R - M @ R)
    for _ in range(niter):
        Qh = _orth(_mH(A) @ Q if M is None else _mH(A) @ Q - _mH(M) @ Q)
        Q = _orth(A @ Qh if M is None else A @ Qh - M @ Qh)
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int = 2, M: Tensor | None = None) -> tuple:
    """(U, S, V) with A - M ~ U diag(S) V^H, U: m x q, S: q, V: n x q (M broadcasts to A; None is 0); a q
    beyond min(m, n) gives min(m, n) columns, as in PyTorch."""
    q = 6 if q is None else q
    m, n = A.shape[-2], A.shape[-1]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n or n > q:  # factor A^H, which keeps the small matrix q x m
        At, Mt = _mH(A), (None if M is None else _mH(M))
        Q = _range_basis(At, q, niter, Mt)
        B = A @ Q if M is None else A @ Q - M @ Q  # m x q
        U, S, Vh = _svd(B, False, "linalg.svd")
        return U, S, Q @ _mH(Vh)
    Q = _range_basis(A, q, niter, M)
    B = _mH(Q) @ A if M is None else _mH(Q) @ A - _mH(Q) @ M  # q x n
    U, S, Vh = _svd(B, False, "linalg.svd")
    return Q @ U, S, _mH(Vh)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:
    """(U, S, V) of the (column-centred, when ``center``) data matrix A: V's columns are the principal
    directions, S**2 / (m - 1) the variances along them."""
    if not isinstance(A, Tensor):
        raise TypeError(f"Input must be a Tensor, got {type(A).__name__}")
    m, n = A.shape[-2], A.shape[-1]
    q = min(6, m, n) if q is None else q
    if not isinstance(q, int) or q < 0 or q > min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter)
    C = A.mean(dim=-2, keepdim=True)
    return svd_lowrank(A - C, q, niter=niter)
