"""Regression losses: mse, l1, smooth L1 and Huber (single Ops), Poisson and Gaussian negative log likelihood."""
from __future__ import annotations

import math
from typing import Any

from disttorch._autocast import autocast_op
from disttorch._ops._util import promote_operands
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .activation import _T, _grad_on, _raw_ns
from .loss_reduction import _grad_scale, _reduce, _reduce_raw, _reduction, _size_warning

_from_array = Tensor._from_array

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "poisson_nll_loss", "gaussian_nll_loss"]


# -- elementwise regression losses ------------------------------------------------------------------------
class _DiffLoss(Op):
    """reduce(f(x - t)); the gradient of t is minus that of x."""

    save_inputs = True
    pack_in_input_order = True

    def forward(self, x: Any, t: Any) -> Any:
        d = x - t
        self.n = d.size
        return _reduce_raw(array_module(d), self.f(d), self.reduction)

    def backward(self, grad: Tensor) -> tuple:
        x, t = self.saved_inputs
        if _grad_on[0]:
            gx = _grad_scale(grad, self.reduction, self.n) * self.df(x - t, _T)
        else:
            d = x._data - t._data
            g = grad._data / self.n if self.reduction == "mean" else grad._data
            gx = _from_array(g * self.df(d, _raw_ns(d)))
        return gx if self.next_edges[0] else None, -gx if self.next_edges[1] else None


class MseLoss(_DiffLoss):
    def f(self, d: Any) -> Any:
        return d * d

    def df(self, d: Any, m: Any) -> Any:
        return d * 2


class SmoothL1Loss(_DiffLoss):
    def f(self, d: Any) -> Any:
        a = abs(d)
        return array_module(d).where(a < self.beta, 0.5 * d * d / self.beta, a - 0.5 * self.beta)

    def df(self, d: Any, m: Any) -> Any:
        b = self.beta
        return m.where(d < -b, -1.0, m.where(d > b, 1.0, d / b))


class HuberLoss(_DiffLoss):
    def f(self, d: Any) -> Any:
        a = abs(d)
        return array_module(d).where(a < self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))

    def df(self, d: Any, m: Any) -> Any:
        b = self.delta
        return m.where(d < -b, -b, m.where(d > b, b, d))


def _pair(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    x, t, _ = promote_operands(input, target)
    if x._data.dtype.kind not in "fc":
        x, t = x.float(), t.float()
    return x, t


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


@autocast_op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _size_warning(input, target)
    x, t = _pair(input, target)
    if weight is not None:
        red = _reduction(reduction, size_average, reduce)
        return _weighted((x - t).pow(2), weight, input, red, True)
    return MseLoss.apply(x, t, reduction=_reduction(reduction, size_average, reduce))


@autocast_op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _size_warning(input, target)
    x, t = _pair(input, target)
    red = _reduction(reduction, size_average, reduce)
    if weight is not None:
        return _weighted((x - t).abs(), weight, input, red, True)
    return _reduce((x - t).abs(), red)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    _size_warning(input, target)
    red = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=red)
    x, t = _pair(input, target)
    return SmoothL1Loss.apply(x, t, reduction=red, beta=beta)


@autocast_op("huber_loss")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, t = _pair(input, target)
    if weight is not None:
        return _weighted(HuberLoss.apply(x, t, reduction="none", delta=delta), weight, input, reduction, False)
    return HuberLoss.apply(x, t, reduction=_reduction(reduction), delta=delta)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    red = _reduction(reduction, size_average, reduce)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        from disttorch._ops.compare import where

        stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, red)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    from disttorch._ops.creation import ones_like

    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clamp(min=eps) if not var.requires_grad else _clamp_keep_grad(var, eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _clamp_keep_grad(var: Tensor, eps: float) -> Tensor:
    """var clamped at eps in value, with the gradient passing through unchanged (PyTorch clamps under no_grad)."""
    return var + (var.detach().clamp(min=eps) - var.detach())
