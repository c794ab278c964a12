"""Flatten parameters into one vector and back."""
from __future__ import annotations

from typing import Any, Iterable

from disttorch._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, old: Any) -> Any:
    device = param.device
    if old is not None and device != old:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (differentiable, like ``torch.cat``)."""
    from disttorch._ops.shape import cat

    device = None
    vec = []
    for param in parameters:
        device = _check_same_device(param, device)
        vec.append(param.reshape(-1))
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    flat = vec.detach().reshape(-1)
    for param in parameters:
        device = _check_same_device(param, device)
        n = param.numel()
        param.data = flat[pointer:pointer + n].view_as(param).data
        pointer += n
