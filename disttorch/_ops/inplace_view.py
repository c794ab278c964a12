"""In-place ops on views of tensors that are part of a graph (PyTorch's CopySlices).

After ``view.op_()`` the base takes a new history, CopySlices: the gradient of the region the
view covers flows to the in-place op's result, the rest to the base's previous history. A view
whose base changed since its history was recorded gets a fresh history from the base's current
one (AsStridedBackward0), so later uses of the view see the new values' graph.

The region is described by the memory geometry of view and base, turned into flat (C-order)
indices into the base's logical layout; the gradient ops on it are differentiable.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op, _seq
from disttorch.backends import backend_for_array, data_ptr

from .index.primitives import Index, _IndexGrad, _MaskOut


class Region:
    """Where a view lies inside its base: flat C-order indices of the base, cached per device."""

    __slots__ = ("base_shape", "view_shape", "base_strides", "view_strides", "offset", "itemsize", "_idx")

    def __init__(self, base: Any, view: Any) -> None:
        self.base_shape, self.view_shape = base.shape, view.shape
        self.base_strides, self.view_strides = base.strides, view.strides
        self.offset = data_ptr(view) - data_ptr(base)
        self.itemsize = base.itemsize
        self._idx: dict = {}

    def index(self, like: Any) -> Any:
        """The indices as an array on ``like``'s device."""
        backend = backend_for_array(like)
        key = (type(like), backend.device_index(like))
        idx = self._idx.get(key)
        if idx is None:
            idx = self._idx[key] = backend.asarray(self._host_index(), device_index=key[1])
        return idx

    def _host_index(self) -> np.ndarray:
        item = self.itemsize
        # memory offset (in elements) of every element of the base, in C order
        boff = np.zeros(self.base_shape, np.int64)
        for d, (n, s) in enumerate(zip(self.base_shape, self.base_strides)):
            shape = [1] * len(self.base_shape)
            shape[d] = n
            boff = boff + (np.arange(n, dtype=np.int64) * (s // item)).reshape(shape)
        boff = boff.reshape(-1)
        lo = int(boff.min()) if boff.size else 0
        where = np.full(int(boff.max()) - lo + 1 if boff.size else 0, -1, np.int64)
        where[boff - lo] = np.arange(boff.size, dtype=np.int64)
        voff = np.full(self.view_shape, self.offset // item, np.int64)
        for d, (n, s) in enumerate(zip(self.view_shape, self.view_strides)):
            shape = [1] * len(self.view_shape)
            shape[d] = n
            voff = voff + (np.arange(n, dtype=np.int64) * (s // item)).reshape(shape)
        idx = where[voff - lo]
        if idx.size and idx.min() < 0:
            raise RuntimeError("in-place operation on a view whose elements are not all in its base")
        return idx


# The gradient ops on a region are the flat index primitives, with the region's indices on the gradient's device.
def _take_region(g: Tensor, region: Region) -> Tensor:
    """The view's part of a base-shaped tensor."""
    return Index.apply(g, idx=(region.index(g._data),), flat=True)


def _put_region(g: Tensor, region: Region) -> Tensor:
    """A base-shaped tensor of zeros holding ``g`` where the view lies."""
    return _IndexGrad.apply(g, shape=region.base_shape, idx=(region.index(g._data),), accumulate=False, flat=True)


def _zero_region(g: Tensor, region: Region) -> Tensor:
    """A base-shaped tensor with the view's part set to zero."""
    return _MaskOut.apply(g, idx=(region.index(g._data),), flat=True)


class CopySlices(Op):
    """Inputs: the base's previous value and the view's new value. The caller writes the data."""

    def forward(self, base: Any, new_view: Any) -> Any:
        return base

    def backward(self, grad: Tensor) -> tuple:
        ga, gb = self.next_edges
        return (_zero_region(grad, self.region) if ga else None, _take_region(grad, self.region) if gb else None)

    def name(self) -> str:
        return "torch::autograd::CopySlices"

    def __repr__(self) -> str:
        return f"<CopySlices object at {id(self):#x}>"


class AsStrided(Op):
    """History of a view taken from its base's current history (built by ``view_history``)."""

    def backward(self, grad: Tensor) -> Tensor:
        return _put_region(grad, self.region)

    def name(self) -> str:
        return "AsStridedBackward0"


class Overwritten(Op):
    """History of a tensor overwritten in place by a constant: no gradient reaches its past."""

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, grad: Tensor) -> Tensor:
        return Tensor._from_array(grad._xp.zeros_like(grad._data))  # zeros, as PyTorch gives the old values

    def name(self) -> str:
        return "FillBackward0"


def rebase_view(view: Tensor, base: Tensor, result: Tensor) -> None:
    """Give ``base`` a CopySlices history after ``view`` was overwritten with ``result``."""
    if not result._requires_grad and not base._requires_grad:
        return
    old = Tensor._from_array(base._data, base._requires_grad)
    old._grad_fn, old._output_nr, old._accum = base._grad_fn, base._output_nr, base._accum
    new_base = CopySlices.apply(old, result, region=Region(base._data, view._data))
    base._grad_fn, base._output_nr, base._requires_grad = new_base._grad_fn, 0, True


def view_history(view: Tensor) -> None:
    """Make ``view``'s history the region of its base's current history (AsStridedBackward0)."""
    base = view._base
    node = AsStrided.__new__(AsStrided)
    node.region = Region(base._data, view._data)
    node.next_edges = (base._edge(),)
    node.seq = next(_seq)
    node.pre_hooks = node.post_hooks = None
    node.trace = None
    if view._extra is not None and view._extra.get("retains_grad"):
        from disttorch._tensor import _move_retain_hook

        _move_retain_hook(view, node, 0)
    view._grad_fn, view._output_nr, view._requires_grad = node, 0, True
    mark_current(view)


def mark_current(view: Tensor) -> None:
    """Record that ``view``'s history matches its storage's current version."""
    if view._extra is None:
        view._extra = {}
    view._extra["hv"] = view._vc[0]
