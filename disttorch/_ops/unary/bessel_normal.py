"""Bessel functions (i0, i0e, i1, i1e; bessel_j0, bessel_j1, bessel_y0, bessel_y1), the normal
distribution's ndtr, ndtri and log_ndtr, erfcx, and the entropy terms entr and xlog1py, for torch.special
(torch.i0 and Tensor.i0 too). Integer inputs compute in the default float dtype; the values are backend
kernels."""
from __future__ import annotations

import math
from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import elementwise, inplace, methods, write_out
from .._util import promote_operands
from ..compare import where
from ._common import float_fn, floating, kernel

__all__ = ["i0", "i0_"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_PI = math.sqrt(math.pi)


def _unary(name: str) -> Any:
    return lambda xp, x: kernel(x, name)(x)


I0 = elementwise("I0", _unary("i0"), lambda g, x, out: g * i1(x))
I0e = elementwise("I0e", _unary("i0e"), lambda g, x, out: g * (i1e(x) - x.sgn() * out), save="x,out",
                  node_name="SpecialI0EBackward0")
# i1' = i0 - i1 / x and i1e' = i0e - i1e (sign(x) + 1 / x), both 1/2 at 0
I1 = elementwise("I1", _unary("i1"),
                 lambda g, x, out: g * where(x == 0, 0.5, i0(x) - out / where(x == 0, 1.0, x)), save="x,out",
                 node_name="SpecialI1Backward0")
I1e = elementwise("I1e", _unary("i1e"),
                  lambda g, x, out: g * where(x == 0, 0.5, i0e(x) - out * (x.sgn() + 1 / where(x == 0, 1.0, x))),
                  save="x,out", node_name="SpecialI1EBackward0")
Ndtr = elementwise("Ndtr", _unary("ndtr"), lambda g, x, out: g * (x * x * -0.5).exp() / _SQRT_2PI,
                   node_name="SpecialNdtrBackward0")
Ndtri = elementwise("Ndtri", _unary("ndtri"), lambda g, x, out: g * (out * out * 0.5).exp() * _SQRT_2PI, save="out",
                    node_name="SpecialNdtriBackward0")
LogNdtr = elementwise("LogNdtr", _unary("log_ndtr"),
                      lambda g, x, out: g * (-(out + x * x * 0.5)).exp() / _SQRT_2PI, save="x,out",
                      node_name="SpecialLogNdtrBackward0")
Erfcx = elementwise("Erfcx", _unary("erfcx"), lambda g, x, out: g * (2 * x * out - 2 / _SQRT_PI), save="x,out",
                    node_name="SpecialErfcxBackward0")


def _entr(xp: Any, x: Any) -> Any:
    """-x log(x) for x > 0, 0 at 0, -inf below (nan stays nan)."""
    with_log = -x * xp.log(xp.where(x > 0, x, 1))
    return xp.where(x > 0, with_log, xp.where(x == 0, 0, xp.where(x < 0, -xp.inf, x))).astype(x.dtype, copy=False)


Entr = elementwise("Entr", _entr, lambda g, x, out: g * -(1 + x.log()), node_name="SpecialEntrBackward0")


class Xlog1py(Op):
    """x * log1p(y), defined as 0 where x == 0 (unless y is nan)."""

    broadcasts = True
    save_inputs = True

    def forward(self, x: Any, y: Any) -> Any:
        xp = array_module(x)
        return xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log1p(y)).astype(x.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        x, y = self.saved_inputs
        gx, gy = self.next_edges
        grad_x = (grad * y.log1p()).masked_fill((x == 0) & (y <= -1), 0) if gx else None
        return grad_x, (grad * x / (y + 1) if gy else None)

    def name(self) -> str:
        return "SpecialXlog1PyBackward0"


i0 = float_fn(I0, "i0")
i0e = float_fn(I0e, "i0e")
i1 = float_fn(I1, "i1")
i1e = float_fn(I1e, "i1e")
ndtr = float_fn(Ndtr, "ndtr")
ndtri = float_fn(Ndtri, "ndtri")
log_ndtr = float_fn(LogNdtr, "log_ndtr")
erfcx = float_fn(Erfcx, "erfcx")
entr = float_fn(Entr, "entr")
i0_ = inplace(i0)


def _no_grad_fn(name: str, compute: Any) -> Any:
    """A special function PyTorch defines no derivative for: its result never requires grad."""

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x = floating(input)
        return write_out(Tensor._from_array(compute(x._data)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


def _kernel_of(name: str) -> Any:
    return lambda arr: kernel(arr, name)(arr)


def _spherical_j0(x: Any) -> Any:
    """sin(x) / x: 1 at 0, 0 at +-inf."""
    xp = array_module(x)
    safe = xp.where(x == 0, 1, x)
    val = xp.where(x == 0, 1, xp.sin(safe) / safe)
    return xp.where(xp.isinf(x), 0, val).astype(x.dtype, copy=False)


bessel_j0, bessel_j1, bessel_y0, bessel_y1 = (_no_grad_fn("bessel_" + n, _kernel_of(n))
                                              for n in ("j0", "j1", "y0", "y1"))
modified_bessel_i0 = _no_grad_fn("modified_bessel_i0", _kernel_of("i0"))
modified_bessel_i1 = _no_grad_fn("modified_bessel_i1", _kernel_of("i1"))
spherical_bessel_j0 = _no_grad_fn("spherical_bessel_j0", _spherical_j0)


def xlog1py(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        x, y = floating(x), floating(y)
    return write_out(Xlog1py.apply(x, y), out)


methods({"i0": i0, "i0_": i0_})
