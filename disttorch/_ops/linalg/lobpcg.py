"""torch.lobpcg: the k largest (or smallest) eigenpairs of the symmetric generalized problem A X = B X diag(E).

Not an iterative LOBPCG: the pairs come from a dense eigendecomposition of L^-1 A L^-T (B = L L^T), which is
what LOBPCG converges to; the iteration arguments (``X`` as a start, ``niter``, ``tol``, ``iK``, ``tracker``,
the ortho parameters) are checked and otherwise unused. Gradients flow through eigh and the triangular solves."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor

from ._common import _mH
from .decompositions import _eigh, cholesky
from .triangular import solve_triangular

__all__ = ["lobpcg"]


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None, n: int | None = None,
           iK: Tensor | None = None, niter: int | None = None, tol: float | None = None, largest: bool | None = None,
           method: str | None = None, tracker: Any = None, ortho_iparams: dict | None = None,
           ortho_fparams: dict | None = None, ortho_bparams: dict | None = None) -> tuple[Tensor, Tensor]:
    """(E, X): ``k`` eigenvalues (descending when ``largest``, the default) and B-orthonormal eigenvectors."""
    m = A.shape[-1]
    if A.shape[-2] != m:
        raise ValueError(f"A must be square matrix, got shape {tuple(A.shape)}")
    if B is not None and tuple(B.shape) != tuple(A.shape):
        raise ValueError(f"A and B must have the same shapes, got {tuple(A.shape)} and {tuple(B.shape)}")
    if method not in (None, "basic", "ortho"):
        raise ValueError(f"expected method to be 'basic' or 'ortho', got {method}")
    k = 1 if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LPBPCG algorithm is not applicable when the number of A rows (={m}) is smaller than 3 x "
                         f"the number of requested eigenpairs (={n})")
    largest = True if largest is None else largest
    if B is None:
        w, V = _eigh(A, "L")
    else:
        L = cholesky(B)
        C = solve_triangular(L, _mH(solve_triangular(L, A, upper=False)), upper=False)
        w, Y = _eigh(C, "L")
        V = solve_triangular(_mH(L), Y, upper=True)
    if largest:
        return w[..., m - k:].flip(-1), V[..., :, m - k:].flip(-1)
    return w[..., :k], V[..., :, :k]
