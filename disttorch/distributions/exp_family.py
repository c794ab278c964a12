"""ExponentialFamily: entropy from the log-normalizer by autograd (Bregman divergence of natural params)."""
from __future__ import annotations

from typing import Any

import disttorch as _t

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """p(x) = h(x) exp(<theta, t(x)> - F(theta)); subclasses give theta, F and E[log h(x)]."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Any) -> Any:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError

    def entropy(self) -> Any:
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        with _t.enable_grad():
            lg_normal = self._log_normalizer(*nparams)
            gradients = _t.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for param, grad in zip(nparams, gradients):
            result = result - (param * grad).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
