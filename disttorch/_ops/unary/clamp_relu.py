"""clamp (clip), clamp_min, clamp_max and relu (a clamp at 0 from below), with their in-place forms.
Integer tensors stay integer unless a bound promotes them."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op, plain_backward
from disttorch.backends import array_module

from .._register import inplace, methods, write_out
from .._util import as_tensor_like, cast, check_same_device
from ..compare import where

__all__ = ["clamp", "clip", "clamp_min", "clamp_max", "relu", "clamp_", "clip_", "clamp_min_", "clamp_max_",
           "relu_"]


class Clamp(Op):
    """min(max(x, lo), hi). Bounds are Python scalars (attributes) or tensors (inputs 1 and 2).
    The gradient reaches x where lo <= x <= hi; a tensor bound gets it where x lies beyond it
    (the lower one only while lo < hi), as in PyTorch."""

    save_inputs = True

    def forward(self, x: Any, lo: Any = None, hi: Any = None) -> Any:
        xp = array_module(x)
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else hi
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def backward(self, grad: Tensor) -> tuple:
        x, lo_t, hi_t = self.saved_inputs
        lo = self.lo if lo_t is None else lo_t
        hi = self.hi if hi_t is None else hi_t
        inside = None
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = x <= hi if inside is None else inside & (x <= hi)
        gx = where(inside, grad, 0) if self.next_edges[0] else None
        g_lo = g_hi = None
        if lo_t is not None and self.next_edges[1]:
            below = x < lo if hi is None else (x < lo) & (lo < hi)
            g_lo = where(below, grad, 0)
        if hi_t is not None and self.next_edges[2]:
            above = x > hi if lo is None else (x > hi) | (hi < lo)
            g_hi = where(above, grad, 0)
        return gx, g_lo, g_hi

    def name(self) -> str:
        return self.kind


# PyTorch's node names: overload 1 takes scalar bounds, overload 0 tensor bounds (the other way for min / max)
_SCALAR_NODE = {"clamp": "ClampBackward1", "clamp_min": "ClampMinBackward0", "clamp_max": "ClampMaxBackward0"}
_TENSOR_NODE = {"clamp": "ClampBackward0", "clamp_min": "ClampMinBackward1", "clamp_max": "ClampMaxBackward1"}
_PLAIN = (float, int, type(None))


def _clamp(input: Tensor, lo: Any, hi: Any, fn: str) -> Tensor:
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "f" and type(lo) in _PLAIN and type(hi) in _PLAIN:  # common case, no promotion
        return Clamp.apply(input, None, None, lo=lo, hi=hi, kind=_SCALAR_NODE[fn])
    dt = D.result_type(input, *[b for b in (lo, hi) if b is not None])
    if dt.category == D.COMPLEX:
        raise RuntimeError("clamp is not supported for complex types")
    x = cast(input, dt)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        lo_t = None if lo is None else _bound(lo, x, dt)
        hi_t = None if hi is None else _bound(hi, x, dt)
        return Clamp.apply(x, lo_t, hi_t, lo=None, hi=None, kind=_TENSOR_NODE[fn])
    return Clamp.apply(x, None, None, lo=lo, hi=hi, kind=_SCALAR_NODE[fn])


def _bound(b: Any, x: Tensor, dt: D.dtype) -> Tensor:
    """A bound as a tensor of ``dt`` on ``x``'s device (a cpu 0-dim tensor may bound a cuda one, as in PyTorch)."""
    t = cast(as_tensor_like(b, x, dt), dt)
    check_same_device(x, t)
    if type(t._data) is not type(x._data):
        t = t.to(x.device)
    return t


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:
    return write_out(_clamp(input, min, max, "clamp"), out)


clip = clamp


def clamp_min(input: Tensor, min: Any, *, out: Tensor | None = None) -> Tensor:
    return write_out(_clamp(input, min, None, "clamp_min"), out)


def clamp_max(input: Tensor, max: Any, *, out: Tensor | None = None) -> Tensor:
    return write_out(_clamp(input, None, max, "clamp_max"), out)


class Relu(Op):
    save_output = True
    saved_names = {"result": -1}

    def forward(self, x: Any) -> Any:
        return array_module(x).maximum(x, 0)

    def backward(self, grad: Tensor) -> Tensor:
        y = self.saved_output
        if plain_backward(grad):
            fast = y._backend.kernels.get("relu_backward")  # compiled (numba), one pass; None: numpy
            gx = fast(grad._data, y._data) if fast is not None else None
            return Tensor._from_array(gx if gx is not None else _zero_where(grad._data, y._data <= 0))
        return ReluGrad.apply(grad, drop=y._data <= 0)  # relu'(0) = 0


class ReluGrad(Op):
    """0 where ``drop`` (even where grad is inf or nan), else grad: torch's threshold_backward."""

    def forward(self, g: Any) -> Any:
        return _zero_where(g, self.drop)

    def backward(self, grad: Tensor) -> Tensor:
        return ReluGrad.apply(grad, drop=self.drop)

    def name(self) -> str:
        return "ThresholdBackwardBackward0"


def _zero_where(g: Any, drop: Any) -> Any:
    """where(drop, 0, g). For floats of drop's shape, a bitwise and with an all-zeros/all-ones mask:
    np.where's branchy loop is ~6x slower on unpredictable (relu) masks."""
    xp = array_module(g)
    if g.dtype.kind != "f" or g.shape != drop.shape or not g.ndim:
        return xp.where(drop, xp.zeros((), g.dtype), g)
    bits = np.dtype(f"u{g.dtype.itemsize}")
    out = drop.astype(bits)
    out -= 1  # 1 -> 0, 0 -> all ones
    xp.bitwise_and(g.view(bits), out, out=out)
    return out.view(g.dtype)


def relu(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


clamp_ = clip_ = inplace(clamp)
clamp_min_ = inplace(clamp_min)
clamp_max_ = inplace(clamp_max)
relu_ = inplace(relu, lambda a: array_module(a).maximum(a, 0, out=a))

methods({
    "clamp": clamp, "clip": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max, "relu": relu,
    "clamp_": clamp_, "clip_": clamp_, "clamp_min_": clamp_min_, "clamp_max_": clamp_max_, "relu_": relu_,
})
