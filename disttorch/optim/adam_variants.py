"""Adam's relatives: NAdam (Nesterov momentum with momentum decay), RAdam (rectified variance), Adamax
(infinity norm). Each is one kernel on raw arrays run by the vectorised path of ``Optimizer._update``."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .adam import _lerp_
from .optimizer import Optimizer, _check, _check_lr, _no_differentiable, _scalar

__all__ = ["NAdam", "RAdam", "Adamax"]


def _decay(xp: Any, p: Any, g: Any, g_owned: bool, lr: float, weight_decay: float, maximize: bool,
           decoupled: bool) -> Any:
    """The gradient after ``maximize`` and (L2 or decoupled) weight decay."""
    if maximize:
        g = xp.negative(g, out=g if g_owned else None)
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + p * weight_decay
    return g


def _moments(xp: Any, g: Any, s: dict, beta1: float, beta2: float) -> Any:
    m, v = s["exp_avg"], s["exp_avg_sq"]
    tmp = xp.empty_like(g)
    _lerp_(xp, m, g, 1 - beta1, tmp)
    v *= beta2
    xp.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    return tmp


def _nadam(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, beta1: float, beta2: float,
           eps: float, weight_decay: float, momentum_decay: float, maximize: bool, decoupled: bool) -> None:
    g = _decay(xp, p, g, g_owned, lr, weight_decay, maximize, decoupled)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    # mu_product is one number per parameter; the flat path gives every parameter of a bucket the same step,
    # hence the same product: update the first entry's value and broadcast
    prod = s["mu_product"]
    prod *= mu
    mu_prod = float(prod.reshape(-1)[0])
    tmp = _moments(xp, g, s, beta1, beta2)
    xp.divide(s["exp_avg_sq"], 1 - beta2 ** step, out=tmp)
    xp.sqrt(tmp, out=tmp)
    tmp += eps
    p += g * (-lr * (1.0 - mu) / (1.0 - mu_prod)) / tmp
    p += s["exp_avg"] * (-lr * mu_next / (1.0 - mu_prod * mu_next)) / tmp


def _radam(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, beta1: float, beta2: float,
           eps: float, weight_decay: float, maximize: bool, decoupled: bool) -> None:
    g = _decay(xp, p, g, g_owned, lr, weight_decay, maximize, decoupled)
    tmp = _moments(xp, g, s, beta1, beta2)
    bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2 ** step / bc2
    upd = s["exp_avg"] / bc1 * lr
    if rho_t > 5.0:  # the variance estimate is tractable: rectify the adaptive step
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        xp.sqrt(s["exp_avg_sq"], out=tmp)
        tmp += eps
        upd *= bc2 ** 0.5 / tmp
        upd *= rect
    p -= upd


def _adamax(xp: Any, p: Any, g: Any, s: dict, g_owned: bool, step: float, *, lr: float, beta1: float, beta2: float,
            eps: float, weight_decay: float, maximize: bool) -> None:
    g = _decay(xp, p, g, g_owned, lr, weight_decay, maximize, False)
    m, u = s["exp_avg"], s["exp_inf"]
    tmp = xp.empty_like(g)
    _lerp_(xp, m, g, 1 - beta1, tmp)
    u *= beta2
    xp.abs(g, out=tmp)
    tmp += eps
    xp.maximum(u, tmp, out=u)
    p -= m / u * (lr / (1 - beta1 ** step))


def _check_adam_like(lr: Any, betas: tuple, eps: float, weight_decay: float) -> None:
    _check_lr(lr)
    _check(0.0 <= eps, "epsilon value", eps)
    _check(0.0 <= betas[0] < 1.0, "beta parameter at index 0", betas[0])
    _check(0.0 <= betas[1] < 1.0, "beta parameter at index 1", betas[1])
    _check(0.0 <= weight_decay, "weight_decay value", weight_decay)


class NAdam(Optimizer):
    """NAdam (Dozat) with PyTorch's momentum schedule ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``."""

    def __init__(self, params: Any, lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        _check(0.0 <= momentum_decay, "momentum_decay value", momentum_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            for p in params:
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = self._new_step()
                    st["mu_product"] = Tensor._from_array(self._new_step()._data + 1.0)
                    st["exp_avg"] = Tensor._from_array(p._xp.zeros_like(p._data))
                    st["exp_avg_sq"] = Tensor._from_array(p._xp.zeros_like(p._data))
            beta1, beta2 = group["betas"]
            hp = {"lr": _scalar(group["lr"]), "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "momentum_decay": group["momentum_decay"],
                  "maximize": group["maximize"], "decoupled": group["decoupled_weight_decay"]}
            for p in params:  # mu_product is a scalar per parameter: one parameter at a time
                _one(self, p, ("exp_avg", "exp_avg_sq"), _nadam, hp)
        return loss


def _one(opt: Optimizer, p: Tensor, keys: tuple[str, ...], kernel: Callable, hp: dict[str, Any]) -> None:
    st = opt.state[p]
    st["step"]._data += 1
    s = {k: st[k]._data for k in keys}
    s["mu_product"] = st["mu_product"]._data.reshape(1)
    arr, g = p._data, p._grad._data
    if arr.dtype.kind == "c":
        arr, g = arr.view(arr.real.dtype), g.view(g.real.dtype)
        s.update({k: s[k].view(s[k].real.dtype) for k in keys})
    if arr.ndim == 0:
        arr, g = arr.reshape(1), g.reshape(1)
        s.update({k: s[k].reshape(1) for k in keys})
    kernel(p._xp, arr, g, s, False, float(st["step"]._data), **hp)
    p._vc[0] += 1


class RAdam(Optimizer):
    """RAdam (Liu et al.): Adam whose adaptive step is rectified, or plain momentum SGD while the variance
    estimate is not yet tractable (rho_t <= 5)."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay, "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            keys = ("exp_avg", "exp_avg_sq")
            self._init_state(params, keys)
            beta1, beta2 = group["betas"]
            hp = {"lr": _scalar(group["lr"]), "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "maximize": group["maximize"],
                  "decoupled": group["decoupled_weight_decay"]}
            self._update(params, keys, _radam, hp)
        return loss


class Adamax(Optimizer):
    """Adamax (Kingma and Ba): Adam with the infinity norm of past gradients in place of their RMS."""

    def __init__(self, params: Any, lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_like(lr, betas, eps, weight_decay)
        _no_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            keys = ("exp_avg", "exp_inf")
            self._init_state(params, keys)
            beta1, beta2 = group["betas"]
            hp = {"lr": _scalar(group["lr"]), "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                  "weight_decay": group["weight_decay"], "maximize": group["maximize"]}
            self._update(params, keys, _adamax, hp)
        return loss
