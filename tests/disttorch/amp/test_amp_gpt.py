"""A tiny GPT block trained 3 steps under autocast('cpu', bfloat16): losses close to torch's on the same code."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

V, C, H, T, B = 17, 16, 2, 6, 3


def _model(L):
    nn, F = L.nn, L.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
            self.ln1, self.ln2, self.lnf = nn.LayerNorm(C), nn.LayerNorm(C), nn.LayerNorm(C)
            self.attn, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
            self.fc, self.out = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)
            self.head = nn.Linear(C, V, bias=False)

        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(L.arange(idx.shape[1]))
            q, k, v = self.attn(self.ln1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(B, T, C)
            x = x + self.proj(y)
            x = x + self.out(F.gelu(self.fc(self.ln2(x))))
            logits = self.head(self.lnf(x))
            return logits, F.cross_entropy(logits.view(-1, V), targets.view(-1))

    return Block()


def _train(L, state, idx, tgt):
    m = _model(L)
    m.load_state_dict({k: L.tensor(v) for k, v in state.items()})
    opt = L.optim.AdamW(m.parameters(), lr=1e-2)
    losses, dtypes = [], None
    for _ in range(3):
        with L.autocast("cpu", dtype=L.bfloat16):
            logits, loss = m(L.tensor(idx), L.tensor(tgt))
        dtypes = (str(logits.dtype), str(loss.dtype))
        opt.zero_grad()
        loss.backward()
        dtypes += tuple(sorted({str(p.grad.dtype) for p in m.parameters()}))
        opt.step()
        losses.append(float(loss))
    return losses, dtypes


def test_gpt_block_losses_match_torch() -> None:
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in _model(torch).state_dict().items()}
    rng = np.random.default_rng(0)
    idx, tgt = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    ours, od = _train(disttorch, state, idx, tgt)
    theirs, td = _train(torch, state, idx, tgt)
    assert od == td == ("torch.bfloat16", "torch.float32", "torch.float32")
    np.testing.assert_allclose(ours, theirs, rtol=2e-2, atol=2e-2)
    assert ours[-1] < ours[0]
