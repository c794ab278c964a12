"""erf, erfc and erfinv on numpy arrays (numpy has none of them): Chebyshev interpolants built once
from ``math.erf`` / ``math.erfc``, evaluated in float64; float32 erf / erfc take a faster two-polynomial
path. erfcx, ndtr and log_ndtr come from the same interpolants. The numpy backend registers them, with the
gamma and Bessel families of special_gamma_numpy and special_bessel_numpy, as its special kernels.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from typing import Any, Callable

import numpy as np

__all__ = ["erf", "erfc", "erfinv", "erfcx", "ndtr", "log_ndtr", "kernel_table"]


def _in_float64(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], np.ndarray]:
    """``f`` computed on the values in float64, returned in the input's dtype."""

    def run(x: Any) -> np.ndarray:
        x = np.asarray(x)
        x64 = x.astype(np.float64, copy=False)
        return f(x64.reshape(-1)).reshape(x64.shape).astype(x.dtype, copy=False)

    return run


def erf(x: Any) -> np.ndarray:
    """The error function, in ``x``'s dtype."""
    if x.dtype == np.float32 and x.ndim:
        return _erf_f32(x, False)
    return _erf64(x)


def erfc(x: Any) -> np.ndarray:
    """The complementary error function 1 - erf(x), in ``x``'s dtype (accurate where erf(x) is near 1)."""
    if x.dtype == np.float32 and x.ndim:
        return _erf_f32(x, True)
    return _erfc64(x)


def erfinv(x: Any) -> np.ndarray:
    """The inverse error function, in ``x``'s dtype."""
    return _erfinv64(x)


def erfcx(x: Any) -> np.ndarray:
    """The scaled complementary error function exp(x*x) * erfc(x), in ``x``'s dtype."""
    return _erfcx64(x)


def ndtr(x: Any) -> np.ndarray:
    """The standard normal distribution function, in ``x``'s dtype."""
    return _ndtr64(x)


def log_ndtr(x: Any) -> np.ndarray:
    """log(ndtr(x)), accurate far into the lower tail, in ``x``'s dtype."""
    return _log_ndtr64(x)


def kernel_table() -> dict[str, Callable[..., Any]]:
    from . import special_airy_k_numpy, special_bessel_numpy, special_gamma_numpy

    return {"erf": erf, "erfc": erfc, "erfinv": erfinv, "erfcx": erfcx, "ndtr": ndtr, "log_ndtr": log_ndtr,
            **special_gamma_numpy.kernel_table(), **special_bessel_numpy.kernel_table(),
            **special_airy_k_numpy.kernel_table()}


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
            return math.erf(x) / x if x else 2.0 / math.sqrt(math.pi)

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
    out[~near] = _exp_neg_sq(xf) * s / (xf * math.sqrt(math.pi))
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
    c = 2.0 / (math.pi * a) + 0.5 * ln
    x = np.sqrt(np.sqrt(c * c - ln / a) - c)
    tail = ay > 0.5
    q = 1.0 - ay
    k = 2.0 / math.sqrt(math.pi)
    for _ in range(2):
        finite = np.isfinite(x)
        xs = np.where(finite, x, 0.0)
        f = np.empty_like(xs)
        f[tail] = q[tail] - _erfc(xs[tail])
        f[~tail] = _erf(xs[~tail]) - ay[~tail]
        d = k * _exp_neg_sq(xs)
        x = np.where(finite & (d > 0), x - f / (d + xs * f), x)
    return np.copysign(x, y)


def _exp_sq(x: np.ndarray) -> np.ndarray:
    """exp(x*x) without the rounding error of x*x (the split of _exp_neg_sq)."""
    head = x * 134217729.0
    head = head - (head - x)
    tail = x - head
    return np.exp(head * head) * np.exp(tail * (x + head))


def _erfcx_pos(x: np.ndarray) -> np.ndarray:
    """erfcx(x) for x >= 1: h(1/x) / x from the interpolants, the asymptotic series from 10 on."""
    out = np.empty_like(x)
    near = x < 10.0
    t = 1.0 / x[near]
    far = t > 0.5
    h = np.empty_like(t)
    h[far] = _clenshaw("far", t[far])
    h[~far] = _clenshaw("mid", t[~far])
    out[near] = h * t
    xf = x[~near]
    with np.errstate(over="ignore"):
        u = 0.5 / (xf * xf)
    s = np.ones_like(xf)
    for n in range(16, 0, -1):
        s = 1.0 - (2 * n - 1) * u * s
    out[~near] = s / (xf * math.sqrt(math.pi))
    return out


def _erfcx(x: np.ndarray) -> np.ndarray:
    _cheb_tables()
    out = np.empty_like(x)
    big = x >= 1.0
    out[big] = _erfcx_pos(x[big])
    mid = (x > -1.0) & (x < 1.0)
    xm = x[mid]
    out[mid] = _exp_sq(xm) * (1.0 - xm * _clenshaw("small", xm * xm))
    low = ~(big | mid)  # erfcx(x) = 2 exp(x*x) - erfcx(-x); nan stays nan
    xl = x[low]
    with np.errstate(over="ignore", invalid="ignore"):
        val = 2.0 * _exp_sq(xl) - _erfcx_pos(np.where(xl <= -1.0, -xl, 1.0))
    out[low] = np.where(xl < -26.7, np.inf, val)  # exp(x*x) overflows from here on
    return out


_SQRT1_2 = math.sqrt(0.5)


def _ndtr(x: np.ndarray) -> np.ndarray:
    """PyTorch's split: 0.5 + 0.5 erf(x/sqrt 2) near 0, 0.5 erfc(|x|/sqrt 2) (reflected) beyond."""
    t = x * _SQRT1_2
    y = np.where(np.abs(t) < _SQRT1_2, 0.5 + 0.5 * _erf(t), 0.5 * _erfc(np.abs(t)))
    return np.where((t > 0) & (np.abs(t) >= _SQRT1_2), 1.0 - y, y)


def _log_ndtr(x: np.ndarray) -> np.ndarray:
    """log(erfcx(-t) / 2) - t*t below -1 (t = x / sqrt 2), log1p(-erfc(t) / 2) above."""
    t = x * _SQRT1_2
    low = x < -1.0
    with np.errstate(divide="ignore", over="ignore"):
        lo = np.log(_erfcx(np.where(low, -t, 1.0)) / 2.0) - t * t
        hi = np.log1p(-_erfc(np.where(low, 0.0, t)) / 2.0)
    return np.where(low, lo, hi)


_erf64, _erfc64, _erfinv64 = _in_float64(_erf), _in_float64(_erfc), _in_float64(_erfinv)
_erfcx64, _ndtr64, _log_ndtr64 = _in_float64(_erfcx), _in_float64(_ndtr), _in_float64(_log_ndtr)
