"""PyTorch's broadcasting rule and its error message, for arrays of any library (no imports)."""
from __future__ import annotations

from typing import Sequence


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of ``shapes``, or PyTorch's RuntimeError naming the first pair of sizes that clash
    (scanning each new shape from the right, as PyTorch's ``infer_size`` does)."""
    result: tuple[int, ...] = ()
    for shape in shapes:
        shape = tuple(shape)
        ndim = max(len(result), len(shape))
        out = [1] * ndim
        for i in range(ndim - 1, -1, -1):
            offset = ndim - 1 - i
            a = result[len(result) - 1 - offset] if offset < len(result) else 1
            b = shape[len(shape) - 1 - offset] if offset < len(shape) else 1
            if a != b and a != 1 and b != 1:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                                   f"non-singleton dimension {i}")
            out[i] = b if a == 1 else a
        result = tuple(out)
    return result
