"""PyTorch's legacy tensor types: ``torch.FloatTensor``, ``torch.LongTensor``, ``torch.cuda.FloatTensor``...

Tutorials still write ``torch.FloatTensor(2, 3)`` (an uninitialised 2x3 float32 tensor),
``torch.LongTensor([1, 2])`` (data), ``isinstance(x, torch.FloatTensor)`` and ``x.type(torch.DoubleTensor)``.
Each name is a class whose instances are the Tensors of its dtype and device type.
"""
from __future__ import annotations

from typing import Any

from . import _dtype as D
from ._tensor import Tensor

_KINDS = (("Float", D.float32), ("Double", D.float64), ("Half", D.float16), ("BFloat16", D.bfloat16),
          ("Long", D.int64), ("Int", D.int32), ("Short", D.int16), ("Char", D.int8), ("Byte", D.uint8),
          ("Bool", D.bool_))


class LegacyTensorType(type):
    """The class of ``torch.FloatTensor`` and its siblings: calling one makes a tensor of its dtype on its
    device type; ``isinstance`` matches the tensors of that dtype and device type."""

    dtype: D.dtype
    is_cuda: bool

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        if device is None:
            device = "cuda" if cls.is_cuda else None
        return Tensor(*args, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.is_cuda == cls.is_cuda

    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _make(name: str, dt: D.dtype, cuda: bool) -> LegacyTensorType:
    return LegacyTensorType(name, (), {"dtype": dt, "is_cuda": cuda,
                                       "__module__": "torch.cuda" if cuda else "torch",
                                       "__doc__": f"Tensors of dtype {dt} on {'cuda' if cuda else 'cpu'}."})


CPU_TYPES = {f"{word}Tensor": _make(f"{word}Tensor", dt, False) for word, dt in _KINDS}
CUDA_TYPES = {f"{word}Tensor": _make(f"{word}Tensor", dt, True) for word, dt in _KINDS}
__all__ = list(CPU_TYPES)
globals().update(CPU_TYPES)


def set_default_tensor_type(t: Any) -> None:
    """Deprecated in PyTorch: ``torch.set_default_dtype`` (and ``set_default_device``) say it directly."""
    import warnings

    from ._device import set_default_device

    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    if isinstance(t, str):
        prefix, _, name = t.rpartition(".")
        t = (CUDA_TYPES if prefix == "torch.cuda" else CPU_TYPES).get(name)
    if not isinstance(t, LegacyTensorType):
        raise TypeError(f"invalid type: {t!r}")
    if not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    D.set_default_dtype(t.dtype)
    set_default_device("cuda" if t.is_cuda else None)


__all__.append("set_default_tensor_type")
