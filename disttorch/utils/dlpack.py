"""Zero-copy exchange with other array libraries through DLPack."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.backends import get_backend

_DLPACK_CPU, _DLPACK_CUDA = 1, 2


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory."""
    return tensor.__dlpack__()


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing memory with any object that implements ``__dlpack__`` (numpy, cupy, torch...)."""
    if isinstance(ext, Tensor):
        return ext
    if not hasattr(ext, "__dlpack_device__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ and __dlpack_device__, got "
                        f"{type(ext).__name__}")
    device_type, _ = ext.__dlpack_device__()
    backend = get_backend("cuda" if int(device_type) == _DLPACK_CUDA else "cpu")
    return Tensor._from_array(backend.from_dlpack(ext))
