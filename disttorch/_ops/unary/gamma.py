"""The gamma family: lgamma, digamma, polygamma, mvlgamma, the Hurwitz zeta function and the regularized
incomplete gamma functions igamma / igammac, with their in-place forms. Integer inputs compute in the
default float dtype (igamma refuses them, as PyTorch does); the values are backend kernels."""
from __future__ import annotations

import math
from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

from .._register import elementwise, inplace, methods, type_word, write_out
from .._util import promote_operands
from ._common import float_fn, floating, kernel

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "igamma", "igammac"]


Lgamma = elementwise("Lgamma", lambda xp, x: kernel(x, "lgamma")(x), lambda g, x, out: g * digamma(x))
Digamma = elementwise("Digamma", lambda xp, x: kernel(x, "digamma")(x), lambda g, x, out: g * polygamma(1, x))


class Polygamma(Op):
    """The n-th derivative of digamma; its gradient is polygamma(n + 1, x)."""

    save_inputs = True

    def forward(self, x: Any) -> Any:
        return kernel(x, "polygamma")(self.n, x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * polygamma(self.n + 1, self.saved_inputs[0])


class Zeta(Op):
    """The Hurwitz zeta function sum_k (k + q)^-x; PyTorch defines no gradient in x."""

    broadcasts = True
    save_inputs = True

    def forward(self, x: Any, q: Any) -> Any:
        return kernel(x, "zeta")(x, q)

    def backward(self, grad: Tensor) -> tuple:
        x, q = self.saved_inputs
        gx, gq = self.next_edges
        if gx:
            raise RuntimeError("the derivative for 'zeta' is not implemented.")
        return None, (grad * -x * zeta(x + 1.0, q) if gq else None)

    def name(self) -> str:
        return "SpecialZetaBackward0"


class Igamma(Op):
    """P(a, x) (``upper``: Q(a, x) = 1 - P); d/dx P = x^(a-1) e^-x / Gamma(a), none in a (as PyTorch)."""

    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, x: Any) -> Any:
        return kernel(a, "igammac" if self.upper else "igamma")(a, x)

    def backward(self, grad: Tensor) -> tuple:
        a, x = self.saved_inputs
        ga, gx = self.next_edges
        if ga:
            raise RuntimeError(f"the derivative for '{self._word()}: input' is not implemented.")
        if not gx:
            return None, None
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, grad * (-density if self.upper else density)

    def _word(self) -> str:
        return "igammac" if self.upper else "igamma"

    def name(self) -> str:
        return "IgammacBackward0" if self.upper else "IgammaBackward0"


lgamma = float_fn(Lgamma, "lgamma")
digamma = float_fn(Digamma, "digamma")


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input, out=out)
    return write_out(Polygamma.apply(floating(input), n=int(n)), out)


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma: sum_{i<p} lgamma(x - i/2) + p (p - 1) / 4 log(pi)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = floating(input)  # PyTorch 2.13 no longer refuses x <= (p - 1) / 2
    shifts = Tensor._from_array(x._xp.arange(p, dtype=x._data.dtype) * -0.5)
    result = lgamma(x.unsqueeze(-1) + shifts).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return write_out(result, out)


def zeta(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    x, q, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        x, q = floating(x), floating(q)
    return write_out(Zeta.apply(x, q), out)


def _igamma(input: Any, other: Any, out: Tensor | None, upper: bool) -> Tensor:
    a, x, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        raise NotImplementedError(f"\"{'igammac' if upper else 'igamma'}_cpu\" not implemented for '{type_word(dt)}'")
    return write_out(Igamma.apply(a, x, upper=upper), out)


def igamma(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other)."""
    return _igamma(input, other, out, False)


def igammac(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    return _igamma(input, other, out, True)


methods({
    "lgamma": lgamma, "digamma": digamma, "polygamma": lambda self, n: polygamma(n, self),
    "mvlgamma": lambda self, p: mvlgamma(self, p),
    "lgamma_": inplace(lgamma), "digamma_": inplace(digamma),
    "polygamma_": inplace(lambda self, n: polygamma(n, self), name="polygamma_"),
    "mvlgamma_": inplace(lambda self, p: mvlgamma(self, p), name="mvlgamma_"),
    "igamma": igamma, "igammac": igammac, "igamma_": inplace(igamma), "igammac_": inplace(igammac),
})
