"""norm_except_dim: the 2-norm over every dimension but ``dim`` (all of them for dim=-1), kept for broadcasting."""
from __future__ import annotations

from disttorch._tensor import Tensor


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    if dim == -1:
        return v.norm(pow)
    dim = dim % v.ndim
    axes = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, axes, keepdim=True) if axes else v.abs()
