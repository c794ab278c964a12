"""nn.RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch: outputs, final states and the
gradients of the input, the initial states and every parameter."""
import math

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch
from disttorch.nn._functional import rnn as R

torch = pytest.importorskip("torch")

T, B, D, H = 4, 3, 5, 6
KINDS = {"rnn_tanh": ("RNN", {}), "rnn_relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}),
         "gru": ("GRU", {})}
TOLS = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def make_pair(cls_name, *args, np_dtype=np.float32, **kw):
    """The torch module and ours with the same weights (copied by parameter name)."""
    theirs = getattr(torch.nn, cls_name)(*args, **kw)
    if np_dtype == np.float64:
        theirs = theirs.double()
    ours = getattr(disttorch.nn, cls_name)(*args, dtype=disttorch.float64 if np_dtype == np.float64 else None, **kw)
    ours_params = dict(ours.named_parameters())
    theirs_params = dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, p in theirs_params.items():
        assert tuple(ours_params[name].shape) == tuple(p.shape), name
        ours_params[name].data = disttorch.tensor(p.detach().numpy())
    return ours, theirs


def pair(arr):
    return disttorch.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def weighted_loss(lib, outs, seed=5):
    rng = np.random.default_rng(seed)
    total = 0
    for o in outs:
        w = rng.standard_normal(tuple(o.shape)).astype(str(o.dtype).replace("torch.", ""))
        total = total + (o * lib.tensor(w)).sum()
    return total


def flat(out):
    """(output, h) / (output, (h, c)) -> [output, h(, c)]."""
    o, hidden = out
    return [o, *hidden] if isinstance(hidden, tuple) else [o, hidden]


def compare_modules(ours, theirs, x, states, np_dtype):
    """Run both on x (and the initial states, or None), compare outputs, final states and all gradients."""
    tol = TOLS[np_dtype]
    xo, xt = pair(x)
    so = st = None
    if states is not None:
        pairs = [pair(s) for s in states]
        so = tuple(p[0] for p in pairs) if len(pairs) == 2 else pairs[0][0]
        st = tuple(p[1] for p in pairs) if len(pairs) == 2 else pairs[0][1]
    out_o, out_t = flat(ours(xo, so)), flat(theirs(xt, st))
    assert_close(out_o, out_t, what="forward", **tol)
    weighted_loss(disttorch, out_o).backward()
    weighted_loss(torch, out_t).backward()
    assert_close(xo.grad, xt.grad, what="grad input", **tol)
    if states is not None:
        for k, (a, b) in enumerate(zip(so if isinstance(so, tuple) else (so,), st if isinstance(st, tuple) else (st,))):
            assert_close(a.grad, b.grad, what=f"grad state {k}", **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, theirs_params[name].grad, what=f"grad {name}", **tol)


def initial_states(kind, layers, dirs, batch, hidden, proj=0, seed=11, np_dtype=np.float32):
    shape = (layers * dirs, batch, proj or hidden) if batch is not None else (layers * dirs, proj or hidden)
    h0 = randn(*shape, seed=seed, dtype=np_dtype)
    if kind != "lstm":
        return (h0,)
    cshape = shape[:-1] + (hidden,)
    return h0, randn(*cshape, seed=seed + 1, dtype=np_dtype)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state, np_dtype):
    cls, extra = KINDS[kind]
    ours, theirs = make_pair(cls, D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                             np_dtype=np_dtype, **extra)
    x = randn(*((B, T, D) if batch_first else (T, B, D)), seed=1, dtype=np_dtype)
    dirs = 2 if bidirectional else 1
    states = initial_states(kind, num_layers, dirs, B, H, np_dtype=np_dtype) if with_state else None
    compare_modules(ours, theirs, x, states, np_dtype)


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input(kind, bidirectional, with_state):
    cls, extra = KINDS[kind]
    ours, theirs = make_pair(cls, D, H, num_layers=2, bidirectional=bidirectional, batch_first=True, **extra)
    dirs = 2 if bidirectional else 1
    states = initial_states(kind, 2, dirs, None, H) if with_state else None
    compare_modules(ours, theirs, randn(T, D, seed=2), states, np.float32)


@pytest.mark.parametrize("kind", list(KINDS))
def test_no_bias(kind):
    cls, extra = KINDS[kind]
    ours, theirs = make_pair(cls, D, H, num_layers=2, bias=False, **extra)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"]
    compare_modules(ours, theirs, randn(T, B, D, seed=3), None, np.float32)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_projection(bidirectional, with_state):
    ours, theirs = make_pair("LSTM", D, H, num_layers=2, proj_size=4, bidirectional=bidirectional, np_dtype=np.float64)
    dirs = 2 if bidirectional else 1
    states = initial_states("lstm", 2, dirs, B, H, proj=4, np_dtype=np.float64) if with_state else None
    compare_modules(ours, theirs, randn(T, B, D, seed=4, dtype=np.float64), states, np.float64)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence(kind, bidirectional):
    cls, extra = KINDS[kind]
    ours, theirs = make_pair(cls, D, H, num_layers=2, bidirectional=bidirectional, np_dtype=np.float64, **extra)
    lengths = [2, 4, 1]  # unsorted, so the packing permutes the batch
    x = randn(4, 3, D, seed=6, dtype=np.float64)
    dirs = 2 if bidirectional else 1
    states = [pair(s) for s in initial_states(kind, 2, dirs, 3, H, np_dtype=np.float64)]
    xo, xt = pair(x)
    so = tuple(p[0] for p in states) if kind == "lstm" else states[0][0]
    st = tuple(p[1] for p in states) if kind == "lstm" else states[0][1]
    po = disttorch.nn.utils.rnn.pack_padded_sequence(xo, lengths, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False)
    out_o, hid_o = ours(po, so)
    out_t, hid_t = theirs(pt, st)
    assert isinstance(out_o, disttorch.nn.utils.rnn.PackedSequence)
    assert_close(out_o.batch_sizes, out_t.batch_sizes)
    pad_o, len_o = disttorch.nn.utils.rnn.pad_packed_sequence(out_o)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(out_t)
    assert_close(len_o, len_t)
    res_o = [pad_o, *(hid_o if kind == "lstm" else (hid_o,))]
    res_t = [pad_t, *(hid_t if kind == "lstm" else (hid_t,))]
    tol = TOLS[np.float64]
    assert_close(res_o, res_t, what="forward", **tol)
    weighted_loss(disttorch, res_o).backward()
    weighted_loss(torch, res_t).backward()
    assert_close(xo.grad, xt.grad, what="grad input", **tol)
    for (a, b) in states:
        assert_close(a.grad, b.grad, what="grad state", **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, theirs_params[name].grad, what=f"grad {name}", **tol)


CELLS = {"rnn_tanh": ("RNNCell", {}), "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}), "lstm": ("LSTMCell", {}),
         "gru": ("GRUCell", {})}


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_matches_torch(kind, bias, with_state, batched, np_dtype):
    cls, extra = CELLS[kind]
    ours, theirs = make_pair(cls, D, H, bias=bias, np_dtype=np_dtype, **extra)
    tol = TOLS[np_dtype]
    xo, xt = pair(randn(*((B, D) if batched else (D,)), seed=7, dtype=np_dtype))
    so = st = None
    if with_state:
        shape = (B, H) if batched else (H,)
        pairs = [pair(randn(*shape, seed=8 + k, dtype=np_dtype)) for k in range(2 if kind == "lstm" else 1)]
        so = tuple(p[0] for p in pairs) if kind == "lstm" else pairs[0][0]
        st = tuple(p[1] for p in pairs) if kind == "lstm" else pairs[0][1]
    out_o, out_t = ours(xo, so), theirs(xt, st)
    res_o = list(out_o) if kind == "lstm" else [out_o]
    res_t = list(out_t) if kind == "lstm" else [out_t]
    assert_close(res_o, res_t, what="forward", **tol)
    weighted_loss(disttorch, res_o).backward()
    weighted_loss(torch, res_t).backward()
    assert_close(xo.grad, xt.grad, what="grad input", **tol)
    if with_state:
        for a, b in zip(so if kind == "lstm" else (so,), st if kind == "lstm" else (st,)):
            assert_close(a.grad, b.grad, what="grad state", **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, theirs_params[name].grad, what=f"grad {name}", **tol)


def test_cell_unrolled_equals_layer():
    """An LSTMCell stepped by hand gives what a one-layer LSTM with the same weights gives."""
    layer = disttorch.nn.LSTM(D, H)
    cell = disttorch.nn.LSTMCell(D, H)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data = getattr(layer, name + "_l0").detach().clone()
    x = disttorch.tensor(randn(T, B, D, seed=9))
    out, (h_n, c_n) = layer(x)
    h = c = disttorch.zeros(B, H)
    for t in range(T):
        h, c = cell(x[t], (h, c))
        assert_close(h, torch.tensor(out[t].detach().numpy()))
    assert_close(c, torch.tensor(c_n[0].detach().numpy()))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradcheck_tiny(kind):
    """Finite differences through the fused layer (first order) and its replayed graph (second order)."""
    mode = "LSTM" if kind == "lstm" else "GRU"
    g = R.CHUNKS[mode] * 2
    arrays = [randn(3, 2, 2, seed=1, dtype=np.float64), randn(2, 2, seed=2, dtype=np.float64),
              randn(2, 2, seed=3, dtype=np.float64), 0.5 * randn(g, 2, seed=4, dtype=np.float64),
              0.5 * randn(g, 2, seed=5, dtype=np.float64), randn(g, seed=6, dtype=np.float64),
              randn(g, seed=7, dtype=np.float64)]
    ts = [disttorch.tensor(a, requires_grad=True) for a in arrays]

    def fn(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        res = R.rnn_layers(mode, x, h0.unsqueeze(0), c0.unsqueeze(0) if mode == "LSTM" else None,
                           [(w_ih, w_hh, b_ih, b_hh, None)], 1, False, 0.0, False, R.padded_steps(3, 2))
        return res

    assert disttorch.autograd.gradcheck(fn, ts)
    assert disttorch.autograd.gradgradcheck(fn, ts)


def test_double_backward_matches_torch():
    ours, theirs = make_pair("LSTM", D, H, bidirectional=True, np_dtype=np.float64)
    x = randn(T, B, D, seed=12, dtype=np.float64)
    results = []
    for lib, m in ((disttorch, ours), (torch, theirs)):
        xx = lib.tensor(x, requires_grad=True)
        out, _ = m(xx)
        (gx,) = lib.autograd.grad((out * out).sum(), xx, create_graph=True)
        (gx * gx).sum().backward()
        results.append([xx.grad] + [p.grad for p in m.parameters()])
    assert_close(results[0], results[1], rtol=1e-8, atol=1e-10)


def test_dropout_between_layers():
    disttorch.manual_seed(0)
    m = disttorch.nn.GRU(D, H, num_layers=3, dropout=0.5)
    ref = disttorch.nn.GRU(D, H, num_layers=3)
    ref.load_state_dict(m.state_dict())
    x = disttorch.tensor(randn(T, B, D, seed=13))
    run = (lambda mod: mod(x)[0].detach())
    m.eval()
    a, b = run(m), run(m)
    assert_close(a, torch.tensor(b.numpy()))
    assert_close(a, torch.tensor(run(ref).numpy()))  # eval: no dropout at all
    m.train()
    c, d = run(m), run(m)
    assert not np.allclose(c.numpy(), a.numpy())
    assert not np.allclose(c.numpy(), d.numpy())


def test_dropout_warning_and_range():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        disttorch.nn.LSTM(2, 3, dropout=0.2)
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        disttorch.nn.LSTM(2, 3, num_layers=2, dropout=1.5)


def test_parameter_names_shapes_and_repr():
    for cls, kw in [("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
                    ("GRU", dict(num_layers=2, batch_first=True, dropout=0.1, bias=False)),
                    ("RNN", dict(nonlinearity="relu", bidirectional=True))]:
        ours = getattr(disttorch.nn, cls)(D, H, **kw)
        theirs = getattr(torch.nn, cls)(D, H, **kw)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert repr(ours) == repr(theirs)
        assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
        assert ours._flat_weights_names == theirs._flat_weights_names
        ours.flatten_parameters()
    for cls, kw in [("RNNCell", dict(nonlinearity="relu", bias=False)), ("LSTMCell", {}), ("GRUCell", {})]:
        ours = getattr(disttorch.nn, cls)(D, H, **kw)
        theirs = getattr(torch.nn, cls)(D, H, **kw)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN", "LSTMCell"])
def test_default_init_distribution(cls):
    disttorch.manual_seed(0)
    m = getattr(disttorch.nn, cls)(50, 200)
    bound = 1 / math.sqrt(200)
    for p in m.parameters():
        v = p.detach().numpy()
        assert v.min() >= -bound and v.max() <= bound
        assert abs(v.std() - bound / math.sqrt(3)) < 0.06 * bound


def test_input_and_hidden_errors():
    lstm = disttorch.nn.LSTM(10, 20)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 10, got 7"):
        lstm(disttorch.zeros(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 20\), got \[1, 2, 20\]"):
        lstm(disttorch.zeros(5, 3, 10), (disttorch.zeros(1, 2, 20), disttorch.zeros(1, 3, 20)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 2\]"):
        lstm(disttorch.zeros(5, 3, 10), (disttorch.zeros(1, 3, 20), disttorch.zeros(1, 3, 2)))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        lstm(disttorch.zeros(1, 5, 3, 10))
    with pytest.raises(RuntimeError, match=r"For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 3-D\)"):
        lstm(disttorch.zeros(5, 3, 10), (disttorch.zeros(3, 20), disttorch.zeros(1, 3, 20)))
    gru = disttorch.nn.GRU(10, 20)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 3, 20\), got \[1, 2, 20\]"):
        gru(disttorch.zeros(5, 3, 10), disttorch.zeros(1, 2, 20))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
        gru(disttorch.zeros(5, 10), disttorch.zeros(1, 1, 20))
    rnn = disttorch.nn.RNN(10, 20)
    with pytest.raises(ValueError, match="RNN: Expected input to be 2D or 3D, got 1D tensor instead"):
        rnn(disttorch.zeros(10))
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.float64\) does not match weight dtype"):
        rnn(disttorch.zeros(5, 3, 10, dtype=disttorch.float64))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D instead"):
        disttorch.nn.LSTMCell(10, 20)(disttorch.zeros(1, 2, 10))


def test_constructor_errors():
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
        disttorch.nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        disttorch.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."):
        disttorch.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        disttorch.nn.LSTM(3, 0)


def test_graph_is_one_node_per_layer_and_direction():
    m = disttorch.nn.LSTM(D, H, num_layers=2, bidirectional=True)
    out, _ = m(disttorch.tensor(randn(30, B, D, seed=14), requires_grad=True))
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(n for n, _ in node.next_functions)
    assert sum(type(n)._forward_name == "RnnLayer" for n in seen) == 4  # (the class prints as its node)
    assert len(seen) < 40  # independent of the sequence length (30)


def test_pad_and_pack_utils_match_torch():
    seqs = [randn(n, 2, seed=20 + n, dtype=np.float64) for n in (3, 5, 2)]
    ours = [disttorch.tensor(s, requires_grad=True) for s in seqs]
    theirs = [torch.tensor(s, requires_grad=True) for s in seqs]
    U = disttorch.nn.utils.rnn
    V = torch.nn.utils.rnn
    for kw in (dict(), dict(batch_first=True, padding_value=-1.0), dict(padding_side="left")):
        assert_close(U.pad_sequence(ours, **kw), V.pad_sequence(theirs, **kw))
    po, pt = U.pack_sequence(ours, enforce_sorted=False), V.pack_sequence(theirs, enforce_sorted=False)
    for a, b in zip(po, pt):
        assert_close(a, b)
    pad_o, len_o = U.pad_packed_sequence(po, batch_first=True, total_length=7, padding_value=2.0)
    pad_t, len_t = V.pad_packed_sequence(pt, batch_first=True, total_length=7, padding_value=2.0)
    assert_close([pad_o, len_o], [pad_t, len_t])
    weighted_loss(disttorch, [pad_o]).backward()
    weighted_loss(torch, [pad_t]).backward()
    assert_close([s.grad for s in ours], [s.grad for s in theirs])
    assert_close(U.unpack_sequence(po), V.unpack_sequence(pt))
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order"):
        U.pack_sequence(ours)
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest sequence"):
        U.pad_packed_sequence(po, total_length=2)
