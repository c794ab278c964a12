"""torch.special: PyTorch's special functions under their scipy-style names. Each is the same op as its
torch-level counterpart where one exists (``special.gammaln is torch.lgamma``'s op), so values, gradients
and ``out=`` behave alike."""
from __future__ import annotations

from typing import Any

from ._ops.reduce import log_softmax as _log_softmax
from ._ops.reduce import logsumexp
from ._ops.reduce import softmax as _softmax
from ._ops.unary import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    log1p,
    logit,
    polygamma,
    round,
    sigmoid,
    sinc,
    xlogy,
)
from ._ops.unary import igamma as gammainc
from ._ops.unary import igammac as gammaincc
from ._ops.unary import lgamma as gammaln
from ._ops.unary import mvlgamma as _mvlgamma
from ._ops.unary.bessel_k_airy import (
    airy_ai,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
)
from ._ops.unary.bessel_normal import (
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    entr,
    erfcx,
    i0e,
    i1,
    i1e,
    log_ndtr,
    modified_bessel_i0,
    modified_bessel_i1,
    ndtr,
    ndtri,
    spherical_bessel_j0,
    xlog1py,
)
from ._ops.unary.gamma import zeta
from ._ops.unary.polynomials import *  # noqa: F403 (the orthogonal polynomials)
from ._ops.unary.polynomials import __all__ as _polynomials
from ._tensor import Tensor

__all__ = [
    "airy_ai", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
    "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv",
    "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
    "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "multigammaln", "ndtr",
    "ndtri", "polygamma", "psi", "round", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
    *_polynomials,
]

psi = digamma


def expit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    return sigmoid(input, out=out)


def multigammaln(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma function of dimension ``p`` (torch.mvlgamma)."""
    return _mvlgamma(input, p, out=out)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _log_softmax(input, dim, dtype)
