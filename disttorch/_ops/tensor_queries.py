"""Small Tensor methods PyTorch programs call: device and layout flags (disttorch tensors are dense and live
on cpu, cuda or meta, so ``is_mps``, ``is_quantized``... are False), dtype questions (``is_signed``,
``is_same_size``), the complex casts ``cfloat``/``cdouble``, and thin aliases of existing ops
(``dist``, ``narrow_copy``, ``sum_to_size``, ``unsafe_split``, ``to_dense``)."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor

from ._register import method, methods
from ._util import normalize_shape, sum_to
from .reduce import norm
from .shape import chunk, narrow, split, split_with_sizes

_DENSE_FALSE_FLAGS = ("is_ipu", "is_maia", "is_mkldnn", "is_mps", "is_mtia", "is_nested", "is_quantized",
                      "is_sparse_csr", "is_vulkan", "is_xla", "is_xpu")
for _flag in _DENSE_FALSE_FLAGS:
    method(_flag, property(lambda self: False))


def is_signed(self: Tensor) -> bool:
    return self.dtype.is_signed


def is_same_size(self: Tensor, other: Tensor) -> bool:
    return self.shape == other.shape


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether both are the same view of the same memory (storage, offset, shape and strides)."""
    return (self.data_ptr() == tensor.data_ptr() and self.shape == tensor.shape
            and self.stride() == tensor.stride())


def is_inference(self: Tensor) -> bool:
    return False  # tensors made under inference_mode are ordinary tensors here


def dist(self: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``self - other``."""
    return norm(self - other, p)


def narrow_copy(self: Tensor, dim: int, start: int, length: int) -> Tensor:
    return narrow(self, dim, start, length).clone()


def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum over the dims where ``size`` is 1 (or missing in front), keeping them as 1s."""
    shape = normalize_shape(size)
    try:
        return sum_to(self, shape)
    except ValueError:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(self.shape)}}}.") from None


def _complex_cast(dt: D.dtype) -> Any:
    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        return self.to(dt)

    return cast


def to_dense(self: Tensor, dtype: Any = None, *, masked_grad: bool | None = None) -> Tensor:
    return self if dtype is None else self.to(dtype)  # already dense


def dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple[int, ...]:
    """The dims from outermost to innermost in memory (by decreasing stride)."""
    return tuple(sorted(range(self.ndim), key=lambda d: -self.stride(d)))


methods({
    "is_signed": is_signed, "is_same_size": is_same_size, "is_set_to": is_set_to, "is_inference": is_inference,
    "is_distributed": lambda self: False, "is_neg": lambda self: False,
    "const_data_ptr": lambda self: self.data_ptr(), "to_dense": to_dense, "dim_order": dim_order,
    "dist": dist, "narrow_copy": narrow_copy, "sum_to_size": sum_to_size,
    "cfloat": _complex_cast(D.complex64), "cdouble": _complex_cast(D.complex128),
    "unsafe_chunk": chunk, "unsafe_split": split, "unsafe_split_with_sizes": split_with_sizes,
})
