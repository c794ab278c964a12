"""Small composites over existing ops (their gradients come from those ops): diagflat, dist."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor

from .._register import methods
from ..reduce.norms import vector_norm
from ..shape.diagonal import diag_embed
from ..shape.views import flatten

__all__ = ["diagflat", "dist"]


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input laid on diagonal ``offset`` of a square matrix."""
    return diag_embed(flatten(input), offset, 0, 1)


def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast)."""
    return vector_norm(input - other, p)


methods({"diagflat": diagflat, "dist": dist})
