"""Argument normalisation shared by the convolution and pooling functions."""
from __future__ import annotations

from typing import Any, Callable


def int_tuple(value: Any, nd: int, error: Callable[[tuple], str]) -> tuple:
    """``value`` (an int, or a sequence of 1 or ``nd`` ints) as ``nd`` ints; otherwise a RuntimeError whose
    message is ``error(values)``."""
    if isinstance(value, int):
        return (value,) * nd
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise RuntimeError(error(value))
    return value
