"""Index grids and combinatorial constructions: ``cartesian_prod``, ``combinations``, ``block_diag``,
``tril_indices``, ``triu_indices``, ``unravel_index``, ``vander``.

The differentiable ones are compositions of indexing, joining and product ops, so autograd comes from those."""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

import disttorch
from disttorch import _dtype as D
from disttorch._tensor import Tensor

__all__ = ["cartesian_prod", "combinations", "block_diag", "tril_indices", "triu_indices", "unravel_index",
           "vander"]


def _one_dim(t: Tensor, what: str) -> None:
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """The Cartesian product of 1-D tensors, one row per tuple."""
    for t in tensors:
        _one_dim(t, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    grids = disttorch.meshgrid(*tensors, indexing="ij")
    return disttorch.stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Length-``r`` combinations of the elements of a 1-D tensor, as rows."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.narrow(0, 0, 0)  # empty, but still in input's graph as in PyTorch
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return input.narrow(0, 0, 0).unsqueeze(1).expand(0, r)
    idx = disttorch.tensor(np.asarray(rows, dtype=np.int64).T.copy(), device=input.device)
    return disttorch.stack([input.index_select(0, idx[k]) for k in range(r)], 1)


def block_diag(*tensors: Tensor) -> Tensor:
    """The block-diagonal matrix of 0-, 1- and 2-dimensional tensors."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return disttorch.empty(1, 0)
    dt = D.result_type(*mats) if len(mats) > 1 else mats[0].dtype
    dev = mats[0].device
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        h, w = m.shape
        parts = [disttorch.zeros(h, left, dtype=dt, device=dev), m.to(dt),
                 disttorch.zeros(h, width - left - w, dtype=dt, device=dev)]
        rows.append(disttorch.cat(parts, 1))
        left += w
    return disttorch.cat(rows, 0)


def _tri_indices(fn: Any, row: int, col: int, offset: int, dtype: Any, device: Any) -> Tensor:
    dt = D.int64 if dtype is None else D.to_dtype(dtype)
    if dt not in (D.int64, D.int32):
        raise RuntimeError("\"tril_indices\" not implemented for '" + str(dt).replace("disttorch.", "") + "'")
    r, c = fn(row, offset, col)
    arr = np.stack([r, c]).astype(dt.np) if row and col else np.zeros((2, 0), dt.np)
    return disttorch.tensor(arr, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """Row and column indices (2 x N) of the lower triangle of a row x col matrix."""
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """Row and column indices (2 x N) of the upper triangle of a row x col matrix."""
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device)


def unravel_index(indices: Tensor, shape: int | Sequence[int]) -> tuple[Tensor, ...]:
    """Coordinates, one tensor per dimension of ``shape``, of flat ``indices`` into that shape."""
    if not isinstance(indices, Tensor):
        indices = disttorch.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype is D.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = [shape] if isinstance(shape, int) else list(shape)
    if any(d < 0 for d in dims):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(dims)))
    idx = indices.to(D.int64)  # no bounds check, as in PyTorch: floor division and remainder throughout
    coords = []
    for d in reversed(dims):
        coords.append(idx % d if d else idx)
        idx = idx // d if d else idx
    return tuple(reversed(coords))


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns x**0 .. x**(N-1) (decreasing unless ``increasing``)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(D.int64)
    if n == 0:
        return disttorch.empty(x.shape[0], 0, dtype=x.dtype, device=x.device)
    ones = disttorch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    if n > 1:
        ones = disttorch.cat([ones, x.unsqueeze(1).expand(-1, n - 1)], 1)
    res = ones.cumprod(1)
    return res if increasing else res.flip(1)
