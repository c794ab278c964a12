"""Small models in the style of well-known public training programs, written once for any torch-like module.

Each ``*_classes(T)`` builds the classes against ``T`` (``disttorch`` or ``torch``), so the two frameworks run the
very same model code. The disttorch classes are also bound at module level below, so that a whole model can be
pickled by ``torch.save`` and found again by ``torch.load``.
"""
from __future__ import annotations

import math
from types import ModuleType, SimpleNamespace

import disttorch


def gpt_classes(T: ModuleType) -> SimpleNamespace:
    """A character-level GPT: token and position embeddings, pre-LayerNorm blocks, tied output head."""
    nn, F = T.nn, T.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self, width: int, heads: int, context: int, fused: bool):
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            self.out = nn.Linear(width, width)
            self.heads, self.fused = heads, fused
            self.register_buffer("causal", T.tril(T.ones(context, context)).view(1, 1, context, context))

        def forward(self, x):
            b, n, c = x.size()
            q, k, v = self.qkv(x).split(c, dim=2)
            q, k, v = (t.view(b, n, self.heads, c // self.heads).transpose(1, 2) for t in (q, k, v))
            if self.fused:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
            else:
                scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                scores = scores.masked_fill(self.causal[:, :, :n, :n] == 0, float("-inf"))
                y = F.softmax(scores, dim=-1) @ v
            return self.out(y.transpose(1, 2).contiguous().view(b, n, c))

    class Block(nn.Module):
        def __init__(self, width: int, heads: int, context: int, fused: bool):
            super().__init__()
            self.ln1 = nn.LayerNorm(width)
            self.attn = SelfAttention(width, heads, context, fused)
            self.ln2 = nn.LayerNorm(width)
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width),
                                     nn.Dropout(0.0))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab: int, context: int, width: int, heads: int, layers: int, fused: bool):
            super().__init__()
            self.context = context
            self.wte = nn.Embedding(vocab, width)
            self.wpe = nn.Embedding(context, width)
            self.drop = nn.Dropout(0.0)
            self.blocks = nn.ModuleList([Block(width, heads, context, fused) for _ in range(layers)])
            self.ln_f = nn.LayerNorm(width)
            self.lm_head = nn.Linear(width, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets=None):
            pos = T.arange(0, idx.size(1), dtype=T.long)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.blocks:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits, None
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

        @T.no_grad()
        def generate(self, idx, steps: int, temperature: float = 1.0, top_k: int | None = None):
            for _ in range(steps):
                logits, _ = self(idx[:, -self.context:])
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    kth, _ = T.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < kth[:, [-1]]] = -float("inf")
                nxt = T.multinomial(F.softmax(logits, dim=-1), num_samples=1)
                idx = T.cat((idx, nxt), dim=1)
            return idx

    return SimpleNamespace(GPT=GPT)


def lm_classes(T: ModuleType) -> SimpleNamespace:
    """Word-level language models: a recurrent one (LSTM or GRU) and a Transformer encoder one."""
    nn = T.nn

    class RNNModel(nn.Module):
        def __init__(self, kind: str, ntoken: int, ninp: int, nhid: int, nlayers: int):
            super().__init__()
            self.kind, self.nhid, self.nlayers = kind, nhid, nlayers
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = getattr(nn, kind)(ninp, nhid, nlayers, dropout=0.0)
            self.decoder = nn.Linear(nhid, ntoken)

        def forward(self, tokens, hidden):
            output, hidden = self.rnn(self.encoder(tokens), hidden)
            return self.decoder(output).view(-1, self.decoder.out_features), hidden

        def init_hidden(self, batch: int):
            zeros = T.zeros(self.nlayers, batch, self.nhid)
            return (zeros, zeros.clone()) if self.kind == "LSTM" else zeros

    class PositionalEncoding(nn.Module):
        def __init__(self, width: int, max_len: int = 64):
            super().__init__()
            position = T.arange(max_len, dtype=T.float32).unsqueeze(1)
            freq = T.exp(T.arange(0, width, 2).float() * (-math.log(10000.0) / width))
            pe = T.zeros(max_len, 1, width)
            pe[:, 0, 0::2] = T.sin(position * freq)
            pe[:, 0, 1::2] = T.cos(position * freq)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return x + self.pe[: x.size(0)]

    class TransformerModel(nn.Module):
        def __init__(self, ntoken: int, ninp: int, nhead: int, nhid: int, nlayers: int):
            super().__init__()
            self.ninp = ninp
            self.pos = PositionalEncoding(ninp)
            layer = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout=0.0)
            self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
            self.embed = nn.Embedding(ntoken, ninp)
            self.decoder = nn.Linear(ninp, ntoken)

        def forward(self, src, mask):
            x = self.pos(self.embed(src) * math.sqrt(self.ninp))
            return nn.functional.log_softmax(self.decoder(self.encoder(x, mask)), dim=-1)

    return SimpleNamespace(RNNModel=RNNModel, PositionalEncoding=PositionalEncoding, TransformerModel=TransformerModel)


def _bind(ns: SimpleNamespace) -> None:
    """Make the disttorch classes importable by name, as pickle needs."""
    for name, cls in vars(ns).items():
        cls.__qualname__ = f"Dt{name}"
        cls.__module__ = __name__
        globals()[f"Dt{name}"] = cls


_bind(lm_classes(disttorch))
