"""Adam and AdamW (Adam with decoupled weight decay)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import numpy_backend as _host

from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["Adam", "AdamW"]


def _lerp_(xp: Any, a: Any, b: Any, w: float, tmp: Any) -> None:
    """a <- a + w * (b - a), written as PyTorch's lerp does (from the nearer end for w >= 0.5)."""
    xp.subtract(b, a, out=tmp)
    if w < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1 - w
        xp.subtract(b, tmp, out=a)


def _adam(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float, amsgrad: bool, maximize: bool, decoupled: bool) -> None:
    if xp is np:  # compiled (numba): the steps below in one pass; False: numpy
        fast = _host.kernels.get("adam")
        if fast is not None and fast(p, g, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq"), lr, beta1, beta2,
                                     eps, weight_decay, step, decoupled, amsgrad, maximize):
            return
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + p * weight_decay
    m, v = s["exp_avg"], s["exp_avg_sq"]
    tmp = xp.empty_like(p)
    _lerp_(xp, m, g, 1 - beta1, tmp)
    v *= beta2
    xp.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if amsgrad:
        vmax = s["max_exp_avg_sq"]
        xp.maximum(vmax, v, out=vmax)
        v = vmax
    xp.sqrt(v, out=tmp)
    tmp /= bias_correction2_sqrt
    tmp += eps
    xp.divide(m, tmp, out=tmp)
    tmp *= step_size
    p -= tmp


class Adam(Optimizer):
    """Adam (Kingma and Ba) with PyTorch's arguments, bias corrections and epsilon placement."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        _check(0.0 <= eps, "epsilon value", eps)
        _check(0.0 <= betas[0] < 1.0, "beta parameter at index 0", betas[0])
        _check(0.0 <= betas[1] < 1.0, "beta parameter at index 1", betas[1])
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, Tensor) and b.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "betas": tuple(_scalar(b) for b in betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._set_group_defaults((("amsgrad", False), ("maximize", False), ("foreach", None), ("capturable", False),
                                  ("differentiable", False), ("decoupled_weight_decay", False), ("fused", None)))
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st and not isinstance(st.get("step"), Tensor):
                    st["step"] = Tensor._from_array(self._new_step()._data + float(st["step"]))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            amsgrad = group["amsgrad"]
            keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
            self._init_state(params, keys)
            beta1, beta2 = group["betas"]
            hp = {"lr": _scalar(group["lr"]), "beta1": _scalar(beta1), "beta2": _scalar(beta2), "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "amsgrad": amsgrad, "maximize": group["maximize"],
                  "decoupled": group["decoupled_weight_decay"]}
            self._update(params, keys, _adam, hp)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter)."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-3, betas: tuple[Any, Any] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
