"""Adadelta (Zeiler) and Rprop (resilient backpropagation): kernels for the vectorised update path."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["Adadelta", "Rprop"]


def _adadelta(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, rho: float, eps: float,
              weight_decay: float, maximize: bool) -> None:
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
    if weight_decay != 0:
        g = g + p * weight_decay
    sq, acc = s["square_avg"], s["acc_delta"]
    sq *= rho
    sq += g * g * (1 - rho)
    std = xp.sqrt(sq + eps)
    delta = xp.sqrt(acc + eps)
    delta /= std
    delta *= g
    acc *= rho
    acc += delta * delta * (1 - rho)
    p -= delta * lr


def _rprop(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, etaminus: float, etaplus: float,
           step_size_min: float, step_size_max: float, maximize: bool) -> None:
    if maximize:
        g = -g
    prev, size = s["prev"], s["step_size"]
    agree = g * prev
    # the step size grows where the gradient kept its sign, shrinks where it flipped (and that step is skipped)
    factor = xp.where(agree > 0, etaplus, xp.where(agree < 0, etaminus, 1.0)).astype(size.dtype)
    size *= factor
    xp.clip(size, step_size_min, step_size_max, out=size)
    g = xp.where(agree < 0, 0, g).astype(p.dtype)
    p -= xp.sign(g) * size
    prev[...] = g


class Adadelta(Optimizer):
    """Adadelta with PyTorch's arguments (``lr`` scales the step; epsilon inside both square roots)."""

    def __init__(self, params: Any, lr: float | Tensor = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check(0.0 <= rho <= 1.0, "rho value", rho)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            keys = ("square_avg", "acc_delta")
            self._init_state(params, keys)
            hp = {"lr": _scalar(group["lr"]), "rho": group["rho"], "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "maximize": group["maximize"]}
            self._update(params, keys, _adadelta, hp)
        return loss


class Rprop(Optimizer):
    """Rprop: per-element step sizes adapted from the signs of successive gradients (``lr`` is the first one)."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            lr = _scalar(group["lr"])
            for p in params:
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = self._new_step()
                    st["prev"] = Tensor._from_array(p._xp.zeros_like(p._data))
                    st["step_size"] = Tensor._from_array(p._xp.full_like(p._data, lr))
            (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
            hp = {"etaminus": etaminus, "etaplus": etaplus, "step_size_min": lo, "step_size_max": hi,
                  "maximize": group["maximize"]}
            self._update(params, ("prev", "step_size"), _rprop, hp)
        return loss
