"""``torch.lstm`` / ``torch.gru`` / ``torch.rnn_tanh`` / ``torch.rnn_relu``: the low-level recurrent functions
with ATen's signatures (a flat list of weights), both overloads: ``(input, hx, params, has_biases, num_layers,
dropout, train, bidirectional, batch_first)`` and the packed ``(data, batch_sizes, hx, params, has_biases,
num_layers, dropout, train, bidirectional)``. They run the layers nn.LSTM / nn.GRU / nn.RNN run."""
from __future__ import annotations

from typing import Any, Sequence

from disttorch._tensor import Tensor

from . import rnn as R

__all__ = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


def _layer_weights(params: Sequence[Tensor], has_biases: bool, num_layers: int, dirs: int, mode: str) -> list:
    """(w_ih, w_hh, b_ih, b_hh, w_hr) per layer and direction, from ATen's flat order."""
    count = num_layers * dirs
    per = len(params) // count if count else 0
    base = 4 if has_biases else 2
    if per * count != len(params) or per not in (base, base + 1) or (per == base + 1 and mode != "LSTM"):
        raise RuntimeError(f"{mode.lower()}: expected {count * base} parameters (or {count * (base + 1)} with "
                           f"projections), got {len(params)}")
    out = []
    for k in range(count):
        p = list(params[k * per:(k + 1) * per])
        w_ih, w_hh = p[0], p[1]
        b_ih, b_hh = (p[2], p[3]) if has_biases else (None, None)
        w_hr = p[-1] if per == base + 1 else None
        out.append((w_ih, w_hh, b_ih, b_hh, w_hr))
    return out


def _run(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, params: Sequence[Tensor], has_biases: bool,
         num_layers: int, dropout: float, train: bool, bidirectional: bool, steps: list) -> tuple:
    dirs = 2 if bidirectional else 1
    weights = _layer_weights(params, has_biases, num_layers, dirs, mode)
    return R.rnn_layers(mode, x, h0, c0, weights, num_layers, bidirectional, dropout, train, steps)


def _padded(mode: str, input: Tensor, h0: Tensor, c0: Tensor | None, params: Sequence[Tensor], has_biases: bool,
            num_layers: int, dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> tuple:
    x = input.transpose(0, 1) if batch_first else input
    res = _run(mode, x, h0, c0, params, has_biases, num_layers, dropout, train, bidirectional,
               R.padded_steps(x.shape[0], x.shape[1]))
    out = res[0].transpose(0, 1) if batch_first else res[0]
    return (out, *res[1:])


def _packed(mode: str, data: Tensor, batch_sizes: Tensor, h0: Tensor, c0: Tensor | None, params: Sequence[Tensor],
            has_biases: bool, num_layers: int, dropout: float, train: bool, bidirectional: bool) -> tuple:
    steps = R.packed_steps([int(b) for b in batch_sizes.tolist()])
    return _run(mode, data, h0, c0, params, has_biases, num_layers, dropout, train, bidirectional, steps)


def lstm(input: Tensor, *args: Any) -> tuple:
    """(output, h_n, c_n) of a stacked LSTM; ``hx`` is ``(h_0, c_0)``."""
    if isinstance(args[0], Tensor):  # (data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidir)
        batch_sizes, hx, *rest = args
        return _packed("LSTM", input, batch_sizes, hx[0], hx[1], *rest)
    hx, *rest = args
    if len(hx) != 2:
        raise RuntimeError(f"lstm expects two hidden states, got {len(hx)}")
    return _padded("LSTM", input, hx[0], hx[1], *rest)


def _single_state(mode: str) -> Any:
    def fn(input: Tensor, *args: Any) -> tuple:
        if isinstance(args[1], Tensor):  # (data, batch_sizes, hx, params, ...): the third one is a Tensor
            batch_sizes, hx, *rest = args
            return _packed(mode, input, batch_sizes, hx, None, *rest)
        hx, *rest = args
        return _padded(mode, input, hx, None, *rest)

    fn.__name__ = fn.__qualname__ = mode.lower()
    fn.__doc__ = f"(output, h_n) of a stacked {mode.replace('_', ' ').lower()} network (ATen's signature)."
    return fn


gru = _single_state("GRU")
rnn_tanh = _single_state("RNN_TANH")
rnn_relu = _single_state("RNN_RELU")
