"""``GradBucket`` (what a DDP communication hook receives) and ``BuiltinCommHookType``."""
from __future__ import annotations

import enum
from typing import Any

from disttorch._tensor import Tensor


class BuiltinCommHookType(enum.Enum):
    ALLREDUCE = 1
    FP16_COMPRESS = 2


class GradBucket:
    """One bucket of a DDP backward: ``buffer()`` is the flat tensor of its gradients (not yet averaged),
    ``gradients()`` their views into it, ``parameters()`` the parameters, in the same order."""

    def __init__(self, index: int, buffer: Tensor, gradients: list[Tensor], parameters: list[Tensor],
                 is_last: bool) -> None:
        self._index, self._buffer, self._grads, self._params, self._last = index, buffer, gradients, parameters, \
            is_last

    def index(self) -> int:
        return self._index

    def buffer(self) -> Tensor:
        return self._buffer

    def gradients(self) -> list[Tensor]:
        return list(self._grads)

    def parameters(self) -> list[Tensor]:
        return list(self._params)

    def is_last(self) -> bool:
        return self._last

    def set_buffer(self, buffer: Tensor) -> None:
        self._buffer = buffer

    def __repr__(self) -> str:
        return f"GradBucket(index={self._index}, numel={self._buffer.numel()}, is_last={self._last})"


def _hook_result(value: Any) -> Tensor:
    """A hook's future may hold the tensor or a one-tensor list (what an all_reduce future gives)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise RuntimeError(f"A DDP communication hook's future must hold one tensor, got {len(value)}")
        value = value[0]
    if not isinstance(value, Tensor):
        raise RuntimeError(f"A DDP communication hook's future must hold a Tensor, got {type(value).__name__}")
    return value
