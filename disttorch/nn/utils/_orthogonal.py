"""The orthogonal (unitary) parametrization: a matrix (or batch) Q with orthonormal columns (rows when wide),
as exp(A) or the Cayley map of a skew-Hermitian A read from the lower triangle, or a product of Householder
reflectors; with ``use_trivialization`` a buffer ``base`` B holds the last assigned orthogonal value and the
parametrization is B Q (the dynamic trivialization of Lezcano-Casado 2019)."""
from __future__ import annotations

import numpy as np

from disttorch._ops.creation import eye, zeros, zeros_like
from disttorch._ops.linalg import geqrf, householder_product, matrix_exp, solve
from disttorch._ops.random import randn
from disttorch._ops.shape import cat
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import no_grad
from disttorch.nn.modules.module import Module

__all__ = ["_Orthogonal", "MAPS"]

MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * float(np.finfo(Q._data.real.dtype).eps)
    ident = eye(k, dtype=Q.dtype, device=Q.device)
    return bool(((Q.mH @ Q) - ident).abs().max() <= eps) if Q.numel() else True


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A = QR (A tall) with diag(R) real and non-negative."""
    X, tau = geqrf(A)
    Q = householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        self.use_trivialization = use_trivialization
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                X = cat([X, zeros(n, n - k, dtype=X.dtype, device=X.device).expand(*X.shape[:-2], -1, -1)], -1)
            A = X - X.mH
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                ident = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(ident - A * 0.5, ident + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if self.use_trivialization:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if tuple(Q.shape) != tuple(self.shape):
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{Q.shape}.")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not self.use_trivialization:
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            A, tau = geqrf(Q)
            diag = A.diagonal(dim1=-2, dim2=-1)
            signs = diag.sign() * (1 - 2 * (tau == 0.0).to(diag.dtype))  # a zero tau flips its sign
            A = _set_diagonal(A, signs)
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:  # complete to a square matrix with random columns
            N = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, N], -1))
        self.base = Q
        # the original becomes -I: every map sends it to I (householder through the signs of its diagonal)
        m = min(Q_init.shape[-2], Q_init.shape[-1])
        return _set_diagonal(zeros_like(Q_init), -zeros_like(Q_init)[..., :m, 0] - 1)


def _set_diagonal(A: Tensor, d: Tensor) -> Tensor:
    """A with its main diagonal replaced by ``d`` (length min of A's last two sizes)."""
    n, k = A.shape[-2], A.shape[-1]
    if d.shape[-1] < k:
        d = cat([d, zeros(*d.shape[:-1], k - d.shape[-1], dtype=d.dtype, device=d.device)], -1)
    mask = eye(n, k, dtype=A.dtype, device=A.device)
    return A * (1 - mask) + mask * d.unsqueeze(-2)
