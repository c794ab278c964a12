"""Log-space sums: logaddexp, logaddexp2 (elementwise) and logcumsumexp (a scan along a dim)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from ._register import methods, type_word, write_out
from ._util import promote_operands, wrap_dim

__all__ = ["logaddexp", "logaddexp2", "logcumsumexp"]


class Logaddexp(Op):
    """log(e^a + e^b); d/da = e^(a - out)."""

    broadcasts = True
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).logaddexp(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        out = self.saved_output
        ga, gb = self.next_edges
        return (grad * (a - out).exp() if ga else None), (grad * (b - out).exp() if gb else None)


class Logaddexp2(Op):
    """log2(2^a + 2^b); d/da = 2^(a - out)."""

    broadcasts = True
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).logaddexp2(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        out = self.saved_output
        ga, gb = self.next_edges
        return (grad * (a - out).exp2() if ga else None), (grad * (b - out).exp2() if gb else None)


def _floating_binary(op: type[Op], name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        if dt.category != D.FLOAT:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_word(dt)}'")
        return write_out(op.apply(x, y), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


logaddexp = _floating_binary(Logaddexp, "logaddexp")
logaddexp2 = _floating_binary(Logaddexp2, "logaddexp2")


def _logcumsumexp_array(x: Any, axis: int) -> Any:
    """log(cumsum(exp(x))) along ``axis`` without overflow or underflow of the running sum."""
    xp = array_module(x)
    accumulate = getattr(xp.logaddexp, "accumulate", None)
    if accumulate is not None:
        try:
            return accumulate(x, axis=axis)
        except (NotImplementedError, TypeError):  # array modules whose ufuncs lack ``accumulate``
            pass
    # shift each running prefix by its running maximum, then undo the shift
    run_max = xp.maximum.accumulate(x, axis=axis) if hasattr(xp.maximum, "accumulate") else None
    if run_max is None:
        run_max = xp.broadcast_to(x.max(axis=axis, keepdims=True), x.shape)
    shift = xp.where(xp.isfinite(run_max), run_max, 0)
    last = xp.take(shift, [-1], axis=axis)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return xp.log(xp.cumsum(xp.exp(x - last), axis=axis)) + last


class Logcumsumexp(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        if x.ndim == 0:
            return x.copy()
        return _logcumsumexp_array(x, self.axis)

    def backward(self, grad: Tensor) -> Tensor:
        (x,) = self.saved_inputs
        out = self.saved_output
        if x.ndim == 0:
            return grad
        d = self.axis
        # grad_x[i] = sum_{j >= i} grad[j] e^(x[i] - out[j]); the positive and negative parts of grad are
        # summed in log space (PyTorch's formula) so that no exponential overflows
        neg_inf = float("-inf")
        pos = grad.clamp(min=0).log().masked_fill(grad <= 0, neg_inf) - out
        neg = (-grad).clamp(min=0).log().masked_fill(grad >= 0, neg_inf) - out
        rev = lambda t: logcumsumexp(t.flip(d), d).flip(d)  # noqa: E731
        return (x + rev(pos)).exp() - (x + rev(neg)).exp()


def logcumsumexp(input: Tensor, dim: int, *, out: Tensor | None = None) -> Tensor:
    dt = input.dtype
    if dt.category != D.FLOAT and dt.category != D.COMPLEX:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{type_word(dt)}'")
    axis = wrap_dim(dim, max(input.ndim, 1))
    return write_out(Logcumsumexp.apply(input, axis=axis), out)


methods({"logaddexp": logaddexp, "logaddexp2": logaddexp2, "logcumsumexp": logcumsumexp})
