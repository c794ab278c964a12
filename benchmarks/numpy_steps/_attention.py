"""Multi-head self-attention on (batch, seq, d) arrays in float32 numpy, from a fused qkv projection:
batched matmuls over (batch, heads), optional causal mask, softmax over the keys."""
from __future__ import annotations

from typing import Any

import numpy as np

from numpy_steps._common import F32


def attention_forward(qkv: np.ndarray, heads: int, causal: bool) -> tuple[np.ndarray, Any]:
    """qkv (b, t, 3d) -> merged heads (b, t, d) before the output projection."""
    b, t, d3 = qkv.shape
    d = d3 // 3
    hd = d // heads
    q, k, v = (qkv[:, :, i * d:(i + 1) * d].reshape(b, t, heads, hd).transpose(0, 2, 1, 3) for i in range(3))
    s = q @ k.transpose(0, 1, 3, 2)  # (b, h, t, t)
    s *= F32(hd ** -0.5)
    if causal:
        s[:, :, np.triu(np.ones((t, t), bool), 1)] = -np.inf
    s -= s.max(-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(-1, keepdims=True)
    o = s @ v  # (b, h, t, hd)
    return o.transpose(0, 2, 1, 3).reshape(b, t, d), (q, k, v, s)


def attention_backward(do: np.ndarray, saved: Any) -> np.ndarray:
    """Gradient of the merged heads -> gradient of qkv (b, t, 3d)."""
    q, k, v, p = saved
    b, h, t, hd = q.shape
    do = do.reshape(b, t, h, hd).transpose(0, 2, 1, 3)
    dv = p.transpose(0, 1, 3, 2) @ do
    dp = do @ v.transpose(0, 1, 3, 2)
    # softmax backward: ds = p * (dp - sum(dp * p)); masked entries have p = 0
    dp -= np.sum(dp * p, -1, keepdims=True)
    dp *= p
    dp *= F32(hd ** -0.5)
    dq = dp @ k
    dk = dp.transpose(0, 1, 3, 2) @ q
    dqkv = np.empty((b, t, 3, h, hd), np.float32)
    for i, g in enumerate((dq, dk, dv)):
        dqkv[:, :, i] = g.transpose(0, 2, 1, 3)
    return dqkv.reshape(b, t, 3 * h * hd)
