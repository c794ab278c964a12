"""nn.Parameter: a leaf tensor that modules register as a parameter."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor, _init


class Parameter(Tensor):
    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        from disttorch._ops.creation import empty

        if data is None:
            data = empty(0)
        p = object.__new__(cls)
        _init(p, data._data, False)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return (Parameter, (Tensor._from_array(self._data.copy()), self._requires_grad))

    def __deepcopy__(self, memo: dict) -> Parameter:
        new = Parameter(Tensor._from_array(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new
