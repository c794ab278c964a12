"""var, std, var_mean, std_mean."""
from __future__ import annotations

import math
import warnings
from typing import Any

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, write_out
from ._common import const, expand_reduced, numel_over, reduce_axes, with_kept_dims
from .sum_mean_prod import mean

__all__ = ["var", "std", "var_mean", "std_mean"]


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("Cannot specify both unbiased and correction")
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_array(x: Any, axes: tuple, dof: float, keepdim: bool, n: int) -> Any:
    xp = array_module(x)
    centered = x - x.sum(axis=axes, keepdims=True) / n
    sq = centered.real * centered.real + centered.imag * centered.imag if x.dtype.kind == "c" else \
        centered * centered
    return sq.sum(axis=axes, keepdims=keepdim) / xp.asarray(dof, sq.dtype)


def _var_grad(x: Tensor, grad: Tensor, axes: tuple, keepdim: bool, dof: float) -> Tensor:
    """d var / d x: 2 / dof * grad * (x - mean(x))."""
    scale = 2.0 / dof if dof > 0 else math.inf
    centered = x - mean(x, axes, keepdim=True)
    return (scale * with_kept_dims(grad, x._data.shape, axes, keepdim)) * centered


class Var(Op):
    """var / std (``is_std``) and, with ``with_mean``, var_mean / std_mean."""

    save_inputs = True
    save_output = True

    def forward(self, x: Any) -> Any:
        out = _var_array(x, self.axes, self.dof, self.keepdim, self.n)
        if self.is_std:
            out = array_module(x).sqrt(out)
        if not self.with_mean:
            return out
        s = x.sum(axis=self.axes, keepdims=self.keepdim)
        return out, s / self.n

    def backward(self, grad: Tensor, grad_mean: Tensor | None = None) -> Tensor:
        (x,) = self.saved_inputs
        if self.is_std:  # d std = d var / (2 std), taken as 0 where std is 0
            std = self.saved_output
            zero = std._data == 0
            grad = (grad / ((std + const(zero, std)) * 2)) * const(~zero, std)
        result = _var_grad(x, grad, self.axes, self.keepdim, self.dof)
        if grad_mean is not None:
            result = result + expand_reduced(grad_mean, x._data.shape, self.axes, self.keepdim) / self.n
        return result

    def saved_spec(self) -> dict:  # var needs no result (std does), as PyTorch saves
        if self.is_std:
            return {"self": 0, "result": -1}
        return {"self": 0}

    def name(self) -> str:
        if self.with_mean:
            return "StdMeanBackward0" if self.is_std else "VarMeanBackward0"
        return "StdBackward0" if self.is_std else "VarBackward0"


def _var(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, is_std: bool,
         with_mean: bool) -> Any:
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        dim, unbiased = None, dim
    if input.dtype.category < D.FLOAT:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    axes = reduce_axes(dim, input._data.ndim)
    n = numel_over(input._data.shape, axes)
    dof = max(0, n - _correction(unbiased, correction))
    if dof <= 0:
        what = "std" if is_std else "var"
        warnings.warn(f"{what}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return Var.apply(input, axes=axes, keepdim=keepdim, n=n, dof=dof, is_std=is_std, with_mean=with_mean)


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    return write_out(_var(input, dim, unbiased, keepdim, correction, False, False), out)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        out: Tensor | None = None) -> Tensor:
    return write_out(_var(input, dim, unbiased, keepdim, correction, True, False), out)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return _var(input, dim, unbiased, keepdim, correction, False, True)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return _var(input, dim, unbiased, keepdim, correction, True, True)


methods({"var": var, "std": std, "var_mean": var_mean, "std_mean": std_mean})
