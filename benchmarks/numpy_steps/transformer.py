"""transformer: 2-layer post-norm TransformerEncoder (d_model 128, 4 heads, ff 512 with ReLU, dropout 0), seq 64,
batch 32, mean over the sequence, Linear(128, 10) head, cross-entropy, Adam lr 1e-3, in float32 numpy."""
from __future__ import annotations

import numpy as np

from numpy_steps._attention import attention_backward, attention_forward
from numpy_steps._common import F32, Adam, cross_entropy, layer_norm, layer_norm_backward, linear, linear_grads

LAYER_KEYS = ("self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
              "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
              "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")
HEADS = 4


class Step:
    def __init__(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.n_layers = len({k.split(".")[2] for k in state if k.startswith("encoder.layers.")})
        self.keys = [f"encoder.layers.{i}.{k}" for i in range(self.n_layers) for k in LAYER_KEYS]
        self.keys += ["head.weight", "head.bias"]
        self.p = {k: np.array(state[k], dtype=np.float32) for k in self.keys}
        self.opt = Adam([self.p[k] for k in self.keys], lr=1e-3)
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)

    def _layer(self, i: int) -> list[np.ndarray]:
        return [self.p[f"encoder.layers.{i}.{k}"] for k in LAYER_KEYS]

    def step(self) -> float:
        g: dict[str, np.ndarray] = {}
        a = self.x
        tape = []
        for i in range(self.n_layers):
            w_in, b_in, w_out, b_out, w1, b1, w2, b2, n1w, n1b, n2w, n2b = self._layer(i)
            qkv = linear(a, w_in, b_in)
            att, att_saved = attention_forward(qkv, HEADS, causal=False)
            r1 = linear(att, w_out, b_out)
            r1 += a
            h1, ln1 = layer_norm(r1, n1w, n1b)
            f = linear(h1, w1, b1)
            np.maximum(f, 0, out=f)
            r2 = linear(f, w2, b2)
            r2 += h1
            out, ln2 = layer_norm(r2, n2w, n2b)
            tape.append((a, att, att_saved, h1, ln1, f, ln2))
            a = out
        b, t, _ = a.shape
        pooled = a.mean(1)
        loss, dz = cross_entropy(pooled @ self.p["head.weight"].T + self.p["head.bias"], self.y)
        g["head.weight"], g["head.bias"] = dz.T @ pooled, dz.sum(0)
        d = np.broadcast_to((dz @ self.p["head.weight"])[:, None, :] * F32(1 / t), a.shape)
        for i in range(self.n_layers - 1, -1, -1):
            w_in, b_in, w_out, b_out, w1, b1, w2, b2, n1w, n1b, n2w, n2b = self._layer(i)
            a_in, att, att_saved, h1, ln1, f, ln2 = tape[i]
            pre = f"encoder.layers.{i}."
            d, g[pre + "norm2.weight"], g[pre + "norm2.bias"] = layer_norm_backward(d, n2w, ln2)
            g[pre + "linear2.weight"], g[pre + "linear2.bias"] = linear_grads(d, f)
            df = linear(d, w2.T)
            df *= f > 0
            g[pre + "linear1.weight"], g[pre + "linear1.bias"] = linear_grads(df, h1)
            d += linear(df, w1.T)  # + the residual
            d, g[pre + "norm1.weight"], g[pre + "norm1.bias"] = layer_norm_backward(d, n1w, ln1)
            g[pre + "self_attn.out_proj.weight"], g[pre + "self_attn.out_proj.bias"] = linear_grads(d, att)
            dqkv = attention_backward(linear(d, w_out.T), att_saved)
            g[pre + "self_attn.in_proj_weight"], g[pre + "self_attn.in_proj_bias"] = linear_grads(dqkv, a_in)
            d = d + linear(dqkv, w_in.T)  # + the residual
        self.opt.step([g[k] for k in self.keys])
        return loss

    def state(self) -> dict[str, np.ndarray]:
        return dict(self.p)
