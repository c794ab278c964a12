"""Pieces shared by the numpy steps: cross-entropy, optimizers with PyTorch's update rules, LayerNorm."""
from __future__ import annotations

import numpy as np

F32 = np.float32


def cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits ``z`` (n, classes) against labels ``y``, and its gradient
    (softmax - onehot) / n. ``z`` is overwritten."""
    n = z.shape[0]
    rows = np.arange(n)
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    s = e.sum(1, keepdims=True)
    loss = float(np.log(s).mean() - z[rows, y].mean())
    e /= s
    e[rows, y] -= 1
    e *= F32(1 / n)
    return loss, e


class SGDMomentum:
    """PyTorch's SGD with momentum, no dampening: buf = momentum * buf + grad (the first step sets
    buf = grad), p -= lr * buf. Updates the arrays in place."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float) -> None:
        self.params = params
        self.bufs = [np.zeros_like(p) for p in params]
        self.lr, self.momentum = F32(lr), F32(momentum)
        self.first = True

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g, buf in zip(self.params, grads, self.bufs):
            if self.first:
                buf[...] = g
            else:
                buf *= self.momentum
                buf += g
            p -= self.lr * buf
        self.first = False


class Adam:
    """PyTorch's Adam / AdamW (``decoupled=True``: p *= 1 - lr * weight_decay before the Adam step),
    without amsgrad: m, v running moments, bias-corrected step lr / (1 - b1^t) * m / (sqrt(v) /
    sqrt(1 - b2^t) + eps)."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False) -> None:
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.lr, self.b1, self.b2, self.eps = lr, betas[0], betas[1], eps
        self.wd, self.decoupled = weight_decay, decoupled
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.b1, self.b2
        step_size = F32(self.lr / (1 - b1 ** self.t))
        bc2_sqrt = F32((1 - b2 ** self.t) ** 0.5)
        decay = F32(1 - self.lr * self.wd)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            if self.wd and self.decoupled:
                p *= decay
            elif self.wd:
                g = g + F32(self.wd) * p
            m *= F32(b1)
            m += F32(1 - b1) * g
            v *= F32(b2)
            v += F32(1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom /= bc2_sqrt
            denom += F32(self.eps)
            p -= step_size * m / denom


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5
               ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """LayerNorm over the last axis; returns the output and what the backward needs (xhat, 1/std)."""
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, -1, keepdims=True)
    rstd = 1 / np.sqrt(var + F32(eps))
    xhat = xc * rstd
    return xhat * w + b, (xhat, rstd)


def layer_norm_backward(dy: np.ndarray, w: np.ndarray, saved: tuple[np.ndarray, np.ndarray]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of layer_norm: (dx, dw, db)."""
    xhat, rstd = saved
    c = dy.shape[-1]
    dy2 = dy.reshape(-1, c)
    xh2 = xhat.reshape(-1, c)
    dw = np.einsum("ij,ij->j", dy2, xh2)
    db = dy2.sum(0)
    dxhat = dy * w
    dx = dxhat - dxhat.mean(-1, keepdims=True) - xhat * np.mean(dxhat * xhat, -1, keepdims=True)
    dx *= rstd
    return dx, dw, db


def linear(a: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """a @ w.T (+ b) over the last axis of ``a``, as one 2-D GEMM whatever the leading axes."""
    out = a.reshape(-1, a.shape[-1]) @ w.T
    if b is not None:
        out += b
    return out.reshape(*a.shape[:-1], w.shape[0])


def linear_grads(d: np.ndarray, inp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias gradients of y = inp @ W.T + b for upstream gradient ``d`` (any leading axes)."""
    d2 = d.reshape(-1, d.shape[-1])
    return d2.T @ inp.reshape(-1, inp.shape[-1]), d2.sum(0)
