"""Adafactor (Shazeer and Stern) as PyTorch 2.13 defines it: factored second moments (row and column
means) for parameters of two or more dimensions, relative step sizes, and update clipping by ``d``."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch._tensor import Tensor

from .adam import _lerp_
from .optimizer import Optimizer, _scalar

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor with PyTorch's arguments: ``beta2_decay`` sets 1 - beta2_t = t^beta2_decay; ``eps`` is
    (eps1 or the dtype's machine epsilon, eps2); ``weight_decay`` is decoupled."""

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        checks = [(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}"),
                  (0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
                  (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
                  (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
                  (1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}"),
                  (0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}")]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        for group, params in self._groups_with_grad():
            lr, d, wd = _scalar(group["lr"]), group["d"], group["weight_decay"]
            eps1, eps2 = group["eps"]
            for p in params:
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                xp, arr, g = p._xp, p._data, p._grad._data
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = self._new_step()
                    if g.ndim > 1:
                        st["row_var"] = Tensor._from_array(xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype))
                        st["col_var"] = Tensor._from_array(xp.zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=g.dtype))
                    else:
                        st["variance"] = Tensor._from_array(xp.zeros_like(g))
                if group["maximize"]:
                    g = -g
                e1 = float(np.finfo(arr.dtype).eps) if eps1 is None else eps1
                st["step"]._data += 1
                t = float(st["step"]._data)
                w = t ** group["beta2_decay"]
                rho = min(lr, 1 / t ** 0.5)
                alpha = max(eps2, float(xp.sqrt((arr * arr).sum())) / arr.size ** 0.5) * rho
                if wd != 0:
                    arr *= 1 - lr * wd
                if g.ndim > 1:
                    rv, cv = st["row_var"]._data, st["col_var"]._data
                    sq = g * g
                    _lerp_(xp, rv, sq.sum(-1, keepdims=True) / g.shape[-1], w, xp.empty_like(rv))
                    _lerp_(xp, cv, sq.sum(-2, keepdims=True) / g.shape[-2], w, xp.empty_like(cv))
                    var = rv * cv / xp.maximum(rv.mean(-2, keepdims=True), e1)
                else:
                    v = st["variance"]._data.reshape(-1)
                    _lerp_(xp, v, (g * g).reshape(-1), w, xp.empty_like(v))
                    var = st["variance"]._data.copy()
                upd = 1 / xp.sqrt(xp.maximum(var, e1 * e1))
                upd = upd * g
                denom = max(1.0, float(xp.sqrt((upd * upd).sum())) / (upd.size ** 0.5 * d))
                if arr.ndim == 0:
                    arr[...] = arr - upd * (alpha / denom)
                else:
                    arr -= upd * (alpha / denom)
                p._vc[0] += 1
        return loss
