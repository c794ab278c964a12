"""Elementwise math on one tensor (exp, log, trig, rounding, activations, clamp, ...) and a few
pointwise ops with extra operands (lerp, addcmul, addcdiv, xlogy, heaviside), with in-place forms.

Float functions (exp, sqrt, sin, ...) compute integer and bool inputs in the default float dtype;
abs, sign, clamp, rounding and relu keep integer dtypes, as in PyTorch. Backward formulas are Tensor
expressions, so higher-order gradients work; for complex inputs they use the conjugate derivative.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

from ._util import as_tensor_like, attach, cast, promote_operands, self_xp
from .arith import _out, _type_word, pow

_from_array = Tensor._from_array
_PI = math.pi
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

__all__ = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "abs", "absolute",
    "sign", "sgn", "signbit", "sin", "cos", "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh",
    "cosh", "tanh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "sigmoid", "logit", "relu",
    "erf", "erfc", "erfinv", "floor", "ceil", "round", "trunc", "fix", "frac", "reciprocal", "clamp", "clip",
    "clamp_min", "clamp_max", "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "real", "imag",
    "angle", "nan_to_num", "lerp", "addcmul", "addcdiv", "deg2rad", "rad2deg", "sinc", "xlogy", "heaviside",
    "positive",
]


def _cj(t: Tensor) -> Tensor:
    """Conjugate for complex tensors (the chain rule for holomorphic functions), identity otherwise."""
    return t.conj() if type(t) is Tensor and t._data.dtype.kind == "c" else t


def _zeros_like(t: Tensor) -> Tensor:
    return _from_array(t._xp.zeros_like(t._data))


def _where(cond: Tensor, a: Any, b: Any) -> Tensor:
    from .compare import where

    return where(cond, a, b)


# -- exponentials and logarithms --------------------------------------------------------------------
class Exp(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).exp(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_output)


class Exp2(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).exp2(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_output * _LN2)


class Expm1(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).expm1(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_output + 1)


class Log(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).log(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad / _cj(self.saved_inputs[0])


class Log2(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).log2(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad / _cj(self.saved_inputs[0] * _LN2)


class Log10(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).log10(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad / _cj(self.saved_inputs[0] * _LN10)


class Log1p(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).log1p(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad / _cj(self.saved_inputs[0] + 1)

    def name(self) -> str:
        return "Log1PBackward0"


class Sqrt(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).sqrt(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad / _cj(self.saved_output * 2)  # inf at 0, as in PyTorch


class Rsqrt(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return 1 / self_xp(x).sqrt(x)

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return grad * _cj(out * out * out * -0.5)


class Reciprocal(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return 1 / x

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return -grad * _cj(out * out)


# -- trigonometric and hyperbolic ---------------------------------------------------------------------
class Sin(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).sin(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_inputs[0].cos())


class Cos(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).cos(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(-self.saved_inputs[0].sin())


class Tan(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).tan(x)

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return grad * _cj(out * out + 1)


class Asin(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arcsin(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad / _cj((1 - x * x).sqrt())


class Acos(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arccos(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return -grad / _cj((1 - x * x).sqrt())


class Atan(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arctan(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad / _cj(x * x + 1)


class Sinh(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).sinh(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_inputs[0].cosh())


class Cosh(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).cosh(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _cj(self.saved_inputs[0].sinh())


class Tanh(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).tanh(x)

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return grad * _cj(1 - out * out)


class Asinh(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arcsinh(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad / _cj((x * x + 1).sqrt())


class Acosh(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arccosh(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad / _cj((x - 1).sqrt() * (x + 1).sqrt())


class Atanh(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).arctanh(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad / _cj(1 - x * x)


class Sinc(Op):
    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).sinc(x)

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        d = ((x * _PI).cos() - self.saved_output) / x  # d/dx sin(pi x)/(pi x); 0 at x = 0
        return grad * _cj(d.masked_fill(x == 0, 0))


class Deg2rad(Op):
    def forward(self, x: Any) -> Any:
        return x * (_PI / 180)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * (_PI / 180)

    def name(self) -> str:
        return "Deg2RadBackward0"


class Rad2deg(Op):
    def forward(self, x: Any) -> Any:
        return x * (180 / _PI)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * (180 / _PI)

    def name(self) -> str:
        return "Rad2DegBackward0"


# -- activations --------------------------------------------------------------------------------------
class Sigmoid(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return 1 / (1 + self_xp(x).exp(-x))

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return grad * _cj(out * (1 - out))


class Logit(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        if self.eps is not None:
            x = self_xp(x).clip(x, self.eps, 1 - self.eps)
        return self_xp(x).log(x / (1 - x))

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        g = grad / (x * (1 - x))
        if self.eps is None:  # outside [0, 1] the gradient is nan; at 0 and 1 it is grad * inf (any zero's sign)
            g = _where((x == 0) | (x == 1), grad * math.inf, g)
            return g.masked_fill((x < 0) | (x > 1), math.nan)
        return g.masked_fill((x < self.eps) | (x > 1 - self.eps), 0)


class Relu(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).maximum(x, 0)

    def backward(self, grad: Tensor) -> Tensor:
        return ReluGrad.apply(grad, drop=self.saved_output._data <= 0)  # relu'(0) = 0


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
    xp = self_xp(g)
    if g.dtype.kind != "f" or g.shape != drop.shape or not g.ndim:
        return xp.where(drop, xp.zeros((), g.dtype), g)
    bits = np.dtype(f"u{g.dtype.itemsize}")
    out = drop.astype(bits)
    out -= 1  # 1 -> 0, 0 -> all ones
    xp.bitwise_and(g.view(bits), out, out=out)
    return out.view(g.dtype)


# -- error function ----------------------------------------------------------------------------------
class Erf(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return _special(x, "erf")

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad * (-(x * x)).exp() * (2 / math.sqrt(_PI))


class Erfc(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return _special(x, "erfc")

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        return grad * (-(x * x)).exp() * (-2 / math.sqrt(_PI))


class Erfinv(Op):
    save_output = True

    def forward(self, x: Any) -> Any:
        return _special(x, "erfinv")

    def backward(self, grad: Tensor) -> Tensor:
        out = self.saved_output
        return grad * (out * out).exp() * (math.sqrt(_PI) / 2)


def _special(x: Any, name: str) -> Any:
    """erf / erfc / erfinv: cupy has them (cupyx.scipy.special); on numpy, the functions below,
    computed in float64."""
    if type(x) is not np.ndarray:
        import cupyx.scipy.special as special

        return getattr(special, name)(x)
    if x.dtype == np.float32 and name != "erfinv" and x.ndim:
        return _erf_f32(x, name == "erfc")
    x64 = np.asarray(x, dtype=np.float64)
    out = {"erf": _erf, "erfc": _erfc, "erfinv": _erfinv}[name](x64.reshape(-1)).reshape(x64.shape)
    return out.astype(x.dtype, copy=False)


_F32: dict = {}
_F32_FAR = {False: 3.95, True: 10.1}  # erf rounds to 1 past 3.92; erfc underflows to 0 past 10.06


def _f32_tables() -> dict:
    """Power-basis polynomials (highest degree first) in u in [-1, 1], accurate well beyond float32:
    erf(x)/x over s = x*x in [0, 1] (u = 2s - 1, degree 7, relative error ~4e-11) and
    h(t) = x * exp(x*x) * erfc(x) over t = 1/x in [1/3.95, 1] (for erf: degree 9, absolute error of erf
    ~1e-9) and [1/10.1, 1] (for erfc: degree 14, relative error ~3e-10)."""
    if not _F32:
        C = np.polynomial.chebyshev

        def small(s: float) -> float:
            x = math.sqrt(s)
            return math.erf(x) / x if x else 2.0 / math.sqrt(_PI)

        def large(t: float) -> float:
            x = 1.0 / t
            with localcontext() as ctx:
                ctx.prec = 40
                return float(Decimal(x) * (Decimal(x) * Decimal(x)).exp() * Decimal(math.erfc(x)))

        for key, f, a, b, deg in (("small", small, 0.0, 1.0, 7), (False, large, 1 / _F32_FAR[False], 1.0, 9),
                                  (True, large, 1 / _F32_FAR[True], 1.0, 14)):
            c = C.chebinterpolate(lambda u, f=f, a=a, b=b: np.array([f(a + (b - a) * (v + 1) / 2) for v in u]), deg)
            _F32[key] = C.cheb2poly(c)[::-1].tolist()
    return _F32


def _horner(coef: list, u: np.ndarray) -> np.ndarray:
    p = u * coef[0]
    p += coef[1]
    for c in coef[2:]:
        p *= u
        p += c
    return p


def _erf_f32(x: np.ndarray, complement: bool) -> np.ndarray:
    """erf / erfc of float32 values, evaluated in float64 (x*x is exact there) by two short polynomials,
    without masks or gathers, in cache-sized chunks: about 2.5x faster than the float64 path."""
    tab = _f32_tables()
    small, far, top = tab["small"], tab[complement], _F32_FAR[complement]
    flat = x.reshape(-1)
    out = np.empty(flat.shape, np.float32)
    lo = 1.0 / top
    scale, shift = 2.0 / (1.0 - lo), (1.0 + lo) / (1.0 - lo)
    step = 1 << 14
    for i in range(0, flat.size, step):
        v = flat[i:i + step].astype(np.float64)
        a = np.abs(v)
        s = v * v
        # |x| < 1: erf(x) = x * P(x*x)
        u = np.minimum(s, 1.0)
        u *= 2.0
        u -= 1.0
        inner = _horner(small, u)
        inner *= v
        # |x| >= 1: erfc(|x|) = exp(-x*x) * h(1/|x|) / |x| (nan stays nan through the clip)
        ac = np.clip(a, 1.0, top)
        t = 1.0 / ac
        u = t * scale
        u -= shift
        tail = _horner(far, u)
        tail *= t
        ac *= ac
        np.negative(ac, out=ac)
        tail *= np.exp(ac, out=ac)
        near = a < 1.0
        if complement:
            np.subtract(1.0, inner, out=inner)
            tail = np.where(v < 0, 2.0 - tail, tail)
            out[i:i + step] = np.where(near, inner, tail)
        else:
            np.subtract(1.0, tail, out=tail)
            out[i:i + step] = np.where(near, inner, np.copysign(tail, v, out=tail))
    return out.reshape(x.shape)


_CHEB: dict = {}


def _cheb_tables() -> dict:
    """Chebyshev interpolants, built once from math.erf / math.erfc at the interpolation nodes:
    erf(x)/x over s = x*x in [0, 1], and h(t) = x * exp(x*x) * erfc(x) over t = 1/x in [0.1, 0.5] and [0.5, 1]."""
    if _CHEB:
        return _CHEB

    def small(s: float) -> float:
        x = math.sqrt(s)
        return math.erf(x) / x

    def large(t: float) -> float:
        x = 1.0 / t
        with localcontext() as ctx:
            ctx.prec = 40  # exp(x*x) exact enough that a node carries only erfc's own rounding
            return float(Decimal(x) * (Decimal(x) * Decimal(x)).exp() * Decimal(math.erfc(x)))

    for key, f, a, b, deg in (("small", small, 0.0, 1.0, 12), ("mid", large, 0.1, 0.5, 20),
                              ("far", large, 0.5, 1.0, 20)):
        nodes = np.polynomial.chebyshev.chebinterpolate(
            lambda u, f=f, a=a, b=b: np.array([f(a + (b - a) * (v + 1) / 2) for v in u]), deg)
        _CHEB[key] = (nodes, a, b)
    return _CHEB


def _clenshaw(key: str, v: np.ndarray) -> np.ndarray:
    c, a, b = _CHEB[key]
    u = v * (2.0 / (b - a))
    u -= (a + b) / (b - a)
    u2 = u + u
    b1 = np.full_like(u, c[-1])
    b2 = np.zeros_like(u)
    for ck in c[-2:0:-1]:  # b1, b2 = u2 * b1 - b2 + ck, b1 (in place)
        b2 *= -1.0
        b2 += ck
        b2 += u2 * b1
        b1, b2 = b2, b1
    b1 *= u
    b1 -= b2
    b1 += c[0]
    return b1


def _exp_neg_sq(x: np.ndarray) -> np.ndarray:
    """exp(-x*x) without the rounding error of x*x: x splits into a 26-bit head and a tail."""
    head = x * 134217729.0
    head = head - (head - x)
    tail = x - head
    return np.exp(-head * head) * np.exp(-tail * (x + head))


def _erfc_pos(x: np.ndarray) -> np.ndarray:
    """erfc(x) for x >= 1."""
    out = np.empty_like(x)
    near = x < 10.0
    xn = x[near]
    t = 1.0 / xn
    h = np.empty_like(t)
    far = t > 0.5
    h[far] = _clenshaw("far", t[far])
    h[~far] = _clenshaw("mid", t[~far])
    out[near] = _exp_neg_sq(xn) * h * t
    # asymptotic series: erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * sum_n (-1)^n (2n-1)!! / (2x^2)^n
    xf = np.minimum(x[~near], 30.0)  # erfc underflows to 0 well before 30
    u = 0.5 / (xf * xf)
    s = np.ones_like(xf)
    for n in range(16, 0, -1):
        s = 1.0 - (2 * n - 1) * u * s
    out[~near] = _exp_neg_sq(xf) * s / (xf * math.sqrt(_PI))
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    _cheb_tables()
    small = np.abs(x) < 1.0
    out = np.empty_like(x)
    xs = x[small]
    out[small] = xs * _clenshaw("small", xs * xs)
    xb = x[~small]
    out[~small] = np.copysign(1.0 - _erfc_pos(np.abs(xb)), xb)  # nan stays nan
    return out


def _erfc(x: np.ndarray) -> np.ndarray:
    _cheb_tables()
    small = np.abs(x) < 1.0
    out = np.empty_like(x)
    xs = x[small]
    out[small] = 1.0 - xs * _clenshaw("small", xs * xs)
    xb = x[~small]
    e = _erfc_pos(np.abs(xb))
    out[~small] = np.where(xb < 0, 2.0 - e, e)
    return out


def _erfinv(y: np.ndarray) -> np.ndarray:
    ay = np.abs(y)
    # Winitzki's closed form as the start (relative error ~1e-3), then two Halley steps (cubic
    # convergence) on erf(x) = |y|, or on erfc(x) = 1 - |y| in the tails (1 - |y| is exact there)
    a = 0.147
    ln = np.log1p(-ay * ay)
    c = 2.0 / (_PI * a) + 0.5 * ln
    x = np.sqrt(np.sqrt(c * c - ln / a) - c)
    tail = ay > 0.5
    q = 1.0 - ay
    k = 2.0 / math.sqrt(_PI)
    for _ in range(2):
        finite = np.isfinite(x)
        xs = np.where(finite, x, 0.0)
        f = np.empty_like(xs)
        f[tail] = q[tail] - _erfc(xs[tail])
        f[~tail] = _erf(xs[~tail]) - ay[~tail]
        d = k * _exp_neg_sq(xs)
        x = np.where(finite & (d > 0), x - f / (d + xs * f), x)
    return np.copysign(x, y)


# -- sign, magnitude, rounding ------------------------------------------------------------------------
class Abs(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).abs(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * self.saved_inputs[0].sgn()  # abs'(0) = 0


def _sign(x: Any) -> Any:
    """PyTorch's sign: (0 < x) - (x < 0), so sign(nan) = 0."""
    if x.dtype.kind != "f":
        return self_xp(x).sign(x)
    return (x > 0).astype(x.dtype) - (x < 0)


class Sign(Op):
    def forward(self, x: Any) -> Any:
        return _sign(x)

    def backward(self, grad: Tensor) -> Tensor:
        return _zeros_like(grad)


class Sgn(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        if x.dtype.kind != "c":
            return _sign(x)
        a = self_xp(x).abs(x)
        return self_xp(x).where(a == 0, 0, x / self_xp(x).where(a == 0, 1, a))

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        if not x.is_complex():
            return _zeros_like(grad)
        a = x.abs()
        s = x.sgn()
        return ((grad - (grad * s.conj()).real * s) / a).masked_fill(a == 0, 0)


class Rounding(Op):
    """floor, ceil, round, trunc: piecewise constant, so the gradient is zero."""

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        if self.kind == "round":
            return xp.round(x, self.decimals) if self.decimals else xp.rint(x)
        return getattr(xp, self.kind)(x)

    def backward(self, grad: Tensor) -> Tensor:
        return _zeros_like(grad)

    def name(self) -> str:
        suffix = "1" if self.kind == "round" and self.decimals else "0"
        return self.kind.capitalize() + "Backward" + suffix


class Frac(Op):
    def forward(self, x: Any) -> Any:
        return x - self_xp(x).trunc(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad


# -- clamp ----------------------------------------------------------------------------------------
class Clamp(Op):
    """min(max(x, lo), hi). Bounds are Python scalars (attributes) or tensors (inputs 1 and 2).
    The gradient reaches x where lo <= x <= hi; a tensor bound gets it where x lies beyond it
    (the lower one only while lo < hi), as in PyTorch."""

    save_inputs = True

    def forward(self, x: Any, lo: Any = None, hi: Any = None) -> Any:
        xp = self_xp(x)
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
        gx = _where(inside, grad, 0) if self.next_edges[0] else None
        g_lo = g_hi = None
        if lo_t is not None and self.next_edges[1]:
            below = x < lo if hi is None else (x < lo) & (lo < hi)
            g_lo = _where(below, grad, 0)
        if hi_t is not None and self.next_edges[2]:
            above = x > hi if lo is None else (x > hi) | (hi < lo)
            g_hi = _where(above, grad, 0)
        return gx, g_lo, g_hi

    def name(self) -> str:
        return self.kind


# -- complex parts --------------------------------------------------------------------------------
class Conj(Op):
    def forward(self, x: Any) -> Any:
        return self_xp(x).conj(x)

    def backward(self, grad: Tensor) -> Tensor:
        return grad.conj()


class Real(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.real

    def backward(self, grad: Tensor) -> Tensor:
        return grad * (1 + 0j)

    def name(self) -> str:
        return "SelectBackward0"


class Imag(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.imag

    def backward(self, grad: Tensor) -> Tensor:
        return grad * 1j

    def name(self) -> str:
        return "SelectBackward0"


class Angle(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        if x.dtype.kind == "c":
            return xp.angle(x)
        return xp.where(xp.isnan(x), x, xp.where(x < 0, _PI, 0).astype(x.dtype))  # angle(-0.0) = 0

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        if not x.is_complex():
            return _zeros_like(grad)
        a2 = x.abs()
        a2 = a2 * a2
        return (grad * x * 1j / a2).masked_fill(a2 == 0, 0)


class NanToNum(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return self_xp(x).nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * self.saved_inputs[0].isfinite()


# -- pointwise ops with extra operands -------------------------------------------------------------
class Lerp(Op):
    """start + weight * (end - start), computed from the nearer end as PyTorch does."""

    save_inputs = True

    def forward(self, start: Any, end: Any, weight: Any = None) -> Any:
        xp = self_xp(start)
        w = self.weight if weight is None else weight
        d = end - start
        return xp.where(xp.abs(w) < 0.5, start + w * d, end - d * (1 - w))

    def backward(self, grad: Tensor) -> tuple:
        start, end, w_t = self.saved_inputs
        w = self.weight if w_t is None else w_t
        gs, ge, gw = self.next_edges
        return (grad * _cj(1 - w) if gs else None, grad * _cj(w) if ge else None,
                grad * _cj(end - start) if gw and w_t is not None else None)

    def name(self) -> str:
        return "LerpBackward0" if self.weight is not None else "LerpBackward1"


class Addcmul(Op):
    save_inputs = True

    def forward(self, x: Any, t1: Any, t2: Any) -> Any:
        return x + self.value * (t1 * t2)

    def backward(self, grad: Tensor) -> tuple:
        _, t1, t2 = self.saved_inputs
        _, g1, g2 = self.next_edges
        return grad, (grad * _cj(t2 * self.value) if g1 else None), (grad * _cj(t1 * self.value) if g2 else None)


class Addcdiv(Op):
    save_inputs = True

    def forward(self, x: Any, t1: Any, t2: Any) -> Any:
        return x + self.value * (t1 / t2)

    def backward(self, grad: Tensor) -> tuple:
        _, t1, t2 = self.saved_inputs
        _, g1, g2 = self.next_edges
        return (grad, (grad * _cj(self.value / t2) if g1 else None),
                (-grad * _cj(t1 * self.value / (t2 * t2)) if g2 else None))


class Xlogy(Op):
    """x * log(y), defined as 0 where x == 0 (unless y is nan)."""

    save_inputs = True

    def forward(self, x: Any, y: Any) -> Any:
        xp = self_xp(x)
        return xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y)).astype(x.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        x, y = self.saved_inputs
        gx, gy = self.next_edges
        grad_x = (grad * y.log()).masked_fill((x == 0) & (y <= 0), 0) if gx else None
        return grad_x, (grad * x / y if gy else None)


# -- public functions ------------------------------------------------------------------------------------
def _floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions compute in the default float dtype."""
    if x._data.dtype.kind in "biu":
        return _from_array(x._data.astype(D.get_default_dtype().np))
    return x


def _not_implemented(x: Tensor, kinds: str, kernel: str) -> None:
    if x._data.dtype.kind in kinds:
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{_type_word(x.dtype)}'")


def _float_fn(op: type[Op], name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        result = op.apply(_floating(input))
        return result if out is None else _out(result, out)

    fn.__name__ = fn.__qualname__ = name
    return fn


exp = _float_fn(Exp, "exp")
exp2 = _float_fn(Exp2, "exp2")
expm1 = _float_fn(Expm1, "expm1")
log = _float_fn(Log, "log")
log2 = _float_fn(Log2, "log2")
log10 = _float_fn(Log10, "log10")
log1p = _float_fn(Log1p, "log1p")
sqrt = _float_fn(Sqrt, "sqrt")
rsqrt = _float_fn(Rsqrt, "rsqrt")
reciprocal = _float_fn(Reciprocal, "reciprocal")
sin = _float_fn(Sin, "sin")
cos = _float_fn(Cos, "cos")
tan = _float_fn(Tan, "tan")
asin = arcsin = _float_fn(Asin, "asin")
acos = arccos = _float_fn(Acos, "acos")
atan = arctan = _float_fn(Atan, "atan")
sinh = _float_fn(Sinh, "sinh")
cosh = _float_fn(Cosh, "cosh")
tanh = _float_fn(Tanh, "tanh")
asinh = arcsinh = _float_fn(Asinh, "asinh")
acosh = arccosh = _float_fn(Acosh, "acosh")
atanh = arctanh = _float_fn(Atanh, "atanh")
sinc = _float_fn(Sinc, "sinc")
deg2rad = _float_fn(Deg2rad, "deg2rad")
rad2deg = _float_fn(Rad2deg, "rad2deg")
sigmoid = _float_fn(Sigmoid, "sigmoid")
erf = _float_fn(Erf, "erf")
erfc = _float_fn(Erfc, "erfc")
erfinv = _float_fn(Erfinv, "erfinv")


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    return _out(Logit.apply(_floating(input), eps=eps), out)


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _out(pow(input, 2), out)


def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    _not_implemented(input, "b", "abs")
    return _out(Abs.apply(input), out)


absolute = abs


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind == "b":
        return _out(_from_array(input._data.copy()), out)
    if input._data.dtype.kind == "c":
        raise RuntimeError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                           "torch.sgn instead.")
    return _out(Sign.apply(input), out)


def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind == "b":
        return _out(_from_array(input._data.copy()), out)
    return _out(Sgn.apply(input), out)


def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    x = input._data
    return _out(_from_array(input._xp.signbit(x) if x.dtype.kind != "b" else input._xp.zeros_like(x, bool)), out)


def positive(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def relu(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


def _rounding(kind: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        _not_implemented(input, "b", f"{kind}_vml")
        if input._data.dtype.kind in "iu":  # already integral
            return _out(_from_array(input._data.copy()), out)
        return _out(Rounding.apply(input, kind=kind, decimals=0), out)

    fn.__name__ = fn.__qualname__ = kind
    return fn


floor = _rounding("floor")
ceil = _rounding("ceil")
trunc = fix = _rounding("trunc")


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    _not_implemented(input, "b", "round_vml" if not decimals else "round")
    if input._data.dtype.kind in "iu":
        _not_implemented(input, "iu" if decimals else "", "round")
        return _out(_from_array(input._data.copy()), out)
    return _out(Rounding.apply(input, kind="round", decimals=decimals), out)


def frac(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    _not_implemented(input, "biu", "frac")
    return _out(Frac.apply(input), out)


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Tensor | None = None) -> Tensor:
    return _out(_clamp(input, min, max, "clamp"), out)


def _clamp(input: Tensor, lo: Any, hi: Any, fn: str) -> Tensor:
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "f" and type(lo) in _PLAIN and type(hi) in _PLAIN:  # common case, no promotion
        kind = {"clamp": "ClampBackward1", "clamp_min": "ClampMinBackward0", "clamp_max": "ClampMaxBackward0"}[fn]
        return Clamp.apply(input, None, None, lo=lo, hi=hi, kind=kind)
    bounds = [b for b in (lo, hi) if b is not None]
    dt = D.result_type(input, *bounds)
    if dt.category == D.COMPLEX:
        raise RuntimeError("clamp is not supported for complex types")
    x = cast(input, dt)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        lo_t = None if lo is None else cast(as_tensor_like(lo, x, dt), dt)
        hi_t = None if hi is None else cast(as_tensor_like(hi, x, dt), dt)
        kind = {"clamp": "ClampBackward0", "clamp_min": "ClampMinBackward1", "clamp_max": "ClampMaxBackward1"}[fn]
        return Clamp.apply(x, lo_t, hi_t, lo=None, hi=None, kind=kind)
    kind = {"clamp": "ClampBackward1", "clamp_min": "ClampMinBackward0", "clamp_max": "ClampMaxBackward0"}[fn]
    return Clamp.apply(x, None, None, lo=lo, hi=hi, kind=kind)


_PLAIN = (float, int, type(None))
clip = clamp


def clamp_min(input: Tensor, min: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_clamp(input, min, None, "clamp_min"), out)


def clamp_max(input: Tensor, max: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_clamp(input, None, max, "clamp_max"), out)


def conj(input: Tensor) -> Tensor:
    return Conj.apply(input) if input._data.dtype.kind == "c" else input


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _out(conj(input), out)


def resolve_conj(input: Tensor) -> Tensor:
    return input


resolve_neg = resolve_conj


def is_conj(input: Tensor) -> bool:
    return False


def real(input: Tensor) -> Tensor:
    return Real.apply(input) if input._data.dtype.kind == "c" else input


def imag(input: Tensor) -> Tensor:
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _out(Angle.apply(_floating(input)), out)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None, *,
               out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind in "biu":
        return _out(_from_array(input._data.copy()), out)
    return _out(NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf), out)


def lerp(input: Tensor, end: Tensor, weight: Any, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is not end.dtype:
        raise RuntimeError(f"expected dtype {_c_name(input.dtype)} for `end` but got dtype {_c_name(end.dtype)}")
    if input._data.dtype.kind not in "fcV":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for '{_type_word(input.dtype)}'")
    if isinstance(weight, Tensor):
        w = cast(weight, input.dtype)
        return _out(Lerp.apply(input, end, w, weight=None), out)
    return _out(Lerp.apply(input, end, None, weight=weight), out)


def _c_name(dt: D.dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int"}.get(dt.name, dt.name)


def _three(input: Tensor, t1: Tensor, t2: Tensor) -> tuple[Tensor, Tensor, Tensor, D.dtype]:
    dt = D.result_type(input, t1, t2)
    return cast(input, dt), cast(t1, dt), cast(t2, dt), dt


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Tensor | None = None) -> Tensor:
    x, a, b, dt = _three(input, tensor1, tensor2)
    if dt.category < D.FLOAT:
        value = int(value)
    return _out(Addcmul.apply(x, a, b, value=value), out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Tensor | None = None) -> Tensor:
    if tensor1.dtype.category < D.FLOAT and tensor2.dtype.category < D.FLOAT:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    x, a, b, _ = _three(input, tensor1, tensor2)
    return _out(Addcdiv.apply(x, a, b, value=value), out)


def xlogy(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        x, y = _floating(x), _floating(y)
    return _out(Xlogy.apply(x, y), out)


def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    xp = input._xp
    x, v = input._data, values._data
    if x.dtype.kind == "b":
        return _out(_from_array(x | (~x & v)), out)
    zero = xp.zeros((), x.dtype)
    return _out(_from_array(xp.where(x == 0, v, (x > zero).astype(x.dtype))), out)


# -- methods and in-place forms -------------------------------------------------------------------------
def _inplace(fn: Callable[..., Tensor], raw: Callable[[Any], Any] | None = None) -> Callable[..., Tensor]:
    """The in-place method of ``fn(self, *args)``. With a graph, the op runs out of place and the
    tensor takes the result and its history; without one, ``raw(array)`` (if given, for float
    tensors) updates the storage directly, else the result is copied in."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if self._needs_graph_for_inplace(*args, *kwargs.values()):
            return self._apply_inplace(lambda s: fn(s, *args, **kwargs), *args, *kwargs.values())
        if raw is not None and not args and not kwargs and self._data.dtype.kind == "f":
            raw(self._data)
        else:
            result = fn(self, *args, **kwargs)
            if result.dtype.category > self.dtype.category:
                raise RuntimeError(f"result type {_type_word(result.dtype)} can't be cast to the desired output "
                                   f"type {_type_word(self.dtype)}")
            if result._data.shape != self._data.shape:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(result.shape)}")
            self._data[...] = result._data
        self._version[0] += 1
        return self

    method.__name__ = fn.__name__ + "_"
    return method


def _raw(name: str) -> Callable[[Any], Any]:
    def run(a: Any) -> Any:
        ufunc = getattr(self_xp(a), name)
        return ufunc(a, out=a)

    return run


_RAW = {"exp": _raw("exp"), "log": _raw("log"), "sqrt": _raw("sqrt"), "tanh": _raw("tanh"),
        "abs": _raw("abs"), "relu": lambda a: self_xp(a).maximum(a, 0, out=a)}

_METHODS = {
    "exp": exp, "exp2": exp2, "expm1": expm1, "log": log, "log2": log2, "log10": log10, "log1p": log1p,
    "sqrt": sqrt, "rsqrt": rsqrt, "square": square, "abs": abs, "absolute": abs, "sign": sign, "sgn": sgn,
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "arcsin": asin, "acos": acos, "arccos": acos,
    "atan": atan, "arctan": atan, "sinh": sinh, "cosh": cosh, "tanh": tanh, "asinh": asinh, "arcsinh": asinh,
    "acosh": acosh, "arccosh": acosh, "atanh": atanh, "arctanh": atanh, "sigmoid": sigmoid, "logit": logit,
    "relu": relu, "erf": erf, "erfc": erfc, "erfinv": erfinv, "floor": floor, "ceil": ceil, "round": round,
    "trunc": trunc, "fix": fix, "frac": frac, "reciprocal": reciprocal, "clamp": clamp, "clip": clamp,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "nan_to_num": nan_to_num, "lerp": lerp,
    "addcmul": addcmul, "addcdiv": addcdiv, "deg2rad": deg2rad, "rad2deg": rad2deg, "sinc": sinc,
    "xlogy": xlogy, "heaviside": heaviside,
}
_METHOD_ONLY = {"absolute", "sign", "erfinv", "lerp", "addcmul", "addcdiv", "heaviside"}  # no torch.<name>_

for _name, _fn in _METHODS.items():
    attach(_name, _fn)
    _ip = attach(_name + "_", _inplace(_fn, _RAW.get(_name)))
    if _name not in _METHOD_ONLY:
        globals()[_name + "_"] = _ip  # torch.exp_(x) and friends
        __all__.append(_name + "_")

for _name, _fn in (("sgn", sgn), ("signbit", signbit), ("positive", positive), ("conj", conj),
                   ("conj_physical", conj_physical), ("resolve_conj", resolve_conj), ("resolve_neg", resolve_neg),
                   ("is_conj", is_conj), ("angle", angle)):
    attach(_name, _fn)
Tensor.sgn_ = _inplace(sgn)
Tensor.conj_physical_ = _inplace(conj_physical)
Tensor.real = property(real)  # type: ignore[assignment]
Tensor.imag = property(imag)  # type: ignore[assignment]
Tensor.__abs__ = abs
