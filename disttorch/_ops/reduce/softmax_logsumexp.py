"""logsumexp, softmax, log_softmax."""
from __future__ import annotations

import operator
from typing import Any

from disttorch import _autocast
from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor, _wrap_dim
from disttorch._warn import warn_user
from disttorch.autograd.graph import Op, _grad_enabled
from disttorch.backends import array_module, backend_for_array

from .._register import methods, type_word, write_out
from ..unary import exp
from ._common import kept_shape, reduce_axes, with_kept_dims

__all__ = ["logsumexp", "softmax", "log_softmax"]


def _shifted(x: Any, axes: tuple, finite_shift: bool = True) -> tuple[Any, Any]:
    """(x - m, m) with m the max over ``axes`` (kept dims). ``finite_shift``: an infinite max shifts by 0
    (logsumexp's inf and -inf); without it a +inf or an all -inf row comes out NaN, as PyTorch's softmax."""
    xp = array_module(x)
    if x.size == 0:
        return x, xp.zeros(kept_shape(x.shape, axes), x.dtype)
    m = x.max(axis=axes, keepdims=True)
    if finite_shift:
        m = xp.where(xp.isinf(m), 0, m).astype(x.dtype, copy=False)
    return x - m, m


class LogSumExp(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        s, m = _shifted(x, self.axes)
        out = xp.log(xp.exp(s).sum(axis=self.axes, keepdims=True)) + m
        return out if self.keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        shape = x._data.shape
        result = with_kept_dims(self.saved_output, shape, self.axes, self.keepdim)
        return with_kept_dims(grad, shape, self.axes, self.keepdim) * exp(x - result)

    def name(self) -> str:
        return "LogsumexpBackward0"


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    if input.dtype.category < D.FLOAT:
        input = input.to(D.get_default_dtype())
    return write_out(LogSumExp.apply(input, axes=reduce_axes(dim, input._data.ndim), keepdim=keepdim), out)


class Softmax(Op):
    """softmax / log_softmax over ``axes``. Without a graph of the backward (create_graph) the backward runs on
    raw arrays, in place on one temporary; with one, in Tensor ops (differentiable again)."""

    save_output = True
    saved_names = {"result": -1, "dim": lambda n: n.axes[0] if n.axes else 0}

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        last = self.axes == (x.ndim - 1,) and x.size > 0 and not self.log
        k = backend_for_array(x).kernels if last else None
        shift = k.get("softmax_shift") if last else None
        if shift is not None:  # compiled (numba): the max and the shift in one pass, the sum and division in one
            e = xp.empty(x.shape, x.dtype)  # C order, so that its rows are a view
            rows = e.reshape(-1, x.shape[-1])
            if shift(x.reshape(-1, x.shape[-1]), rows, 0, 0):  # no causal mask; an infinite max stays (NaN rows)
                xp.exp(e, out=e)
                k["softmax_normalize"](rows)
                return e
        s, _ = _shifted(x, self.axes, finite_shift=False)
        if self.log:
            return s - xp.log(xp.exp(s).sum(axis=self.axes, keepdims=True))
        e = xp.exp(s, out=s) if s is not x and s.ndim else xp.exp(s)  # s is our own temporary
        e /= e.sum(axis=self.axes, keepdims=True)
        return e

    def backward(self, grad: Tensor) -> Tensor:
        y = self.saved_output
        d = self.axes
        if _grad_enabled[0] or not y._data.ndim:
            if self.log:
                return grad - exp(y) * grad.sum(d, keepdim=True)
            return (grad - (grad * y).sum(d, keepdim=True)) * y
        xp, g, yd = y._xp, grad._data, y._data
        if self.log:  # g - exp(y) * sum(g)
            t = xp.exp(yd)
            t *= g.sum(axis=d, keepdims=True)
            return Tensor._from_array(xp.subtract(g, t, out=t))
        if d == (yd.ndim - 1,) and yd.size:
            fast = y._backend.kernels.get("softmax_backward")
            res = fast(g.reshape(-1, yd.shape[-1]), yd.reshape(-1, yd.shape[-1])) if fast is not None else None
            if res is not None:  # compiled (numba): one pass for the sum, one for the result
                return Tensor._from_array(res.reshape(yd.shape))
        t = xp.multiply(g, yd)  # (g - sum(g * y)) * y
        xp.subtract(g, t.sum(axis=d, keepdims=True), out=t)
        t *= yd
        return Tensor._from_array(t)

    def name(self) -> str:
        return "LogSoftmaxBackward0" if self.log else "SoftmaxBackward0"


def _softmax_dim(ndim: int, name: str) -> int:
    warn_user(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
              "as an argument.")
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input: Tensor, dim: Any, dtype: Any, log: bool) -> Tensor:
    name = "log_softmax" if log else "softmax"
    nd = input._data.ndim
    if dim is None:
        dim = _softmax_dim(nd, name)
    if _autocast.on:  # cast in the body, not by a wrapper: the implicit-dim warning's stack level stays right
        input = _autocast.cast_input(name, input)
    axis = _wrap_dim(operator.index(dim), nd)
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    if input.dtype.category < D.FLOAT:
        kernel = "lastdim_kernel_impl" if axis == nd - 1 or nd == 0 else "kernel_impl"
        raise NotImplementedError(f"\"{name}_{kernel}\" not implemented for '{type_word(input.dtype)}'")
    return Softmax.apply(input, axes=(axis,) if nd else (), log=log)


@autocast_op("softmax")
def softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, _stacklevel: int = 3) -> Tensor:
    return _softmax(input, dim, dtype, False)


@autocast_op("log_softmax")
def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, _stacklevel: int = 3) -> Tensor:
    return _softmax(input, dim, dtype, True)


methods({"logsumexp": logsumexp, "softmax": softmax, "log_softmax": log_softmax})
