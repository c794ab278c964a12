"""ContinuousBernoulli(probs | logits) on [0, 1]: density C(p) p^x (1-p)^(1-x); near p = 1/2 the normaliser
and moments switch to their Taylor expansions (inside ``lims``) to stay stable."""
from __future__ import annotations

import math
from numbers import Number
from typing import Any

import disttorch as _t
import disttorch.nn.functional as _F

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _noise, broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs: Any = None, logits: Any = None, lims: tuple = (0.499, 0.501),
                 validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(self.probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        self._lims = lims
        super().__init__(_t.Size() if is_scalar else self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> ContinuousBernoulli:
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        batch_shape = _t.Size(batch_shape)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(batch_shape))
                new._param = getattr(new, name)
        ExponentialFamily.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> Any:
        return self._param.new(*args, **kwargs)

    def _stable(self) -> Any:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Any:
        return _t.where(self._stable(), self.probs, self._lims[0] * _t.ones_like(self.probs))

    def _cont_bern_log_norm(self) -> Any:
        p = self._cut_probs()
        below = _t.where(p <= 0.5, p, _t.zeros_like(p))
        above = _t.where(p >= 0.5, p, _t.ones_like(p))
        exact = (_t.log(_t.abs(_t.log1p(-p) - _t.log(p)))
                 - _t.where(p <= 0.5, _t.log1p(-2.0 * below), _t.log(2.0 * above - 1.0)))
        x = _t.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _t.where(self._stable(), exact, taylor)

    @property
    def mean(self) -> Any:
        p = self._cut_probs()
        exact = p / (2.0 * p - 1.0) + 1.0 / (_t.log1p(-p) - _t.log(p))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * _t.pow(x, 2)) * x
        return _t.where(self._stable(), exact, taylor)

    @property
    def stddev(self) -> Any:
        return _t.sqrt(self.variance)

    @property
    def variance(self) -> Any:
        p = self._cut_probs()
        exact = p * (p - 1.0) / _t.pow(1.0 - 2.0 * p, 2) + 1.0 / _t.pow(_t.log1p(-p) - _t.log(p), 2)
        x = _t.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _t.where(self._stable(), exact, taylor)

    @lazy_property
    def logits(self) -> Any:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Any:
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> Any:
        return self._param.size()

    def sample(self, sample_shape: Any = ()) -> Any:
        with _t.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Any:
        return self.icdf(_noise("random", self._extended_shape(sample_shape), self.probs))

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        exact = (_t.pow(p, value) * _t.pow(1.0 - p, 1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inside = _t.where(self._stable(), exact, value)
        return _t.where(value <= 0.0, _t.zeros_like(value), _t.where(value >= 1.0, _t.ones_like(value), inside))

    def icdf(self, value: Any) -> Any:
        p = self._cut_probs()
        exact = (_t.log1p(-p + value * (2.0 * p - 1.0)) - _t.log1p(-p)) / (_t.log(p) - _t.log1p(-p))
        return _t.where(self._stable(), exact, value)

    def entropy(self) -> Any:
        log_q, log_p = _t.log1p(-self.probs), _t.log(self.probs)
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x: Any) -> Any:
        stable = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = _t.where(stable, x, (self._lims[0] - 0.5) * _t.ones_like(x))
        exact = _t.log(_t.abs(_t.special.expm1(cut))) - _t.log(_t.abs(cut))
        taylor = 0.5 * x + _t.pow(x, 2) / 24.0 - _t.pow(x, 4) / 2880.0
        return _t.where(stable, exact, taylor)
