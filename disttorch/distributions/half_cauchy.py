"""HalfCauchy(scale): |X| for X ~ Cauchy(0, scale)."""
from __future__ import annotations

import math
from typing import Any

import disttorch as _t

from .cauchy import Cauchy
from .half_normal import _Folded

__all__ = ["HalfCauchy"]


class HalfCauchy(_Folded):
    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(Cauchy(0, scale, validate_args=False), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> HalfCauchy:
        return self._expand_as(HalfCauchy, batch_shape, _instance)

    @property
    def mean(self) -> Any:
        return _t.full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self) -> Any:
        return self.base_dist.variance
