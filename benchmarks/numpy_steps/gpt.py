"""gpt: one GPT block (vocab 65, d 128, 4 heads, seq 64, batch 16) in float32 numpy: token + position
embeddings; x + attn(ln1(x)); x + mlp(ln2(x)) with exact GELU; final LayerNorm; Linear(128, 65, bias=False)
head; cross-entropy over every token; AdamW lr 3e-4, betas (0.9, 0.95), weight decay 0.1 on every parameter.

The embedding gradients are scatter-adds (``np.add.at``). numpy has no erf: GELU uses Abramowitz and Stegun's
formula 7.1.26 (absolute error under 1.5e-7, below float32's resolution of 1 + erf), a dozen float32 array
operations, about twice as fast as scipy.special.erf on float32 here.
"""
from __future__ import annotations

import math

import numpy as np

from numpy_steps._attention import attention_backward, attention_forward
from numpy_steps._common import F32, Adam, cross_entropy, layer_norm, layer_norm_backward, linear, linear_grads

_P = F32(0.3275911)
_A = [F32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]


def erf(a: np.ndarray) -> np.ndarray:
    """erf(a) = sign(a) (1 - poly(t) exp(-a^2)), t = 1 / (1 + p |a|)."""
    z = np.abs(a)
    t = z * _P
    t += 1
    np.reciprocal(t, out=t)
    poly = t * _A[0]
    for c in _A[1:]:
        poly += c
        poly *= t
    np.multiply(z, z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    np.subtract(1, poly, out=poly)
    return np.copysign(poly, a, out=poly)

KEYS = ("tok.weight", "pos.weight", "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias",
        "attn.proj.weight", "attn.proj.bias", "ln2.weight", "ln2.bias", "mlp.fc.weight", "mlp.fc.bias",
        "mlp.proj.weight", "mlp.proj.bias", "ln_f.weight", "ln_f.bias", "head.weight")
HEADS = 4


class Step:
    def __init__(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.p = {k: np.array(state[k], dtype=np.float32) for k in KEYS}
        self.opt = Adam([self.p[k] for k in KEYS], lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, decoupled=True)
        self.x, self.y = np.asarray(x), np.asarray(y)

    def step(self) -> float:
        p, g = self.p, {}
        b, t = self.x.shape
        e = p["tok.weight"][self.x] + p["pos.weight"][:t]
        # attention sub-block
        a_in, ln1 = layer_norm(e, p["ln1.weight"], p["ln1.bias"])
        qkv = linear(a_in, p["attn.qkv.weight"], p["attn.qkv.bias"])
        att, att_saved = attention_forward(qkv, HEADS, causal=True)
        x1 = linear(att, p["attn.proj.weight"], p["attn.proj.bias"])
        x1 += e
        # mlp sub-block, exact GELU
        m_in, ln2 = layer_norm(x1, p["ln2.weight"], p["ln2.bias"])
        hpre = linear(m_in, p["mlp.fc.weight"], p["mlp.fc.bias"])
        cdf = erf(hpre * F32(2 ** -0.5))
        cdf += 1
        cdf *= F32(0.5)
        hact = hpre * cdf
        x2 = linear(hact, p["mlp.proj.weight"], p["mlp.proj.bias"])
        x2 += x1
        f_out, lnf = layer_norm(x2, p["ln_f.weight"], p["ln_f.bias"])
        logits = f_out.reshape(b * t, -1) @ p["head.weight"].T
        loss, dz = cross_entropy(logits, self.y.reshape(-1))
        # backward
        g["head.weight"] = dz.T @ f_out.reshape(b * t, -1)
        d = (dz @ p["head.weight"]).reshape(b, t, -1)
        d, g["ln_f.weight"], g["ln_f.bias"] = layer_norm_backward(d, p["ln_f.weight"], lnf)
        g["mlp.proj.weight"], g["mlp.proj.bias"] = linear_grads(d, hact)
        dh = linear(d, p["mlp.proj.weight"].T)
        # GELU'(x) = cdf(x) + x * pdf(x)
        pdf = np.exp(hpre * hpre * F32(-0.5))
        pdf *= F32((2 * math.pi) ** -0.5)
        pdf *= hpre
        pdf += cdf
        dh *= pdf
        g["mlp.fc.weight"], g["mlp.fc.bias"] = linear_grads(dh, m_in)
        dln2 = linear(dh, p["mlp.fc.weight"].T)
        dm, g["ln2.weight"], g["ln2.bias"] = layer_norm_backward(dln2, p["ln2.weight"], ln2)
        d += dm  # the residual
        g["attn.proj.weight"], g["attn.proj.bias"] = linear_grads(d, att)
        dqkv = attention_backward(linear(d, p["attn.proj.weight"].T), att_saved)
        g["attn.qkv.weight"], g["attn.qkv.bias"] = linear_grads(dqkv, a_in)
        dln1 = linear(dqkv, p["attn.qkv.weight"].T)
        da, g["ln1.weight"], g["ln1.bias"] = layer_norm_backward(dln1, p["ln1.weight"], ln1)
        d += da
        g["pos.weight"] = np.zeros_like(p["pos.weight"])
        g["pos.weight"][:t] = d.sum(0)
        g["tok.weight"] = np.zeros_like(p["tok.weight"])
        np.add.at(g["tok.weight"], self.x.reshape(-1), d.reshape(b * t, -1))
        self.opt.step([g[k] for k in KEYS])
        return loss

    def state(self) -> dict[str, np.ndarray]:
        return dict(self.p)
