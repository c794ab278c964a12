"""StudentT(df, loc, scale): loc + scale * X / sqrt(Z / df), X ~ N(0, 1), Z ~ Chi2(df)."""
from __future__ import annotations

import math
from typing import Any

import disttorch as _t

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _expand_params, _noise, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        new = _expand_params(self, StudentT, batch_shape, ("df", "loc", "scale"), _instance)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    @property
    def mean(self) -> Any:
        return _t.where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        df = self.df
        finite = self.scale.pow(2) * df / _t.where(df > 2, df - 2, 1.0)
        return _t.where(df > 2, finite, _t.where(df > 1, math.inf, math.nan))

    def rsample(self, sample_shape: Any = ()) -> Any:
        x = _noise("standard_normal", self._extended_shape(sample_shape), self.df)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * x * _t.rsqrt(z / self.df)

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        log_norm = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) + _t.lgamma(0.5 * df)
                    - _t.lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * _t.log1p(y ** 2.0 / df) - log_norm

    def entropy(self) -> Any:
        df = self.df
        lbeta = _t.lgamma(0.5 * df) + math.lgamma(0.5) - _t.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (_t.digamma(0.5 * (df + 1)) - _t.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)
