"""Multinomial(total_count, probs | logits): category counts of ``total_count`` Categorical draws."""
from __future__ import annotations

import math
from typing import Any

import disttorch as _t
import disttorch.nn.functional as _F

from . import constraints
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _t.Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args: Any, **kwargs: Any) -> Any:
        return self._categorical._new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> Any:
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Any:
        return self.probs * self.total_count

    @property
    def variance(self) -> Any:
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def logits(self) -> Any:
        return self._categorical.logits

    @property
    def probs(self) -> Any:
        return self._categorical.probs

    @property
    def param_shape(self) -> Any:
        return self._categorical.param_shape

    def sample(self, sample_shape: Any = ()) -> Any:
        sample_shape = _t.Size(sample_shape)
        draws = self._categorical.sample(_t.Size((self.total_count,)) + sample_shape)
        counts = _F.one_hot(draws, self._categorical._num_events).sum(0)
        return counts.expand(self._extended_shape(sample_shape)).type_as(self.probs)

    def entropy(self) -> Any:
        n = _t.tensor(self.total_count)
        term1 = n * self._categorical.entropy() - _t.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = _t.exp(self._binomial.log_prob(support))
        return term1 + (binomial_probs * _t.lgamma(support + 1)).sum([0, -1])

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # a category of probability 0 that was never drawn contributes 0 (not 0 * -inf)
        logits = _t.where((value == 0) & (logits == -math.inf), _t.zeros_like(logits), logits)
        return _t.lgamma(value.sum(-1) + 1) - _t.lgamma(value + 1).sum(-1) + (logits * value).sum(-1)
