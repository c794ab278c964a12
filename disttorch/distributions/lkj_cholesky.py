"""LKJCholesky(dim, concentration): Cholesky factors of correlation matrices with density proportional to
det(R)^(concentration - 1); samples by the onion method (Beta radii, uniform directions)."""
from __future__ import annotations

import math
from typing import Any

import disttorch as _t

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import _noise, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        # row i's squared norm off the diagonal is Beta(i/2, concentration + (dim - 2 - i)/2) (row 0: unused)
        marginal = self.concentration + 0.5 * (self.dim - 2)
        offset = _t.arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = _t.cat([offset.new_zeros((1,)), offset])
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.size(), _t.Size((dim, dim)), validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _t.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Any:
        with _t.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = _noise("standard_normal", self._extended_shape(sample_shape), y).tril(-1)
            norms = u.norm(dim=-1, keepdim=True)
            u = u / _t.where(norms > 0, norms, 1.0)  # row 0 has no off-diagonal part: stays zero
            w = _t.sqrt(y) * u
            diag = _t.clamp(1 - _t.sum(w ** 2, dim=-1), min=_t.finfo(w.dtype).tiny).sqrt()
            return w + _t.diag_embed(diag)

    def log_prob(self, value: Any) -> Any:
        if self._validate_args:
            self._validate_sample(value)
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = _t.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = _t.sum(order * diag.log(), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + _t.mvlgamma(alpha - 0.5, dm1) - _t.lgamma(alpha) * dm1
        return unnormalized - normalizer
