"""Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import numpy_backend as _host

from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["SGD"]


def _sgd(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: Any, *, lr: float, momentum: float,
         dampening: float, weight_decay: float, nesterov: bool, maximize: bool, first: bool = False) -> None:
    if momentum != 0 and not first and xp is np:  # compiled (numba): the steps below in one pass; False: numpy
        fast = _host.kernels.get("sgd_momentum")
        if fast is not None and fast(p, g, s["momentum_buffer"], lr, momentum, dampening, weight_decay, nesterov,
                                     maximize):
            return
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
        g_owned = True
    if weight_decay != 0:
        if g_owned:
            g += p * weight_decay
        else:
            g = g + p * weight_decay
            g_owned = True
    if momentum != 0:
        buf = s["momentum_buffer"]
        if first:
            buf[...] = g
        else:
            buf *= momentum
            buf += g if dampening == 0 else g * (1 - dampening)
        if nesterov:
            if g_owned:
                g += buf * momentum
            else:
                g = g + buf * momentum
        else:
            g = buf
    p -= g * lr


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's arguments and update rule."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float | Tensor = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check(momentum >= 0.0, "momentum value", momentum)
        _check(weight_decay >= 0.0, "weight_decay value", weight_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._set_group_defaults((("nesterov", False), ("maximize", False), ("foreach", None),
                                   ("differentiable", False), ("fused", False)))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            hp = {"lr": _scalar(group["lr"]), "momentum": group["momentum"], "dampening": group["dampening"],
                  "weight_decay": _scalar(group["weight_decay"]), "nesterov": group["nesterov"],
                  "maximize": group["maximize"]}
            if group["momentum"] == 0:
                self._update(params, (), _sgd, hp, has_step=False)
                continue
            fresh = []
            for p in params:
                st = self.state[p]
                if st.get("momentum_buffer") is None:
                    st["momentum_buffer"] = Tensor._from_array(p._xp.zeros_like(p._data))
                    fresh.append(p)
            if fresh:
                self._update(fresh, ("momentum_buffer",), _sgd, {**hp, "first": True}, has_step=False)
            if len(fresh) < len(params):
                ids = {id(p) for p in fresh}
                rest = [p for p in params if id(p) not in ids]
                self._update(rest, ("momentum_buffer",), _sgd, hp, has_step=False)
        return loss
