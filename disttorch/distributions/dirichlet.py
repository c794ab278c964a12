"""Dirichlet(concentration) on the simplex; rsample normalises implicit-reparameterised Gamma draws."""
from __future__ import annotations

from typing import Any

import disttorch as _t
import disttorch.nn.functional as _F

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _expand_params, _standard_gamma

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        return _expand_params(self, Dirichlet, batch_shape, ("concentration",), _instance)

    def rsample(self, sample_shape: Any = ()) -> Any:
        gammas = _standard_gamma(self.concentration.expand(self._extended_shape(sample_shape)))
        return gammas / gammas.sum(-1, True)

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return _t.xlogy(c - 1.0, value).sum(-1) + _t.lgamma(c.sum(-1)) - _t.lgamma(c).sum(-1)

    @property
    def mean(self) -> Any:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Any:
        excess = (self.concentration - 1).clamp(min=0.0)
        mode = excess / excess.sum(-1, True)
        # every concentration below one: the mass piles at the vertex of the largest
        all_small = (self.concentration < 1).all(dim=-1, keepdim=True)
        vertex = _F.one_hot(self.concentration.argmax(dim=-1), excess.shape[-1]).to(mode.dtype)
        return _t.where(all_small, vertex, mode)

    @property
    def variance(self) -> Any:
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self) -> Any:
        c = self.concentration
        k = c.size(-1)
        total = c.sum(-1)
        return (_t.lgamma(c).sum(-1) - _t.lgamma(total) - (k - total) * _t.digamma(total)
                - ((c - 1.0) * _t.digamma(c)).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x: Any) -> Any:
        return x.lgamma().sum(-1) - _t.lgamma(x.sum(-1))
