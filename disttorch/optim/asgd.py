"""ASGD: averaged stochastic gradient descent (Polyak and Juditsky) with PyTorch's eta and mu schedules."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar, _step_dtype

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """ASGD: SGD with step ``eta_t = lr / (1 + lambd lr t)^alpha`` and a running average ``ax`` of the
    parameters, started after ``t0`` steps (``mu_t = 1 / max(1, t - t0)``)."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            lr, lambd, alpha, t0 = _scalar(group["lr"]), group["lambd"], group["alpha"], group["t0"]
            wd = group["weight_decay"]
            for p in params:
                st = self.state[p]
                xp = p._xp
                if len(st) == 0:
                    st["step"] = self._new_step()
                    st["eta"] = Tensor._from_array(self._new_step()._data + lr)
                    st["mu"] = Tensor._from_array(self._new_step()._data + 1.0)
                    st["ax"] = Tensor._from_array(xp.zeros_like(p._data))
                arr, g, ax = p._data, p._grad._data, st["ax"]._data
                if arr.dtype.kind == "c":
                    arr, g, ax = arr.view(arr.real.dtype), g.view(g.real.dtype), ax.view(ax.real.dtype)
                if arr.ndim == 0:
                    arr, g, ax = arr.reshape(1), g.reshape(1), ax.reshape(1)
                st["step"]._data += 1
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + arr * wd
                eta, mu = float(st["eta"]._data), float(st["mu"]._data)
                arr *= 1 - lambd * eta
                arr -= g * eta
                if mu != 1:
                    ax += (arr - ax) * mu
                else:
                    ax[...] = arr
                p._vc[0] += 1
                step = float(st["step"]._data)
                # the new values pass through a default-dtype scalar (float32 unless float64 is the default),
                # also when a loaded state holds them in the parameters' dtype, as in PyTorch
                st["eta"]._data[...] = _step_dtype().type(lr / ((1 + lambd * lr * step) ** alpha))
                st["mu"]._data[...] = _step_dtype().type(1 / max(1, step - t0))
        return loss
