"""``Tensor.grad_dtype``: the dtype a leaf's accumulated gradient is cast to (its own dtype by default; None
lets any dtype through). AccumulateGrad reads it from the leaf's extras, so leaves without one pay nothing."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor

__all__: list[str] = []


def _get(self: Tensor) -> Any:
    if self._grad_fn is not None:
        raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
    extra = self._extra
    return extra["grad_dtype"] if extra and "grad_dtype" in extra else self.dtype


def _set(self: Tensor, value: Any) -> None:
    if self._grad_fn is not None:
        raise RuntimeError("grad_dtype can only be set on leaf tensors.")
    self._extra_dict()["grad_dtype"] = None if value is None else D.to_dtype(value)


Tensor.grad_dtype = property(_get, _set, doc=__doc__)
