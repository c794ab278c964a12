"""Exponentials, logarithms and powers of one tensor: exp, exp2, expm1, log, log2, log10, log1p, sqrt,
rsqrt, square, reciprocal, with their in-place forms. Integer inputs compute in the default float dtype."""
from __future__ import annotations

import math

from disttorch._tensor import Tensor

from .._register import elementwise, inplace, methods, ufunc_writer, write_out
from ..arith import pow
from ._common import cj, float_fn

__all__ = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "reciprocal",
           "exp_", "exp2_", "expm1_", "log_", "log2_", "log10_", "log1p_", "sqrt_", "rsqrt_", "square_",
           "reciprocal_"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

Exp = elementwise("Exp", lambda xp, x: xp.exp(x), lambda g, x, out: g * cj(out), save="out")
Exp2 = elementwise("Exp2", lambda xp, x: xp.exp2(x), lambda g, x, out: g * cj(out * _LN2), save="out")
Expm1 = elementwise("Expm1", lambda xp, x: xp.expm1(x), lambda g, x, out: g * cj(out + 1), save="out")
Log = elementwise("Log", lambda xp, x: xp.log(x), lambda g, x, out: g / cj(x))
Log2 = elementwise("Log2", lambda xp, x: xp.log2(x), lambda g, x, out: g / cj(x * _LN2))
Log10 = elementwise("Log10", lambda xp, x: xp.log10(x), lambda g, x, out: g / cj(x * _LN10))
Log1p = elementwise("Log1p", lambda xp, x: xp.log1p(x), lambda g, x, out: g / cj(x + 1), node_name="Log1PBackward0")
# sqrt'(0) = inf, as in PyTorch
Sqrt = elementwise("Sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, out: g / cj(out * 2), save="out")
Rsqrt = elementwise("Rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda g, x, out: g * cj(out * out * out * -0.5),
                    save="out")
Reciprocal = elementwise("Reciprocal", lambda xp, x: 1 / x, lambda g, x, out: -g * cj(out * out), save="out")

exp = float_fn(Exp, "exp")
exp2 = float_fn(Exp2, "exp2")
expm1 = float_fn(Expm1, "expm1")
log = float_fn(Log, "log")
log2 = float_fn(Log2, "log2")
log10 = float_fn(Log10, "log10")
log1p = float_fn(Log1p, "log1p")
sqrt = float_fn(Sqrt, "sqrt")
rsqrt = float_fn(Rsqrt, "rsqrt")
reciprocal = float_fn(Reciprocal, "reciprocal")


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(pow(input, 2), out)


exp_ = inplace(exp, ufunc_writer("exp"))
exp2_ = inplace(exp2)
expm1_ = inplace(expm1)
log_ = inplace(log, ufunc_writer("log"))
log2_ = inplace(log2)
log10_ = inplace(log10)
log1p_ = inplace(log1p)
sqrt_ = inplace(sqrt, ufunc_writer("sqrt"))
rsqrt_ = inplace(rsqrt)
square_ = inplace(square)
reciprocal_ = inplace(reciprocal)

methods({
    "exp": exp, "exp2": exp2, "expm1": expm1, "log": log, "log2": log2, "log10": log10, "log1p": log1p,
    "sqrt": sqrt, "rsqrt": rsqrt, "square": square, "reciprocal": reciprocal,
    "exp_": exp_, "exp2_": exp2_, "expm1_": expm1_, "log_": log_, "log2_": log2_, "log10_": log10_,
    "log1p_": log1p_, "sqrt_": sqrt_, "rsqrt_": rsqrt_, "square_": square_, "reciprocal_": reciprocal_,
})
