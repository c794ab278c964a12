"""Magnitude, sign and rounding: abs, sign, sgn, signbit, positive, floor, ceil, round, trunc (fix), frac,
with their in-place forms. These keep integer dtypes, as in PyTorch."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import elementwise, inplace, methods, ufunc_writer, write_out
from ._common import copy_of, not_implemented, zeros_like

__all__ = ["abs", "absolute", "sign", "sgn", "signbit", "positive", "floor", "ceil", "round", "trunc", "fix",
           "frac", "abs_", "sgn_", "floor_", "ceil_", "round_", "trunc_", "fix_", "frac_"]

_from_array = Tensor._from_array


def _sign(xp: Any, x: Any) -> Any:
    """PyTorch's sign: (0 < x) - (x < 0), so sign(nan) = 0."""
    if x.dtype.kind != "f":
        return xp.sign(x)
    return (x > 0).astype(x.dtype) - (x < 0)


Abs = elementwise("Abs", lambda xp, x: xp.abs(x), lambda g, x, out: g * x.sgn())  # abs'(0) = 0
Sign = elementwise("Sign", _sign, lambda g, x, out: zeros_like(g), save="")
Frac = elementwise("Frac", lambda xp, x: x - xp.trunc(x), lambda g, x, out: g, save="")


class Sgn(Op):
    """x / |x| (0 at 0); for real x, the sign."""

    save_inputs = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        if x.dtype.kind != "c":
            return _sign(xp, x)
        a = xp.abs(x)
        return xp.where(a == 0, 0, x / xp.where(a == 0, 1, a))

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        if not x.is_complex():
            return zeros_like(grad)
        a = x.abs()
        s = x.sgn()
        return ((grad - (grad * s.conj()).real * s) / a).masked_fill(a == 0, 0)


class Rounding(Op):
    """floor, ceil, round, trunc: piecewise constant, so the gradient is zero."""

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        if self.kind == "round":
            return xp.round(x, self.decimals) if self.decimals else xp.rint(x)
        return getattr(xp, self.kind)(x)

    def backward(self, grad: Tensor) -> Tensor:
        return zeros_like(grad)

    def name(self) -> str:
        suffix = "1" if self.kind == "round" and self.decimals else "0"
        return self.kind.capitalize() + "Backward" + suffix


def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    not_implemented(input, "b", "abs")
    return write_out(Abs.apply(input), out)


absolute = abs


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind == "b":
        return write_out(copy_of(input), out)
    if input._data.dtype.kind == "c":
        raise RuntimeError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                           "torch.sgn instead.")
    return write_out(Sign.apply(input), out)


def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind == "b":
        return write_out(copy_of(input), out)
    return write_out(Sgn.apply(input), out)


def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    x = input._data
    return write_out(_from_array(input._xp.signbit(x) if x.dtype.kind != "b" else input._xp.zeros_like(x, bool)),
                     out)


def positive(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def _rounding(kind: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        not_implemented(input, "b", f"{kind}_vml")
        if input._data.dtype.kind in "iu":  # already integral
            return write_out(copy_of(input), out)
        return write_out(Rounding.apply(input, kind=kind, decimals=0), out)

    fn.__name__ = fn.__qualname__ = kind
    return fn


floor = _rounding("floor")
ceil = _rounding("ceil")
trunc = fix = _rounding("trunc")


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    not_implemented(input, "b", "round_vml" if not decimals else "round")
    if input._data.dtype.kind in "iu":
        not_implemented(input, "iu" if decimals else "", "round")
        return write_out(copy_of(input), out)
    return write_out(Rounding.apply(input, kind="round", decimals=decimals), out)


def frac(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    not_implemented(input, "biu", "frac")
    return write_out(Frac.apply(input), out)


abs_ = inplace(abs, ufunc_writer("abs"))
sgn_ = inplace(sgn)
floor_ = inplace(floor)
ceil_ = inplace(ceil)
round_ = inplace(round)
trunc_ = fix_ = inplace(trunc)
frac_ = inplace(frac)

methods({
    "abs": abs, "absolute": abs, "sign": sign, "sgn": sgn, "signbit": signbit, "positive": positive,
    "floor": floor, "ceil": ceil, "round": round, "trunc": trunc, "fix": fix, "frac": frac,
    "abs_": abs_, "absolute_": abs_, "sign_": inplace(sign), "sgn_": sgn_, "floor_": floor_, "ceil_": ceil_,
    "round_": round_, "trunc_": trunc_, "fix_": fix_, "frac_": frac_, "__abs__": abs,
})
