"""sigmoid, logit and the error functions erf, erfc, erfinv, with their in-place forms. Integer inputs
compute in the default float dtype. erf and friends are backend kernels (numpy has none of them)."""
from __future__ import annotations

import math
from typing import Any

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import elementwise, inplace, methods, write_out
from ..compare import where
from ._common import cj, float_fn, floating, kernel

__all__ = ["sigmoid", "logit", "erf", "erfc", "erfinv", "sigmoid_", "logit_", "erf_", "erfc_"]

_SQRT_PI = math.sqrt(math.pi)


Sigmoid = elementwise("Sigmoid", lambda xp, x: 1 / (1 + xp.exp(-x)), lambda g, x, out: g * cj(out * (1 - out)),
                      save="out")
Erf = elementwise("Erf", lambda xp, x: kernel(x, "erf")(x),
                  lambda g, x, out: g * (-(x * x)).exp() * (2 / _SQRT_PI))
Erfc = elementwise("Erfc", lambda xp, x: kernel(x, "erfc")(x),
                   lambda g, x, out: g * (-(x * x)).exp() * (-2 / _SQRT_PI))
Erfinv = elementwise("Erfinv", lambda xp, x: kernel(x, "erfinv")(x),
                     lambda g, x, out: g * (out * out).exp() * (_SQRT_PI / 2), save="out")


class Logit(Op):
    """log(x / (1 - x)), with x first clamped to [eps, 1 - eps] when ``eps`` is given."""

    save_inputs = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        if self.eps is not None:
            x = xp.clip(x, self.eps, 1 - self.eps)
        return xp.log(x / (1 - x))

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        g = grad / (x * (1 - x))
        if self.eps is None:  # outside [0, 1] the gradient is nan; at 0 and 1 it is grad * inf (any zero's sign)
            g = where((x == 0) | (x == 1), grad * math.inf, g)
            return g.masked_fill((x < 0) | (x > 1), math.nan)
        return g.masked_fill((x < self.eps) | (x > 1 - self.eps), 0)


sigmoid = float_fn(Sigmoid, "sigmoid")
erf = float_fn(Erf, "erf")
erfc = float_fn(Erfc, "erfc")
erfinv = float_fn(Erfinv, "erfinv")


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    return write_out(Logit.apply(floating(input), eps=eps), out)


sigmoid_ = inplace(sigmoid)
logit_ = inplace(logit)
erf_ = inplace(erf)
erfc_ = inplace(erfc)

methods({
    "sigmoid": sigmoid, "logit": logit, "erf": erf, "erfc": erfc, "erfinv": erfinv,
    "sigmoid_": sigmoid_, "logit_": logit_, "erf_": erf_, "erfc_": erfc_, "erfinv_": inplace(erfinv),
})
