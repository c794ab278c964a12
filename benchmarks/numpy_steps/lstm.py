"""lstm: nn.LSTM(64, 256, batch_first=True) on (32, 32, 64), Linear(256, 10) on the last output, cross-entropy,
SGD lr 0.01 momentum 0.9, in float32 numpy.

The input projection of all time steps is one GEMM; the recurrence is one (batch, 256) x (256, 1024) GEMM per
time step, forward and backward; the weight gradients are one GEMM each after the backward loop. Gates in
PyTorch's order i, f, g, o; sigmoid as 0.5 * tanh(x / 2) + 0.5 (no overflow).
"""
from __future__ import annotations

import numpy as np

from numpy_steps._common import F32, SGDMomentum, cross_entropy

KEYS = ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "fc.weight", "fc.bias")


def _sigmoid(a: np.ndarray) -> None:
    a *= F32(0.5)
    np.tanh(a, out=a)
    a *= F32(0.5)
    a += F32(0.5)


class Step:
    def __init__(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.params = [np.array(state[k], dtype=np.float32) for k in KEYS]
        self.opt = SGDMomentum(self.params, lr=0.01, momentum=0.9)
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)

    def step(self) -> float:
        w_ih, w_hh, b_ih, b_hh, w_fc, b_fc = self.params
        b, t, n_in = self.x.shape
        hid = w_hh.shape[1]
        xt = np.ascontiguousarray(self.x.transpose(1, 0, 2))  # time-major (t, b, in)
        gates = (xt.reshape(t * b, n_in) @ w_ih.T).reshape(t, b, 4 * hid)
        gates += b_ih + b_hh
        hs = np.zeros((t + 1, b, hid), np.float32)  # hs[0] is the initial state
        cs = np.zeros((t + 1, b, hid), np.float32)
        tanh_c = np.empty((t, b, hid), np.float32)
        for s in range(t):
            g = gates[s]
            g += hs[s] @ w_hh.T
            _sigmoid(g[:, :2 * hid])  # i, f
            np.tanh(g[:, 2 * hid:3 * hid], out=g[:, 2 * hid:3 * hid])
            _sigmoid(g[:, 3 * hid:])  # o
            i, f, gg, o = g[:, :hid], g[:, hid:2 * hid], g[:, 2 * hid:3 * hid], g[:, 3 * hid:]
            c = cs[s + 1]
            np.multiply(f, cs[s], out=c)
            c += i * gg
            np.tanh(c, out=tanh_c[s])
            np.multiply(o, tanh_c[s], out=hs[s + 1])
        h_last = hs[t]
        loss, dz = cross_entropy(h_last @ w_fc.T + b_fc, self.y)
        g_fc = dz.T @ h_last
        g_bfc = dz.sum(0)
        # backward through time; dgates[s] holds the gradient of the pre-activation gates
        dgates = np.empty_like(gates)
        dh = dz @ w_fc
        dc = np.zeros((b, hid), np.float32)
        for s in range(t - 1, -1, -1):
            g = gates[s]
            i, f, gg, o = g[:, :hid], g[:, hid:2 * hid], g[:, 2 * hid:3 * hid], g[:, 3 * hid:]
            tc = tanh_c[s]
            dc += dh * o * (1 - tc * tc)
            dg = dgates[s]
            np.multiply(dc, gg * i * (1 - i), out=dg[:, :hid])
            np.multiply(dc, cs[s] * f * (1 - f), out=dg[:, hid:2 * hid])
            np.multiply(dc, i * (1 - gg * gg), out=dg[:, 2 * hid:3 * hid])
            np.multiply(dh, tc * o * (1 - o), out=dg[:, 3 * hid:])
            dc *= f
            if s:
                dh = dg @ w_hh
        dg2 = dgates.reshape(t * b, 4 * hid)
        g_ih = dg2.T @ xt.reshape(t * b, n_in)
        g_hh = dg2.T @ hs[:t].reshape(t * b, hid)
        g_b = dg2.sum(0)
        self.opt.step([g_ih, g_hh, g_b, g_b, g_fc, g_bfc])
        return loss

    def state(self) -> dict[str, np.ndarray]:
        return dict(zip(KEYS, self.params))
