"""torch.linalg.lstsq: least-squares solutions through the pseudo-inverse.

Every driver's solution is the minimum-norm least-squares one, computed as pinv(A) B with the driver's rank
cut (singular values at most ``rcond`` times the largest are dropped; ``gels`` assumes full rank and drops
only exact zeros), so the gradient of the solution is that of pinv(A) B, as PyTorch defines it. What else is
returned follows PyTorch per driver: ``rank`` for gelsy/gelsd/gelss, ``singular_values`` for gelsd/gelss,
``residuals`` (squared 2-norm of each column of A X - B) when m > n, for gels always and for gelsd/gelss when
every matrix has full rank. gelsy's rank here is read from the singular values, not from LAPACK's
rank-revealing QR; they agree unless a singular value sits at the cut.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor

from .._register import type_word
from ..shape import squeeze, unsqueeze
from ..unary import conj
from ._common import _broadcast_shapes, _check_float, _const
from .decompositions import pinv
from .products import Matmul

__all__: list[str] = []

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    fname = "torch.linalg.lstsq"
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: input must have at least 2 dimensions.")
    if B._data.ndim < 1:
        raise RuntimeError(f"{fname}: other must have at least 1 dimension.")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fname}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{type_word(A.dtype)} and other's dtype {type_word(B.dtype)}")
    _check_float(A, "linalg.lstsq")
    if not 0 <= A._data.ndim - B._data.ndim <= 1:
        raise RuntimeError(f"{fname}: input.dim() must be greater or equal to other.dim() and (input.dim() - "
                           "other.dim()) <= 1")
    vector = B._data.ndim == A._data.ndim - 1
    Bm = unsqueeze(B, -1) if vector else B
    _broadcast_shapes(A._data.shape[:-2], Bm._data.shape[:-2])
    if A._data.shape[-2] != Bm._data.shape[-2]:
        raise RuntimeError(f"{fname}: input.size(-2) should match other.size(-2)")
    cuda = A.device.type == "cuda"
    if driver is None:
        driver = "gels" if cuda else "gelsy"
    elif driver not in _DRIVERS:
        raise RuntimeError(f"{fname}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    elif cuda and driver != "gels":
        raise RuntimeError(f"{fname}: `driver` other than `gels` is not supported on CUDA")
    m, n = A._data.shape[-2:]
    xp = A._xp
    real = A._data.real.dtype
    eps = float(np.finfo(real).eps)
    if driver == "gels":
        rtol = 0.0
    else:
        rtol = eps * max(m, n) if rcond is None else (eps if rcond < 0 else float(rcond))
    X = Matmul.apply(pinv(A, rtol=rtol), Bm)
    empty = _const(xp.empty((0,), dtype=real))
    rank, svals = _const(xp.empty((0,), dtype=np.int64)), empty
    full_rank = True
    if driver != "gels":
        a = A._data  # rank and singular values keep A's own batch shape, as in PyTorch
        s = xp.linalg.svd(a, compute_uv=False).astype(real, copy=False) if a.size else \
            xp.zeros(a.shape[:-2] + (min(m, n),), dtype=real)
        smax = s[..., :1] if s.shape[-1] else xp.zeros(a.shape[:-2] + (1,), dtype=real)
        r = (s > rtol * smax).sum(axis=-1).astype(np.int64)
        rank = _const(r)
        full_rank = bool((r == min(m, n)).all())
        if driver in ("gelsd", "gelss"):
            svals = _const(s)
    residuals = empty
    if m > n and (driver == "gels" or (driver != "gelsy" and full_rank)):
        diff = Matmul.apply(A, X) - Bm
        sq = diff * diff if diff._data.dtype.kind != "c" else (diff * conj(diff)).real
        residuals = sq.sum(-2)
    if vector:
        X = squeeze(X, -1)
    return return_types.linalg_lstsq((X, residuals, rank, svals))
