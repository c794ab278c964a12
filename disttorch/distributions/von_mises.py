"""VonMises(loc, concentration): the circular normal on [-pi, pi); samples by Best & Fisher's rejection."""
from __future__ import annotations

import math
from typing import Any

import disttorch as _t

from . import constraints
from .distribution import Distribution
from .utils import _noise, broadcast_all, lazy_property

__all__ = ["VonMises"]

# polynomial approximations of I0 and I1 (Abramowitz & Stegun 9.8.1-9.8.4), small and large arguments
_I_SMALL = ([1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2],
            [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3])
_I_LARGE = ([0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
             -0.1647633e-1, 0.392377e-2],
            [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1,
             0.1787654e-1, -0.420059e-2])


def _horner(y: Any, coefs: list) -> Any:
    result: Any = coefs[-1]
    for c in reversed(coefs[:-1]):
        result = c + y * result
    return result


def _log_bessel_i(x: Any, order: int = 0) -> Any:
    """log I_order(x) for order 0 or 1 (x > 0)."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    small = _horner((x / 3.75) ** 2, _I_SMALL[order])
    if order == 1:
        small = x.abs() * small
    large = x - 0.5 * x.log() + _horner(3.75 / x, _I_LARGE[order]).log()
    return _t.where(x < 3.75, small.log(), large)


class VonMises(Distribution):
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, _t.Size(), validate_args)

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        return (self.concentration * _t.cos(value - self.loc) - math.log(2 * math.pi)
                - _log_bessel_i(self.concentration, order=0))

    @lazy_property
    def _proposal_r(self) -> Any:
        kappa = self.concentration.detach().double()
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return _t.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))

    def sample(self, sample_shape: Any = ()) -> Any:
        with _t.no_grad():
            shape = tuple(self._extended_shape(sample_shape))
            loc = self.loc.double()
            kappa = self.concentration.double()
            r = self._proposal_r
            x = _t.zeros(shape, dtype=_t.float64, device=self.loc.device)
            done = _t.zeros(shape, dtype=_t.bool, device=self.loc.device)
            while not bool(done.all()):
                u1, u2, u3 = _noise("random", (3,) + shape, x).unbind()
                z = _t.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                x = _t.where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
                done = done | accept
            return ((x + math.pi + loc) % (2 * math.pi) - math.pi).to(self.loc.dtype)

    def expand(self, batch_shape: Any, _instance: Any = None) -> VonMises:
        validate_args = self.__dict__.get("_validate_args")
        return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                          validate_args=validate_args)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def mode(self) -> Any:
        return self.loc

    @lazy_property
    def variance(self) -> Any:  # type: ignore[override]
        k = self.concentration
        return 1 - (_log_bessel_i(k, order=1) - _log_bessel_i(k, order=0)).exp()
