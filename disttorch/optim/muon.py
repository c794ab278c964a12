"""Muon: momentum SGD whose update of each 2-d parameter is orthogonalised by a quintic Newton-Schulz iteration
(in bfloat16, as PyTorch does), with decoupled weight decay and a shape-dependent learning-rate scale."""
from __future__ import annotations

import math
from typing import Any, Callable

from disttorch._ops.linalg import addmm
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import no_grad

from .optimizer import Optimizer, _scalar

__all__ = ["Muon"]

_A, _B, _C = 3.4445, -4.775, 2.0315
_EPS = 1e-7
_NS_STEPS = 5


def _orthogonalize(grad: Tensor, coefficients: tuple, steps: int, eps: float) -> Tensor:
    """X <- a X + (b G + c G^2) X with G = X X^T, ``steps`` times, from X = grad / ||grad|| (the wide way round)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.dim() != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.bfloat16()
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.T
        x = _addmm_bf16(x, _addmm_bf16(gram, gram, gram, b, c), x, a, 1.0)
    return x.T if tall else x


def _addmm_bf16(c: Tensor, a: Tensor, b: Tensor, beta: float, alpha: float) -> Tensor:
    """beta c + alpha a @ b of bfloat16 matrices, accumulated in float32 and rounded once (as PyTorch's CPU
    bfloat16 addmm rounds)."""
    return addmm(c.float(), a.float(), b.float(), beta=beta, alpha=alpha).bfloat16()


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape: tuple) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    """Muon for 2-d parameters (use another optimizer for biases, norms and embeddings)."""

    def __init__(self, params: Any, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = (_A, _B, _C),
                 eps: float = _EPS, ns_steps: int = _NS_STEPS, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                    "ns_coefficients": ns_coefficients, "eps": eps, "ns_steps": ns_steps,
                    "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = self._closure_loss(closure)
        with no_grad():
            for group, params in self._groups_with_grad():
                lr, wd, mom = _scalar(group["lr"]), group["weight_decay"], group["momentum"]
                for p in params:
                    if p.is_complex():
                        raise RuntimeError("Muon does not support complex parameters")
                    grad = p.grad
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = grad.detach().clone().zero_()
                    buf = state["momentum_buffer"]
                    buf.lerp_(grad, 1 - mom)
                    update = grad.lerp(buf, mom) if group["nesterov"] else buf
                    update = _orthogonalize(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
                    p.mul_(1 - lr * wd)
                    p.add_(update.to(p.dtype), alpha=-_adjust_lr(lr, group["adjust_lr_fn"], tuple(p.shape)))
        return loss
