"""Trigonometric and hyperbolic functions and their inverses, sinc, deg2rad and rad2deg, with their in-place
forms. Integer inputs compute in the default float dtype; complex backwards use the conjugate derivative."""
from __future__ import annotations

import math

from .._register import elementwise, inplace, methods, ufunc_writer
from ._common import cj, float_fn

__all__ = ["sin", "cos", "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh",
           "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "sinc", "deg2rad", "rad2deg",
           "sin_", "cos_", "tan_", "asin_", "arcsin_", "acos_", "arccos_", "atan_", "arctan_", "sinh_", "cosh_",
           "tanh_", "asinh_", "arcsinh_", "acosh_", "arccosh_", "atanh_", "arctanh_", "sinc_", "deg2rad_",
           "rad2deg_"]

_PI = math.pi

Sin = elementwise("Sin", lambda xp, x: xp.sin(x), lambda g, x, out: g * cj(x.cos()))
Cos = elementwise("Cos", lambda xp, x: xp.cos(x), lambda g, x, out: g * cj(-x.sin()))
Tan = elementwise("Tan", lambda xp, x: xp.tan(x), lambda g, x, out: g * cj(out * out + 1), save="out")
Asin = elementwise("Asin", lambda xp, x: xp.arcsin(x), lambda g, x, out: g / cj((1 - x * x).sqrt()))
Acos = elementwise("Acos", lambda xp, x: xp.arccos(x), lambda g, x, out: -g / cj((1 - x * x).sqrt()))
Atan = elementwise("Atan", lambda xp, x: xp.arctan(x), lambda g, x, out: g / cj(x * x + 1))
Sinh = elementwise("Sinh", lambda xp, x: xp.sinh(x), lambda g, x, out: g * cj(x.cosh()))
Cosh = elementwise("Cosh", lambda xp, x: xp.cosh(x), lambda g, x, out: g * cj(x.sinh()))
Tanh = elementwise("Tanh", lambda xp, x: xp.tanh(x), lambda g, x, out: g * cj(1 - out * out), save="out")
Asinh = elementwise("Asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, out: g / cj((x * x + 1).sqrt()))
Acosh = elementwise("Acosh", lambda xp, x: xp.arccosh(x), lambda g, x, out: g / cj((x - 1).sqrt() * (x + 1).sqrt()))
Atanh = elementwise("Atanh", lambda xp, x: xp.arctanh(x), lambda g, x, out: g / cj(1 - x * x))
# d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
Sinc = elementwise("Sinc", lambda xp, x: xp.sinc(x),
                   lambda g, x, out: g * cj((((x * _PI).cos() - out) / x).masked_fill(x == 0, 0)), save="x,out")
Deg2rad = elementwise("Deg2rad", lambda xp, x: x * (_PI / 180), lambda g, x, out: g * (_PI / 180), save="",
                      node_name="Deg2RadBackward0")
Rad2deg = elementwise("Rad2deg", lambda xp, x: x * (180 / _PI), lambda g, x, out: g * (180 / _PI), save="",
                      node_name="Rad2DegBackward0")

sin = float_fn(Sin, "sin")
cos = float_fn(Cos, "cos")
tan = float_fn(Tan, "tan")
asin = arcsin = float_fn(Asin, "asin")
acos = arccos = float_fn(Acos, "acos")
atan = arctan = float_fn(Atan, "atan")
sinh = float_fn(Sinh, "sinh")
cosh = float_fn(Cosh, "cosh")
tanh = float_fn(Tanh, "tanh")
asinh = arcsinh = float_fn(Asinh, "asinh")
acosh = arccosh = float_fn(Acosh, "acosh")
atanh = arctanh = float_fn(Atanh, "atanh")
sinc = float_fn(Sinc, "sinc")
deg2rad = float_fn(Deg2rad, "deg2rad")
rad2deg = float_fn(Rad2deg, "rad2deg")

sin_ = inplace(sin)
cos_ = inplace(cos)
tan_ = inplace(tan)
asin_ = arcsin_ = inplace(asin)
acos_ = arccos_ = inplace(acos)
atan_ = arctan_ = inplace(atan)
sinh_ = inplace(sinh)
cosh_ = inplace(cosh)
tanh_ = inplace(tanh, ufunc_writer("tanh"))
asinh_ = arcsinh_ = inplace(asinh)
acosh_ = arccosh_ = inplace(acosh)
atanh_ = arctanh_ = inplace(atanh)
sinc_ = inplace(sinc)
deg2rad_ = inplace(deg2rad)
rad2deg_ = inplace(rad2deg)

methods({
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "arcsin": asin, "acos": acos, "arccos": acos, "atan": atan,
    "arctan": atan, "sinh": sinh, "cosh": cosh, "tanh": tanh, "asinh": asinh, "arcsinh": asinh, "acosh": acosh,
    "arccosh": acosh, "atanh": atanh, "arctanh": atanh, "sinc": sinc, "deg2rad": deg2rad, "rad2deg": rad2deg,
    "sin_": sin_, "cos_": cos_, "tan_": tan_, "asin_": asin_, "arcsin_": asin_, "acos_": acos_, "arccos_": acos_,
    "atan_": atan_, "arctan_": atan_, "sinh_": sinh_, "cosh_": cosh_, "tanh_": tanh_, "asinh_": asinh_,
    "arcsinh_": asinh_, "acosh_": acosh_, "arccosh_": acosh_, "atanh_": atanh_, "arctanh_": atanh_,
    "sinc_": sinc_, "deg2rad_": deg2rad_, "rad2deg_": rad2deg_,
})
