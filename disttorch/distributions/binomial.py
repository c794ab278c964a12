"""Binomial(total_count, probs | logits): successes in ``total_count`` Bernoulli trials."""
from __future__ import annotations

from typing import Any

import disttorch as _t

from . import constraints
from .distribution import Distribution
from .utils import _BinaryProbsLogits, _rng, broadcast_all

__all__ = ["Binomial"]


def _clamp_by_zero(x: Any) -> Any:
    """max(x, 0) whose gradient at 0 is 1/2."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


def _init_count_and_param(self: Any, total_count: Any, probs: Any, logits: Any) -> None:
    """Shared by Binomial and NegativeBinomial: exactly one of probs/logits, broadcast with the count."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    name, param = ("probs", probs) if probs is not None else ("logits", logits)
    count, param = broadcast_all(total_count, param)
    self.total_count = count.type_as(param)
    setattr(self, name, param)
    self._param = param


def _expand_count_and_param(self: Any, cls: type, batch_shape: Any, _instance: Any) -> Any:
    new = self._get_checked_instance(cls, _instance)
    batch_shape = _t.Size(batch_shape)
    new.total_count = self.total_count.expand(batch_shape)
    for name in ("probs", "logits"):
        if name in self.__dict__:
            setattr(new, name, getattr(self, name).expand(batch_shape))
            new._param = getattr(new, name)
    Distribution.__init__(new, batch_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


class Binomial(_BinaryProbsLogits, Distribution):
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        _init_count_and_param(self, total_count, probs, logits)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        return _expand_count_and_param(self, Binomial, batch_shape, _instance)

    def _new(self, *args: Any, **kwargs: Any) -> Any:
        return self._param.new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Any:
        return self.total_count * self.probs

    @property
    def mode(self) -> Any:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Any:
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def param_shape(self) -> Any:
        return self._param.size()

    def sample(self, sample_shape: Any = ()) -> Any:
        shape = tuple(self._extended_shape(sample_shape))
        with _t.no_grad():
            n = self.total_count.detach().expand(shape).long()
            p = self.probs.detach().double().expand(shape)
            draws = _rng(self.probs).binomial(n._data, p._data)
            return _t.as_tensor(draws, device=self.probs.device).to(self.probs.dtype)

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        normalize = (n * _clamp_by_zero(logits) + n * _t.log1p(_t.exp(-_t.abs(logits))) - _t.lgamma(n + 1))
        return value * logits - _t.lgamma(value + 1) - _t.lgamma(n - value + 1) - normalize

    def _homogeneous_count(self, what: str) -> int:
        total = int(self.total_count.max())
        if not int(self.total_count.min()) == total:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return total

    def entropy(self) -> Any:
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(_t.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Any:
        total = self._homogeneous_count("enumerate_support")
        values = _t.arange(1 + total, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
