"""GeneralizedPareto(loc, scale, concentration); concentration 0 is the shifted exponential."""
from __future__ import annotations

import math
from numbers import Number
from typing import Any

import disttorch as _t

from . import constraints
from .distribution import Distribution
from .utils import _expand_params, _noise, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        scalar = all(isinstance(v, Number) for v in (loc, scale, concentration))
        super().__init__(_t.Size() if scalar else self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        return _expand_params(self, GeneralizedPareto, batch_shape, ("loc", "scale", "concentration"), _instance)

    def _zero_and_safe(self) -> tuple:
        xi = self.concentration
        is_zero = _t.isclose(xi, _t.zeros_like(xi))
        return is_zero, _t.where(is_zero, _t.ones_like(xi), xi)

    def rsample(self, sample_shape: Any = ()) -> Any:
        return self.icdf(_noise("random", self._extended_shape(sample_shape), self.loc))

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        is_zero, xi = self._zero_and_safe()
        power = 1 / xi + _t.ones_like(z)
        nonzero = _t.where(power == 0, power, power * _t.log1p(xi * z))
        return -self.scale.log() - _t.where(is_zero, z, nonzero)

    def log_survival_function(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        is_zero, xi = self._zero_and_safe()
        return _t.where(is_zero, -z, -_t.log1p(xi * z) / xi)

    def log_cdf(self, value: Any) -> Any:
        return _t.log1p(-_t.exp(self.log_survival_function(value)))

    def cdf(self, value: Any) -> Any:
        return _t.exp(self.log_cdf(value))

    def icdf(self, value: Any) -> Any:
        is_zero, xi = self._zero_and_safe()
        log_u = _t.log1p(-value)
        return _t.where(is_zero, self.loc - self.scale * log_u,
                        self.loc + self.scale / xi * _t.expm1(-xi * log_u))

    @property
    def mean(self) -> Any:
        xi = self.concentration
        ok = xi < 1
        return _t.where(ok, self.loc + self.scale / (1 - _t.where(ok, xi, 0.5)), math.nan)

    @property
    def variance(self) -> Any:
        xi = self.concentration
        ok = xi < 0.5
        safe = _t.where(ok, xi, 0.25)
        return _t.where(ok, self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe)), math.nan)

    def entropy(self) -> Any:
        return _t.broadcast_to(_t.log(self.scale) + self.concentration + 1, self._batch_shape)

    @property
    def mode(self) -> Any:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        upper = _t.where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
