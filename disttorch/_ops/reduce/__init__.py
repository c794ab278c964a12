"""Reductions and scans, one module per family: sum/mean/prod, extremes (max, min, amax, argmax, aminmax),
var/std, norms, logsumexp/softmax, cumulative ops, logical (any/all), medians.

Backward formulas follow PyTorch's (``tools/autograd/derivatives.yaml``) and are written with Tensor ops
(the real reshape, flip, exp and scatter ops), so gradients of gradients work.
"""
from . import cumulative, extremes, logical, medians, norms, quantile_mode, softmax_logsumexp, sum_mean_prod, var_std
from .cumulative import *
from .extremes import *
from .logical import *
from .medians import *
from .norms import *
from .quantile_mode import *
from .norms import LinalgVectorNorm, vector_norm
from .softmax_logsumexp import *
from .softmax_logsumexp import LogSumExp, Softmax
from .sum_mean_prod import *
from .var_std import *

__all__ = [name for module in (sum_mean_prod, extremes, var_std, norms, softmax_logsumexp, cumulative, logical,
                               medians, quantile_mode) for name in module.__all__]
