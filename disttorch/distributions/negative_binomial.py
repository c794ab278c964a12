"""NegativeBinomial(total_count, probs | logits): failures before ``total_count`` successes, ``probs`` being the
success probability of each trial as in PyTorch (a Gamma-Poisson mixture when sampling)."""
from __future__ import annotations

from typing import Any

import disttorch as _t
import disttorch.nn.functional as _F

from . import constraints
from .binomial import _expand_count_and_param, _init_count_and_param
from .distribution import Distribution
from .gamma import Gamma
from .utils import _BinaryProbsLogits, lazy_property

__all__ = ["NegativeBinomial"]


class NegativeBinomial(_BinaryProbsLogits, Distribution):
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        _init_count_and_param(self, total_count, probs, logits)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> NegativeBinomial:
        return _expand_count_and_param(self, NegativeBinomial, batch_shape, _instance)

    def _new(self, *args: Any, **kwargs: Any) -> Any:
        return self._param.new(*args, **kwargs)

    @property
    def mean(self) -> Any:
        return self.total_count * _t.exp(self.logits)

    @property
    def mode(self) -> Any:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Any:
        return self.mean / _t.sigmoid(-self.logits)

    @property
    def param_shape(self) -> Any:
        return self._param.size()

    @lazy_property
    def _gamma(self) -> Gamma:
        return Gamma(concentration=self.total_count, rate=_t.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape: Any = ()) -> Any:
        with _t.no_grad():
            return _t.poisson(self._gamma.sample(sample_shape=sample_shape).contiguous())

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        unnormalized = n * _F.logsigmoid(-self.logits) + value * _F.logsigmoid(self.logits)
        normalization = -_t.lgamma(n + value) + _t.lgamma(1.0 + value) + _t.lgamma(n)
        normalization = normalization.masked_fill(n + value == 0.0, 0.0)
        return unnormalized - normalization
