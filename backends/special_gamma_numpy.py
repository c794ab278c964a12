"""The gamma family on numpy arrays, in float64 whatever the input's float dtype (no scipy):
lgamma (series about 1 and 2, downward recurrence, Stirling's series, reflection), digamma (reflection,
recurrence to 10, asymptotic series), the Hurwitz zeta function (Euler-Maclaurin, as in Cephes),
polygamma built on them, and the regularized incomplete gamma functions igamma / igammac (power series
below x = a + 1, Lentz's continued fraction above). Edge values follow PyTorch's: lgamma is +inf at the
poles, digamma is nan at the negative integers and -inf / +inf at +0 / -0.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np

__all__ = ["lgamma", "digamma", "zeta", "polygamma", "igamma", "igammac", "kernel_table"]

_EULER = 0.57721566490153286061
_LOG_PI = math.log(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_MACHEP = 1.11022302462515654042e-16


def _bernoulli(n: int) -> list[Fraction]:
    """B_0 .. B_n exactly (Akiyama-Tanigawa; only the even ones are used)."""
    out, a = [], [Fraction(0)] * (n + 1)
    for m in range(n + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        out.append(a[0])
    return out


_B = _bernoulli(24)
# Stirling's series coefficients B_2k / (2k (2k-1)), k = 1..10, for lgamma at x >= 8
_STIRLING = [float(_B[2 * k] / (2 * k * (2 * k - 1))) for k in range(1, 11)]
# digamma's asymptotic series coefficients B_2k / (2k), k = 1..8, for x >= 10
_PSI_ASYM = [float(_B[2 * k] / (2 * k)) for k in range(1, 9)]
# Euler-Maclaurin coefficients (2k)! / B_2k, k = 1..12, for the Hurwitz zeta function
_EM = [float(math.factorial(2 * k) / _B[2 * k]) for k in range(1, 13)]


def _in_float64(f: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """``f`` on float64 copies of its array arguments (broadcast together); the result in their dtype."""

    def run(*args: Any) -> np.ndarray:
        arrays = [np.asarray(a) for a in args]
        dtype = np.result_type(*arrays)
        if dtype.kind != "f":
            dtype = np.dtype(np.float64)
        b = np.broadcast_arrays(*[a.astype(np.float64) for a in arrays])
        with np.errstate(all="ignore"):
            out = f(*[v.reshape(-1) for v in b])
        return out.reshape(b[0].shape).astype(dtype, copy=False)

    run.__name__ = f.__name__.lstrip("_")
    return run


def _horner(coef: list, u: np.ndarray) -> np.ndarray:
    p = np.full_like(u, coef[-1])
    for c in coef[-2::-1]:
        p = p * u + c
    return p


# -- lgamma --------------------------------------------------------------------------------------------------
_LG1: list[float] = []


def _lgamma1p(z: np.ndarray) -> np.ndarray:
    """lgamma(1 + z) for |z| <= 0.5, without forming 1 + z: Abramowitz & Stegun 6.1.41,
    -log1p(z) + z (1 - gamma) + sum_k (-1)^k (zeta(k) - 1) / k z^k."""
    if not _LG1:
        ks = np.arange(2, 32, dtype=np.float64)
        zm1 = _zeta(ks, np.full_like(ks, 2.0))  # zeta(k) - 1 = zeta(k, 2), accurate to the last bit
        _LG1.extend(((-1.0) ** ks * zm1 / ks).tolist())
    return -np.log1p(z) + z * ((1.0 - _EULER) + z * _horner(_LG1, z))


def _lgamma_pos(x: np.ndarray) -> np.ndarray:
    """lgamma(x) for x >= 0.5 (or nan)."""
    out = np.empty_like(x)
    near1 = x < 1.5
    out[near1] = _lgamma1p(x[near1] - 1.0)
    mid = (x >= 1.5) & (x < 8.0)
    xm = x[mid]
    n = np.floor(xm - 1.5)  # steps down to y in [1.5, 2.5): lgamma(x) = log((x-1)...(x-n)) + lgamma(y)
    prod = np.ones_like(xm)
    for j in range(1, 7):
        prod *= np.where(j <= n, xm - j, 1.0)
    y = xm - n
    out[mid] = np.log(prod) + np.log1p(y - 2.0) + _lgamma1p(y - 2.0)
    far = ~(near1 | mid)
    xf = x[far]
    r = 1.0 / xf
    big = (xf - 0.5) * np.log(xf) - xf + _HALF_LOG_2PI + r * _horner(_STIRLING, r * r)
    out[far] = np.where(np.isinf(xf), np.inf, big)
    return out


def _lgamma(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    small = np.abs(x) < 0.5  # lgamma(x) = lgamma(1 + x) - log|x|
    xs = x[small]
    out[small] = _lgamma1p(xs) - np.log(np.abs(xs))
    pos = ~small & ~(x < 0)  # includes nan
    out[pos] = _lgamma_pos(x[pos])
    neg = x <= -0.5  # reflection: log(pi / |sin(pi x)|) - lgamma(1 - x); +inf at the poles
    xn = x[neg]
    r = xn - np.round(xn)
    sinpi = np.abs(np.sin(math.pi * r))
    with np.errstate(divide="ignore"):
        val = _LOG_PI - np.log(sinpi) - _lgamma_pos(1.0 - xn)
    out[neg] = np.where((r == 0) | np.isinf(xn), np.inf, val)
    return out


# -- digamma -------------------------------------------------------------------------------------------------
def _digamma(x: np.ndarray) -> np.ndarray:
    result = np.zeros_like(x)
    neg = x < 0  # reflection: psi(x) = psi(1 - x) - pi / tan(pi frac(x))
    frac = np.where(neg, x - np.trunc(np.where(np.isinf(x), 0.0, x)), 0.0)
    result[neg] = -math.pi / np.tan(math.pi * frac[neg])
    z = np.where(neg, 1.0 - x, x)
    for _ in range(10):  # psi(z) = psi(z + 1) - 1 / z until z >= 10
        low = z < 10.0
        result -= np.where(low, 1.0 / np.where(low, z, 1.0), 0.0)
        z = np.where(low, z + 1.0, z)
    w = 1.0 / (z * z)
    tail = np.where(z < 1e17, w * _horner(_PSI_ASYM, w), 0.0)
    out = np.log(z) - 0.5 / z - tail + result
    out = np.where(x == 0, np.copysign(np.inf, -x), out)
    return np.where(neg & (frac == 0), np.nan, out)  # negative integers and -inf


# -- Hurwitz zeta ----------------------------------------------------------------------------------------------
def _zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """sum_k (k + q)^-x, by Cephes' method: direct terms until k + q > 9, then Euler-Maclaurin."""
    out = np.full_like(x, np.nan)
    qle0 = q <= 0
    qint = q == np.floor(q)
    out[x == 1] = np.inf
    out[(x > 1) & qle0 & qint] = np.inf
    work = (x > 1) & ~(qle0 & (qint | (x != np.floor(x))))
    xs, a = x[work], q[work]
    s = a ** -xs
    b = np.zeros_like(s)
    done = np.zeros(s.shape, bool)
    i = 0
    while True:
        go = ~done & ((i < 9) | (a <= 9.0))
        if not go.any():
            break
        i += 1
        a = np.where(go, a + 1.0, a)
        b = np.where(go, a ** -xs, b)
        s = np.where(go, s + b, s)
        done |= go & (-_MACHEP * s < b) & (b < _MACHEP * s)
    w = a
    em = ~done
    s = np.where(em, s + b * w / (xs - 1.0) - 0.5 * b, s)
    fac = np.ones_like(s)
    k = 0.0
    for coef in _EM:
        fac = fac * (xs + k)
        b = b / w
        t = fac * b / coef
        s = np.where(em, s + t, s)
        em &= ~(np.abs(t / s) < _MACHEP)
        k += 1.0
        fac = fac * (xs + k)
        b = b / w
        k += 1.0
    out[work] = s
    return out


# -- polygamma -------------------------------------------------------------------------------------------------
def _trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x): zeta(2, x), with the reflection pi^2 / sin^2(pi x) - psi'(1 - x) below 1/2."""
    low = x < 0.5
    z = np.where(low, 1.0 - x, x)
    val = _zeta(np.full_like(z, 2.0), z)
    r = x - np.round(np.where(np.isinf(x), 0.0, x))
    refl = math.pi ** 2 / np.sin(math.pi * r) ** 2 - val
    out = np.where(low, refl, val)
    out = np.where(low & (r == 0) & np.isfinite(x), np.inf, out)
    out = np.where(np.isposinf(x), 0.0, out)
    return np.where(np.isneginf(x), np.nan, out)


def polygamma(n: int, x: Any) -> np.ndarray:
    """The n-th derivative of digamma, in ``x``'s dtype: (-1)^(n+1) n! zeta(n + 1, x) for n >= 2."""
    if n == 0:
        return digamma(x)
    if n == 1:
        return _in_float64(_trigamma)(x)
    fact = float(math.factorial(n)) if n <= 170 else math.inf
    sign = 1.0 if n % 2 else -1.0
    return _in_float64(lambda v: sign * fact * _zeta(np.full_like(v, n + 1.0), v))(x)


# -- regularized incomplete gamma functions ------------------------------------------------------------------
_TINY = 1e-300


def _igam_parts(a: np.ndarray, x: np.ndarray) -> tuple:
    """(P, Q) = (igamma, igammac) for a > 0, 0 < x < inf; each element takes the one of the series and
    the continued fraction that converges fast there, and the other as its complement."""
    with np.errstate(divide="ignore"):
        log_pre = a * np.log(x) - x - _lgamma(a)
    use_series = x < a + 1.0
    p = np.empty_like(x)
    # series: P = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))
    idx = np.nonzero(use_series)[0]
    aa, xx = a[idx], x[idx]
    term = 1.0 / aa
    total = term.copy()
    den = aa.copy()
    for _ in range(100000):
        if not idx.size:
            break
        den += 1.0
        term *= xx / den
        total += term
        live = np.abs(term) > np.abs(total) * 1e-17
        if not live.all():
            p[idx[~live]] = total[~live]
            idx, aa, xx, term, total, den = (v[live] for v in (idx, aa, xx, term, total, den))
    p[idx] = total
    p_series = np.exp(log_pre) * p
    # continued fraction (modified Lentz): Q = e^-x x^a / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))
    idx = np.nonzero(~use_series)[0]
    aa, xx = a[idx], x[idx]
    b = xx + 1.0 - aa
    c = np.full_like(b, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    i = 0
    q = np.empty_like(x)
    while idx.size and i < 100000:
        i += 1
        an = -i * (i - aa)
        b += 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        delta = d * c
        h *= delta
        live = np.abs(delta - 1.0) > 1e-16
        if not live.all():
            q[idx[~live]] = h[~live]
            idx, aa, xx, b, c, d, h = (v[live] for v in (idx, aa, xx, b, c, d, h))
    q[idx] = h
    q_cf = np.exp(log_pre) * q
    return np.where(use_series, p_series, 1.0 - q_cf), np.where(use_series, 1.0 - p_series, q_cf)


def _igam(a: np.ndarray, x: np.ndarray, upper: bool) -> np.ndarray:
    """PyTorch's edge values: nan for a < 0, x < 0, a = x = 0 and a = x = inf; P(0, x > 0) = 1;
    P(a, 0) = 0; P(inf, finite) = 0; P(finite, inf) = 1."""
    regular = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    out = np.full_like(x, np.nan)
    if regular.any():
        p, q = _igam_parts(a[regular], x[regular])
        out[regular] = q if upper else p
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)
    ok = (a >= 0) & (x >= 0) & ~((a == 0) & (x == 0)) & ~(np.isinf(a) & np.isinf(x))
    out = np.where(ok & (a == 0), one, out)
    out = np.where(ok & (x == 0) & (a > 0), zero, out)
    out = np.where(ok & np.isposinf(a) & (x > 0), zero, out)
    return np.where(ok & np.isposinf(x) & (a > 0), one, out)


lgamma = _in_float64(_lgamma)
digamma = _in_float64(_digamma)
zeta = _in_float64(_zeta)
igamma = _in_float64(lambda a, x: _igam(a, x, False))
igammac = _in_float64(lambda a, x: _igam(a, x, True))


def kernel_table() -> dict[str, Callable[..., Any]]:
    return {"lgamma": lgamma, "digamma": digamma, "zeta": zeta, "polygamma": polygamma, "igamma": igamma,
            "igammac": igammac}
