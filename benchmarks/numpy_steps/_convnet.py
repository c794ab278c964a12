"""A small conv net in float32 numpy for the cnn and lenet steps: convolutions as im2col
(``sliding_window_view``) plus one GEMM, activations kept channels-last (N, H, W, C) so that the im2col
copy and the col2im slab additions run over contiguous channels; flatten uses PyTorch's (C, H, W) order.
Layers are ``("conv", name, padding)``, ``("relu",)``, ``("pool",)`` (2x2 max), ``("flatten",)`` and
``("linear", name)``; the loss is cross-entropy and the optimizer SGD lr 0.01 momentum 0.9.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from numpy_steps._common import SGDMomentum, cross_entropy


def conv_forward(a: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> tuple[np.ndarray, Any]:
    n, _, _, c = a.shape
    o, _, kh, kw = w.shape
    if pad:
        a = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    win = sliding_window_view(a, (kh, kw), axis=(1, 2))  # (n, ho, wo, c, kh, kw), a view
    ho, wo = win.shape[1:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * c)  # the im2col copy
    wm = w.transpose(0, 2, 3, 1).reshape(o, -1)
    out = cols @ wm.T
    out += b
    return out.reshape(n, ho, wo, o), (cols, wm, a.shape, pad)


def conv_backward(d: np.ndarray, w: np.ndarray, saved: Any, need_dx: bool
                  ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    cols, wm, padded_shape, pad = saved
    o, c, kh, kw = w.shape
    n, ho, wo, _ = d.shape
    d2 = d.reshape(-1, o)
    dw = (d2.T @ cols).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
    db = d2.sum(0)
    if not need_dx:
        return None, dw, db
    dx = np.zeros(padded_shape, np.float32)
    for i in range(kh):  # col2im: per kernel offset, one GEMM and one slab addition (contiguous channels)
        for j in range(kw):
            k = (i * kw + j) * c
            dx[:, i:i + ho, j:j + wo] += (d2 @ wm[:, k:k + c]).reshape(n, ho, wo, c)
    if pad:
        dx = dx[:, pad:-pad, pad:-pad]
    return dx, dw, db


def pool_forward(a: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(a[:, 0::2, 0::2], a[:, 0::2, 1::2]), np.maximum(a[:, 1::2, 0::2], a[:, 1::2, 1::2]))


def pool_backward(d: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient goes to the maxima (a tie sends it to each; after a ReLU ties are zeros, which the
    ReLU's backward zeroes again)."""
    n, h, w, c = a.shape
    windows = a.reshape(n, h // 2, 2, w // 2, 2, c)
    dx = (windows == out[:, :, None, :, None]) * d[:, :, None, :, None]
    return dx.reshape(a.shape)


class ConvNetStep:
    LAYERS: tuple[tuple[Any, ...], ...] = ()

    def __init__(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.keys = [f"{layer[1]}.{p}" for layer in self.LAYERS if layer[0] in ("conv", "linear")
                     for p in ("weight", "bias")]
        self.p = {k: np.array(state[k], dtype=np.float32) for k in self.keys}
        self.opt = SGDMomentum([self.p[k] for k in self.keys], lr=0.01, momentum=0.9)
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)

    def step(self) -> float:
        p, grads = self.p, {}
        a = np.ascontiguousarray(self.x.transpose(0, 2, 3, 1))  # NCHW -> NHWC
        tape = []
        for layer in self.LAYERS:
            kind = layer[0]
            if kind == "conv":
                a, saved = conv_forward(a, p[layer[1] + ".weight"], p[layer[1] + ".bias"], layer[2])
            elif kind == "relu":
                np.maximum(a, 0, out=a)
                saved = a
            elif kind == "pool":
                out = pool_forward(a)
                saved, a = (a, out), out
            elif kind == "flatten":
                saved = a.shape
                a = a.transpose(0, 3, 1, 2).reshape(a.shape[0], -1)
            else:
                saved = a
                a = a @ p[layer[1] + ".weight"].T
                a += p[layer[1] + ".bias"]
            tape.append(saved)
        loss, d = cross_entropy(a, self.y)
        for idx in range(len(self.LAYERS) - 1, -1, -1):
            layer, saved = self.LAYERS[idx], tape[idx]
            kind = layer[0]
            if kind == "conv":
                d, grads[layer[1] + ".weight"], grads[layer[1] + ".bias"] = conv_backward(
                    d, p[layer[1] + ".weight"], saved, idx > 0)
            elif kind == "relu":
                d *= saved > 0
            elif kind == "pool":
                d = pool_backward(d, *saved)
            elif kind == "flatten":
                n, h, w, c = saved
                d = d.reshape(n, c, h, w).transpose(0, 2, 3, 1)
            else:
                w = p[layer[1] + ".weight"]
                grads[layer[1] + ".weight"] = d.T @ saved
                grads[layer[1] + ".bias"] = d.sum(0)
                if idx > 0:
                    d = d @ w
        self.opt.step([grads[k] for k in self.keys])
        return loss

    def state(self) -> dict[str, np.ndarray]:
        return dict(self.p)
