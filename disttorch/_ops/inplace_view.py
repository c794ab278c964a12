"""In-place ops on views of tensors that are part of a graph: the base takes a new history
(PyTorch's CopySlices): gradient for the region the view covers flows through the in-place op,
the rest flows to the base's previous history."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op


def view_region(grad: Any, base: Any, view: Any) -> Any:
    """The part of ``grad`` (laid out like ``base``) that ``view`` covers in ``base``'s memory."""
    xp = np if type(grad) is np.ndarray else __import__("cupy")
    like = xp.empty_like(base)  # same strides as base where possible
    like[...] = grad
    base_ptr = _ptr(base)
    offset = _ptr(view) - base_ptr
    if like.strides != base.strides:
        raise RuntimeError("in-place op on a view of a tensor with this memory layout is not supported")
    flat = like.reshape(-1) if like.flags.c_contiguous else like.ravel(order="K")
    start = offset // like.itemsize
    region = xp.lib.stride_tricks.as_strided(flat[start:], shape=view.shape, strides=view.strides)
    return like, region


def _ptr(arr: Any) -> int:
    if type(arr) is np.ndarray:
        return arr.__array_interface__["data"][0]
    return int(arr.data.ptr)


class CopySlices(Op):
    """Inputs: the base's old value and the view's new value."""

    def forward(self, base: Any, new_view: Any) -> Any:
        return base  # the data was written in place by the caller

    def backward(self, grad: Tensor) -> tuple:
        g = grad._data
        full, region = view_region(g, self.base_arr, self.view_arr)
        grad_view = Tensor._from_array(region.copy())
        region[...] = 0
        return Tensor._from_array(full), grad_view


def rebase_view(view: Tensor, base: Tensor, result: Tensor) -> None:
    """Give ``base`` a CopySlices history after ``view`` was overwritten with ``result``."""
    if not result._requires_grad and not base._requires_grad:
        return
    old = Tensor._from_array(base._data, base._requires_grad)
    old._grad_fn, old._output_nr, old._accum = base._grad_fn, base._output_nr, base._accum
    new_base = CopySlices.apply(old, result, base_arr=base._data, view_arr=view._data)
    base._grad_fn, base._output_nr, base._requires_grad = new_base._grad_fn, 0, True
