"""The modified Bessel functions of the second kind K0, K1 (and their scaled forms exp(x) K) and the Airy
function Ai on numpy arrays, in float64 whatever the input's float dtype.

K0, K1: the ascending series (A&S 9.6.13 and 9.6.11) for x <= 2. Above 2, exp(x) K_nu(x) is the integral of
exp(-x (cosh t - 1)) cosh(nu t) over t >= 0; the substitution u = sqrt(2x) sinh(t/2) turns it into the integral of
exp(-u^2) 2 cosh(nu t) / sqrt(2x + u^2), a Gaussian times a function analytic in a strip of half-width sqrt(2x) >= 2,
which the trapezoidal rule with step 1/4 integrates to full double precision.

Ai: exp(-zeta) sqrt(x/3) / pi times the same scaled K integral at nu = 1/3, zeta = 2/3 x^(3/2), for x > 2; the
asymptotic expansion for x < -10 (zeta > 21, where its smallest term is below 1e-18); in between, the Taylor
series of the Airy equation y'' = x y about the nearest of a grid of anchors spaced 1/2, whose values and
slopes are propagated once from Ai(0), Ai'(0) by the same series (the equation is well conditioned there).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["k0", "k0e", "k1", "k1e", "airy_ai", "kernel_table"]

_EULER = 0.57721566490153286061
_H = 0.25
_U = np.arange(0.0, 6.5 + _H / 2, _H)  # exp(-6.5^2) ~ 4e-19
_W = np.full(_U.shape, _H)
_W[0] = _H / 2


def _in_float64(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], np.ndarray]:
    def run(x: Any) -> np.ndarray:
        x = np.asarray(x)
        x64 = x.astype(np.float64, copy=False).reshape(-1)
        with np.errstate(all="ignore"):
            out = f(x64)
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    return run


def _scaled_k_integral(x: np.ndarray, nu: float) -> np.ndarray:
    """exp(x) K_nu(x) for x >= 2 (any x > 0 works, less accurately below 2), by the trapezoidal rule."""
    out = np.zeros_like(x)
    for u, w in zip(_U, _W):
        root = np.sqrt(2.0 * x + u * u)
        term = 2.0 * math.exp(-u * u) / root
        if nu:
            t = 2.0 * np.arcsinh(u / np.sqrt(2.0 * x))
            term = term * np.cosh(nu * t)
        out += w * term
    return out


def _k_series(x: np.ndarray, order: int) -> np.ndarray:
    """K0 or K1 from the ascending series (x in (0, 2])."""
    q = x * x / 4.0
    log_half = np.log(x / 2.0)
    term = np.ones_like(x)  # q^k / (k! (k + order)!)
    if order == 0:
        harmonic, total, i0 = 0.0, np.zeros_like(x), np.ones_like(x)
        for k in range(1, 30):
            term = term * q / (k * k)
            harmonic += 1.0 / k
            total += term * harmonic
            i0 += term
        return -(log_half + _EULER) * i0 + total
    psi_k, psi_k1 = -_EULER, 1.0 - _EULER  # psi(k + 1), psi(k + 2)
    total = term * (psi_k + psi_k1)
    i1 = term.copy()
    for k in range(1, 30):
        term = term * q / (k * (k + 1))
        psi_k, psi_k1 = psi_k1, psi_k1 + 1.0 / (k + 1)
        total += term * (psi_k + psi_k1)
        i1 += term
    i1 = i1 * x / 2.0
    return 1.0 / x + log_half * i1 - x / 4.0 * total


def _k(x: np.ndarray, order: int, scaled: bool) -> np.ndarray:
    small = np.where((x > 0) & (x <= 2.0), x, 1.0)
    large = np.where(x > 2.0, x, 2.0)
    near = _k_series(small, order)
    far = _scaled_k_integral(large, float(order))
    if scaled:
        near = near * np.exp(small)
    else:
        far = far * np.exp(-large)
    out = np.where(x <= 2.0, near, far)
    out = np.where(x == 0, np.inf, out)
    out = np.where(np.isposinf(x), 0.0, out)
    return np.where((x < 0) | np.isnan(x), np.nan, out)


def _k0(x: np.ndarray) -> np.ndarray:
    return _k(x, 0, False)


def _k0e(x: np.ndarray) -> np.ndarray:
    return _k(x, 0, True)


def _k1(x: np.ndarray) -> np.ndarray:
    return _k(x, 1, False)


def _k1e(x: np.ndarray) -> np.ndarray:
    return _k(x, 1, True)


# -- Airy Ai --------------------------------------------------------------------------------------------------
_AI0 = 0.35502805388781723926  # Ai(0) = 3^(-2/3) / Gamma(2/3)
_AIP0 = -0.25881940379280679840  # Ai'(0) = -3^(-1/3) / Gamma(1/3)
_STEP = 0.5
_LOW, _HIGH = -10.0, 2.0
_TERMS = 40
_anchors: list = []


def _taylor(x0: Any, y0: Any, dy0: Any, h: Any, terms: int = _TERMS) -> tuple:
    """y(x0 + h) and y'(x0 + h) for y'' = x y, from the Taylor coefficients a_n of y about x0:
    (n + 2)(n + 1) a_{n+2} = x0 a_n + a_{n-1}."""
    a_prev, a, a_next = 0.0 * y0, y0, dy0  # a_{n-1}, a_n, a_{n+1}, starting at n = 0
    value, slope = y0 + dy0 * h, dy0
    power = h  # h^(n+1)
    for n in range(0, terms):
        a_new = (x0 * a + a_prev) / ((n + 2) * (n + 1))  # a_{n+2}
        slope = slope + (n + 2) * a_new * power
        power = power * h
        value = value + a_new * power
        a_prev, a, a_next = a, a_next, a_new
    return value, slope


def _anchor_table() -> tuple:
    if not _anchors:
        n_low, n_high = int(round(-_LOW / _STEP)), int(round(_HIGH / _STEP))
        vals = {0: (_AI0, _AIP0)}
        for direction, count in ((-1, n_low), (1, n_high)):
            y, dy = _AI0, _AIP0
            for i in range(1, count + 1):  # half steps keep every series short
                for j in range(2):
                    x0 = direction * ((i - 1) * _STEP + j * _STEP / 2)
                    y, dy = _taylor(x0, y, dy, direction * _STEP / 2)
                vals[direction * i] = (y, dy)
        keys = sorted(vals)
        _anchors.append((np.array([k * _STEP for k in keys]), np.array([vals[k][0] for k in keys]),
                         np.array([vals[k][1] for k in keys])))
    return _anchors[0]


def _airy_ai(x: np.ndarray) -> np.ndarray:
    xs, ys, dys = _anchor_table()
    mid_x = np.clip(x, _LOW, _HIGH)
    idx = np.clip(np.rint((mid_x - _LOW) / _STEP).astype(np.int64), 0, len(xs) - 1)
    mid, _ = _taylor(xs[idx], ys[idx], dys[idx], mid_x - xs[idx], 30)
    # x > 2: through K_{1/3}
    pos = np.where(x > _HIGH, x, _HIGH + 1.0)
    zeta = 2.0 / 3.0 * pos ** 1.5
    right = np.sqrt(pos / 3.0) / math.pi * np.exp(-zeta) * _scaled_k_integral(zeta, 1.0 / 3.0)
    # x < -10: the oscillating asymptotic expansion
    z = np.where(x < _LOW, -x, -_LOW)
    zeta = 2.0 / 3.0 * z ** 1.5
    p, q = np.zeros_like(z), np.zeros_like(z)
    for k in range(0, 40):
        u_k = math.exp(math.lgamma(3 * k + 0.5) - k * math.log(54.0) - math.lgamma(k + 1) - math.lgamma(k + 0.5))
        term = u_k / zeta ** k
        if k % 2 == 0:
            p += (-1) ** (k // 2) * term
        else:
            q += (-1) ** (k // 2) * term
    phase = zeta + math.pi / 4
    left = (np.sin(phase) * p - np.cos(phase) * q) / (math.sqrt(math.pi) * z ** 0.25)
    out = np.where(x > _HIGH, right, np.where(x < _LOW, left, mid))
    return np.where(np.isinf(x) | np.isnan(x), np.nan, out)


k0, k0e, k1, k1e, airy_ai = (_in_float64(f) for f in (_k0, _k0e, _k1, _k1e, _airy_ai))


def kernel_table() -> dict[str, Callable[[Any], Any]]:
    return {"k0": k0, "k0e": k0e, "k1": k1, "k1e": k1e, "airy_ai": airy_ai}
