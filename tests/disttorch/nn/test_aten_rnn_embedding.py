"""torch.lstm / gru / rnn_tanh / rnn_relu (ATen's flat-weight signatures, padded and packed) and
torch.embedding_bag / embedding_renorm_ against PyTorch: values, gradients, float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _params(lib, mode, D, H, layers, dirs, bias, proj=0, seed=0):
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    r = np.random.default_rng(seed)
    out = []
    real = proj or H
    for layer in range(layers):
        for _ in range(dirs):
            d_in = D if layer == 0 else real * dirs
            ps = [r.standard_normal((gates * H, d_in)) * 0.4, r.standard_normal((gates * H, real)) * 0.4]
            if bias:
                ps += [r.standard_normal(gates * H) * 0.1, r.standard_normal(gates * H) * 0.1]
            if proj:
                ps.append(r.standard_normal((proj, H)) * 0.4)
            out += [lib.tensor(p, requires_grad=True) for p in ps]
    return out


CASES = [("lstm", 1, False, True, False, 0), ("lstm", 2, True, True, True, 0), ("lstm", 1, False, False, False, 2),
         ("gru", 2, False, True, True, 0), ("gru", 1, True, False, False, 0), ("rnn_tanh", 2, True, True, False, 0),
         ("rnn_relu", 1, False, True, True, 0)]


@pytest.mark.parametrize("mode,layers,bidir,bias,batch_first,proj", CASES)
def test_padded_as_pytorch(mode, layers, bidir, bias, batch_first, proj):
    T, B, D, H = 4, 3, 5, 6
    dirs = 2 if bidir else 1
    x = randn(B, T, D, dtype=np.float64) if batch_first else randn(T, B, D, dtype=np.float64)
    h0 = randn(layers * dirs, B, proj or H, dtype=np.float64, seed=1)
    c0 = randn(layers * dirs, B, H, dtype=np.float64, seed=2)
    results = []
    for lib in (disttorch, torch):
        params = _params(lib, mode, D, H, layers, dirs, bias, proj)
        xi = lib.tensor(x, requires_grad=True)
        hx = (lib.tensor(h0), lib.tensor(c0)) if mode == "lstm" else lib.tensor(h0)
        out = getattr(lib, mode)(xi, hx, params, bias, layers, 0.0, False, bidir, batch_first)
        loss = sum((o * (i + 1)).sum() for i, o in enumerate(out))
        loss.backward()
        results.append((out, xi.grad, [p.grad for p in params]))
    (o, gx, gp), (to, tgx, tgp) = results
    assert len(o) == len(to)
    assert_close(list(o), list(to), 1e-10, 1e-10)
    assert_close(gx, tgx, 1e-10, 1e-10)
    assert_close(gp, tgp, 1e-10, 1e-10)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_packed_as_pytorch(mode):
    D, H = 3, 4
    lengths = [4, 2, 1]
    seqs = [randn(n, D, dtype=np.float64, seed=n) for n in lengths]
    results = []
    for lib in (disttorch, torch):
        packed = lib.nn.utils.rnn.pack_sequence([lib.tensor(s) for s in seqs])
        params = _params(lib, mode, D, H, 1, 2, True)
        h0 = lib.zeros(2, 3, H, dtype=lib.float64)
        hx = (h0, h0) if mode == "lstm" else h0
        out = getattr(lib, mode)(packed.data, packed.batch_sizes, hx, params, True, 1, 0.0, False, True)
        sum(o.sum() for o in out).backward()
        results.append((out, [p.grad for p in params]))
    assert_close(list(results[0][0]), list(results[1][0]), 1e-10, 1e-10)
    assert_close(results[0][1], results[1][1], 1e-10, 1e-10)


def test_rnn_gradcheck():
    params = [p.detach().numpy() for p in _params(torch, "lstm", 3, 2, 1, 1, True)]

    def f(lib, x, h, c, *ps):
        return lib.lstm(x, (h, c), list(ps), True, 1, 0.0, False, False, False)[0]

    gradcheck(f, [randn(3, 2, 3, dtype=np.float64), randn(1, 2, 2, dtype=np.float64, seed=1),
                  randn(1, 2, 2, dtype=np.float64, seed=2), *params])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("include_last,padding_idx", [(False, None), (True, None), (False, 2)])
def test_embedding_bag_as_pytorch(mode, include_last, padding_idx, dtype):
    w = randn(10, 3, dtype=dtype)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offs = np.array([0, 4, 4, 8]) if include_last else np.array([0, 4, 4])
    results = []
    for lib in (disttorch, torch):
        wt = lib.tensor(w, requires_grad=True)
        out = lib.embedding_bag(wt, lib.tensor(idx), lib.tensor(offs), False, mode, False, None, include_last,
                                padding_idx)
        (out[0] * lib.arange(3.0, dtype=wt.dtype)).sum().backward()
        results.append((out, wt.grad))
    (o, g), (to, tg) = results
    for a, b in zip(o, to):
        assert_close(a, b, 1e-6, 1e-6)
    assert_close(g, tg, 1e-6, 1e-6)


def test_embedding_bag_per_sample_weights_and_gradcheck():
    w = randn(6, 2, dtype=np.float64)
    idx, offs = np.array([0, 2, 5, 1]), np.array([0, 1])
    psw = randn(4, dtype=np.float64, seed=3)
    o = disttorch.embedding_bag(disttorch.tensor(w), disttorch.tensor(idx), disttorch.tensor(offs), False, 0, False,
                                disttorch.tensor(psw))[0]
    t = torch.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(offs), False, 0, False,
                            torch.tensor(psw))[0]
    assert_close(o, t, 1e-12, 1e-12)
    gradcheck(lambda lib, W: lib.embedding_bag(W, lib.tensor(idx), lib.tensor(offs), False, 1)[0], [w])


def test_embedding_renorm_as_pytorch():
    w = randn(8, 4, dtype=np.float64) * 2
    idx = np.array([1, 3, 3, 6])
    ours, theirs = disttorch.tensor(w), torch.tensor(w)
    assert disttorch.embedding_renorm_(ours, disttorch.tensor(idx), 1.0, 2.0) is ours
    torch.embedding_renorm_(theirs, torch.tensor(idx), 1.0, 2.0)
    assert_close(ours, theirs, 1e-12, 1e-12)
