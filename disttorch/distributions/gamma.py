"""Gamma(concentration, rate): density rate^a x^(a-1) e^(-rate x) / Gamma(a); implicit-reparameterised rsample."""
from __future__ import annotations

from numbers import Number
from typing import Any

import disttorch as _t

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _expand_params, _standard_gamma, broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, Number) and isinstance(rate, Number)
        super().__init__(_t.Size() if scalar else self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        return _expand_params(self, Gamma, batch_shape, ("concentration", "rate"), _instance)

    @property
    def mean(self) -> Any:
        return self.concentration / self.rate

    @property
    def mode(self) -> Any:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Any:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = ()) -> Any:
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return _t.clamp(value, min=_t.finfo(value.dtype).tiny) if not value.requires_grad else value

    def log_prob(self, value: Any) -> Any:
        value = _t.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return _t.xlogy(a, self.rate) + _t.xlogy(a - 1, value) - self.rate * value - _t.lgamma(a)

    def entropy(self) -> Any:
        a = self.concentration
        return a - _t.log(self.rate) + _t.lgamma(a) + (1.0 - a) * _t.digamma(a)

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Any, y: Any) -> Any:
        return _t.lgamma(x + 1) + (x + 1) * _t.log(-y.reciprocal())

    def cdf(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        return _t.special.gammainc(self.concentration, self.rate * value)
