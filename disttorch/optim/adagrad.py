"""Adagrad (Duchi et al.): per-coordinate learning rates from accumulated squared gradients."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["Adagrad"]


def _adagrad(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, lr_decay: float,
             eps: float, weight_decay: float, maximize: bool) -> None:
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
    if weight_decay != 0:
        g = g + p * weight_decay
    clr = lr / (1 + (step - 1) * lr_decay)
    acc = s["sum"]
    tmp = xp.multiply(g, g)
    acc += tmp
    xp.sqrt(acc, out=tmp)
    tmp += eps
    xp.divide(g, tmp, out=tmp)
    tmp *= clr
    p -= tmp


class Adagrad(Optimizer):
    """Adagrad with PyTorch's arguments; its state is created when the optimizer is."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check(0.0 <= lr_decay, "lr_decay value", lr_decay)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _check(0.0 <= initial_accumulator_value, "initial_accumulator_value value", initial_accumulator_value)
        _check(0.0 <= eps, "epsilon value", eps)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = self._new_step()
                init = initial_accumulator_value
                if p.is_complex():
                    init = complex(init, init)
                st["sum"] = Tensor._from_array(p._xp.full_like(p._data, init))

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._set_group_defaults((("foreach", None), ("maximize", False), ("differentiable", False), ("fused", None)))

    def share_memory(self) -> None:
        """No-op kept for API compatibility (state lives in ordinary process memory)."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            hp = {"lr": _scalar(group["lr"]), "lr_decay": group["lr_decay"], "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "maximize": group["maximize"]}
            self._update(params, ("sum",), _adagrad, hp)
        return loss
