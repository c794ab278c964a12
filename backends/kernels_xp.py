"""Kernels written once for any numpy-compatible module ``xp`` (numpy, cupy)."""
from __future__ import annotations

from typing import Any


def kernel_table(xp: Any) -> dict[str, Any]:
    def scatter_add(target, index, values):
        """target[index] += values, with repeated indices summed (unbuffered)."""
        if hasattr(xp, "add") and hasattr(xp.add, "at"):
            xp.add.at(target, index, values)
        else:  # cupy exposes the same operation under cupyx
            import cupyx

            cupyx.scatter_add(target, index, values)
        return target

    return {"scatter_add": scatter_add}
