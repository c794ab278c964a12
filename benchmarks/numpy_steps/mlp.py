"""mlp: 784-512-512-10 ReLU MLP, cross-entropy, SGD lr 0.01 momentum 0.9, in float32 numpy.

The layers are read from the state (``0.weight``, ``2.weight``, ... of an ``nn.Sequential`` of Linear and
ReLU), so mlp_small uses this step too. Gradients go into preallocated arrays.
"""
from __future__ import annotations

import numpy as np

from numpy_steps._common import SGDMomentum, cross_entropy


class Step:
    def __init__(self, state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.names = sorted({k.split(".")[0] for k in state}, key=int)
        self.keys = [f"{i}.{p}" for i in self.names for p in ("weight", "bias")]
        self.params = [np.array(state[k], dtype=np.float32) for k in self.keys]
        self.grads = [np.empty_like(p) for p in self.params]
        self.opt = SGDMomentum(self.params, lr=0.01, momentum=0.9)
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)

    def step(self) -> float:
        ws, bs = self.params[0::2], self.params[1::2]
        gws, gbs = self.grads[0::2], self.grads[1::2]
        acts = [self.x]
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = acts[-1] @ w.T
            h += b
            if i < len(ws) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        loss, d = cross_entropy(acts.pop(), self.y)
        for i in range(len(ws) - 1, -1, -1):
            np.matmul(d.T, acts[i], out=gws[i])
            d.sum(0, out=gbs[i])
            if i:
                d = d @ ws[i]
                d *= acts[i] > 0
        self.opt.step(self.grads)
        return loss

    def state(self) -> dict[str, np.ndarray]:
        return dict(zip(self.keys, self.params))
