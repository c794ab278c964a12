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
    if type(ext).__name__ == "PyCapsule":  # a legacy capsule, as torch.utils.dlpack.to_dlpack gives
        ext = _Capsule(ext)
    if not hasattr(ext, "__dlpack_device__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ and __dlpack_device__, got "
                        f"{type(ext).__name__}")
    device_type, _ = ext.__dlpack_device__()
    backend = get_backend("cuda" if int(device_type) == _DLPACK_CUDA else "cpu")
    return Tensor._from_array(backend.from_dlpack(ext))


class _Capsule:
    """A DLPack capsule dressed as a ``__dlpack__`` producer (its device read from the DLTensor it holds)."""

    def __init__(self, capsule: Any) -> None:
        import ctypes

        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        ptr = get(capsule, b"dltensor")  # raises ValueError for a capsule already consumed
        # DLManagedTensor starts with DLTensor {void *data; DLDevice {int32 device_type, device_id}; ...}
        self.device = (ctypes.c_int32.from_address(ptr + ctypes.sizeof(ctypes.c_void_p)).value,
                       ctypes.c_int32.from_address(ptr + ctypes.sizeof(ctypes.c_void_p) + 4).value)
        self.capsule = capsule

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.device
