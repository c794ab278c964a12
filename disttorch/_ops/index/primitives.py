"""The two differentiable primitives every indexing op reduces to: ``Index`` (read ``x[idx]``) and
``IndexPut`` (write or accumulate ``v`` into ``x[idx]``); their backwards are each other (plus
``_IndexGrad`` / ``_MaskOut`` for the gradient of the indexed tensor)."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from .._register import type_word
from .._util import as_tensor_like, cast, sum_to
from .parse import _is_basic


def _scatter(target: Any, idx: Any, values: Any, how: str = "sum") -> None:
    """target[idx] = how(target[idx], values) with repeated indices all reduced in (sum, prod, amax, amin)."""
    backend = backend_for_array(target)
    if how == "sum":  # the one scatter kernel every backend has
        backend.kernels["scatter_add"](target, idx, values)
        return
    kernel = backend.kernels.get("scatter_reduce")
    if kernel is None:
        raise NotImplementedError(f"scatter_reduce with reduce='{how}' is not supported on the {backend.name!r} "
                                  "backend (it has no scatter_reduce kernel)")
    kernel(target, idx, values, how)


# -- the primitives --------------------------------------------------------------------------------------
class Index(Op):
    """out = x[idx] (a copy: advanced indexing); ``flat`` indexes x viewed as 1-D."""

    kind = "Index"
    flat = False

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        return (x.reshape(-1) if self.flat else x)[self.idx]

    def backward(self, grad: Tensor) -> Tensor:
        return _IndexGrad.apply(grad, shape=self.shape, idx=self.idx, accumulate=True, flat=self.flat)

    def name(self) -> str:
        return self.kind + "Backward0"


class View(Index):
    """out = x[idx] for basic indices: shares storage and version counter with x."""

    view = True

    def backward(self, grad: Tensor) -> Tensor:
        return _IndexGrad.apply(grad, shape=self.shape, idx=self.idx, accumulate=False, flat=False)


class _IndexGrad(Op):
    """zeros(shape) with g written (or accumulated, for repeated indices) at idx."""

    flat = False

    def forward(self, g: Any) -> Any:
        out = array_module(g).zeros(self.shape, g.dtype)
        target = out.reshape(-1) if self.flat else out
        if self.accumulate:
            _scatter(target, self.idx, g)
        else:
            target[self.idx] = g
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return Index.apply(grad, idx=self.idx, flat=self.flat)


class _MaskOut(Op):
    """g with zeros at idx (the gradient of a tensor whose entries at idx were overwritten)."""

    flat = False

    def forward(self, g: Any) -> Any:
        out = g.copy()
        (out.reshape(-1) if self.flat else out)[self.idx] = 0
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return _MaskOut.apply(grad, idx=self.idx, flat=self.flat)


class IndexPut(Op):
    """out = x with v written (accumulate=False) or added (True) at idx; v broadcasts to x[idx]."""

    kind = "IndexPut"
    flat = False

    def forward(self, x: Any, v: Any) -> Any:
        out = x.copy()  # C order, so the flat view below writes through
        self.vshape = v.shape
        target = out.reshape(-1) if self.flat else out
        try:
            if self.accumulate:
                _scatter(target, self.idx, v)
            else:
                target[self.idx] = v
        except ValueError:
            raise RuntimeError(_broadcast_message(target, v.shape, self.idx)) from None
        return out

    def backward(self, grad: Tensor) -> tuple:
        gx_edge, gv_edge = self.next_edges
        gx = gv = None
        if gx_edge is not None:
            gx = grad if self.accumulate else _MaskOut.apply(grad, idx=self.idx, flat=self.flat)
        if gv_edge is not None:
            gv = sum_to(Index.apply(grad, idx=self.idx, flat=self.flat), self.vshape)
        return gx, gv

    def name(self) -> str:
        return self.kind if ":" in self.kind or "Backward" in self.kind else self.kind + "Backward0"


def _broadcast_message(x: Any, vshape: tuple, idx: tuple) -> str:
    target = x[idx].shape
    if not _is_basic(idx):
        return (f"shape mismatch: value tensor of shape {list(vshape)} cannot be broadcast to indexing result "
                f"of shape {list(target)}")
    lead = len(target) - len(vshape)
    for i in range(len(vshape) - 1, -1, -1):
        t = target[lead + i] if lead + i >= 0 else 1
        if vshape[i] != 1 and vshape[i] != t:
            return (f"The expanded size of the tensor ({t}) must match the existing size ({vshape[i]}) at "
                    f"non-singleton dimension {lead + i}.  Target sizes: {list(target)}.  Tensor sizes: "
                    f"{list(vshape)}")
    return f"cannot broadcast value of shape {list(vshape)} to {list(target)}"


def _value_for(self: Tensor, value: Any) -> Tensor:
    """``value`` as a tensor of self's dtype on self's device (kept differentiable)."""
    if not isinstance(value, Tensor):
        return as_tensor_like(value, self, self.dtype)
    if type(value._data) is not type(self._data):
        value = value.to(self.device)
    return cast(value, self.dtype)


def _check_put_dtype(self: Tensor, value: Any) -> None:
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        dst, src = type_word(self.dtype), type_word(value.dtype)
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got {dst} for the "
                           f"destination and {src} for the source.")


def _put(input: Tensor, idx: tuple, value: Tensor, accumulate: bool, kind: str, flat: bool = False) -> Tensor:
    """``input`` with ``value`` written (or accumulated) at ``idx``, a new tensor; ``kind`` names the node."""
    return IndexPut.apply(input, value, idx=idx, accumulate=accumulate, kind=kind, flat=flat)


def _index(x: Tensor, idx: tuple, kind: str = "Index", flat: bool = False) -> Tensor:
    return Index.apply(x, idx=idx, kind=kind, flat=flat)
