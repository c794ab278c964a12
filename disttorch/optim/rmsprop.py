"""RMSprop (Hinton), optionally centered and with momentum."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .adam import _lerp_
from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["RMSprop"]


def _rmsprop(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, alpha: float, eps: float,
             weight_decay: float, momentum: float, centered: bool, maximize: bool) -> None:
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
    if weight_decay != 0:
        g = g + p * weight_decay
    sq = s["square_avg"]
    tmp = xp.multiply(g, g)
    tmp *= 1 - alpha
    sq *= alpha
    sq += tmp
    if centered:
        ga = s["grad_avg"]
        _lerp_(xp, ga, g, 1 - alpha, tmp)
        xp.multiply(ga, ga, out=tmp)
        xp.subtract(sq, tmp, out=tmp)
        xp.sqrt(tmp, out=tmp)
    else:
        xp.sqrt(sq, out=tmp)
    tmp += eps
    xp.divide(g, tmp, out=tmp)
    if momentum > 0:
        buf = s["momentum_buffer"]
        buf *= momentum
        buf += tmp
        tmp = buf * lr
    else:
        tmp *= lr
    p -= tmp


class RMSprop(Optimizer):
    """RMSprop with PyTorch's arguments and update rule (epsilon added outside the square root)."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= momentum, "momentum value", momentum)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= alpha, "alpha value", alpha)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._set_group_defaults((("momentum", 0), ("centered", False), ("foreach", None), ("maximize", False),
                                   ("differentiable", False), ("capturable", False)))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            keys = ("square_avg",)
            if group["momentum"] > 0:
                keys += ("momentum_buffer",)
            if group["centered"]:
                keys += ("grad_avg",)
            self._init_state(params, keys)
            hp = {"lr": _scalar(group["lr"]), "alpha": group["alpha"], "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "momentum": group["momentum"],
                  "centered": group["centered"], "maximize": group["maximize"]}
            self._update(params, keys, _rmsprop, hp)
        return loss
