"""The fast paths of the GPT / transformer step against PyTorch: float32 GELU (rational normal cdf), the
LayerNorm Op (matrix-vector statistics), cross_entropy (softmax kept from forward) and embedding (one-hot
gradient for small tables), with their edge cases; and no device-to-host transfers in cross_entropy and
embedding on the cuda stand-in."""
import os

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")
F = disttorch.nn.functional


# -- GELU ----------------------------------------------------------------------------------------------------
def _wide_inputs(dtype):
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, -0.0, 1e-30, -1e-38, 5.5437, -5.5437, 5.6, -5.6]])
    return x.astype(dtype)


def test_gelu_float32_matches_torch_over_a_wide_range(device):
    # PyTorch's own float32 GELU is 1.2e-6 from the exact value near x = 3.5; ours stays as close
    check(lambda t, x: t.nn.functional.gelu(x), [_wide_inputs(np.float32)], rtol=0, atol=2e-6, device=device)


def test_gelu_float32_cdf_is_a_probability_and_special_values():
    from disttorch.nn._functional.activation import _normal_cdf

    x = _wide_inputs(np.float32)
    c = _normal_cdf(x)
    assert c.dtype == np.float32 and c.min() >= 0 and c.max() <= 1
    assert np.all(np.diff(c[:20001]) >= -2.5e-7)  # monotone up to a few ulps
    special = np.array([np.nan, -np.inf], np.float32)
    ours = F.gelu(disttorch.tensor(special)).numpy()
    theirs = torch.nn.functional.gelu(torch.tensor(special)).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert F.gelu(disttorch.tensor(np.array([np.inf], np.float32))).numpy()[0] == np.inf


def test_gelu_float64_stays_exact_and_gradchecks():
    check(lambda t, x: t.nn.functional.gelu(x), [_wide_inputs(np.float64)], rtol=1e-12, atol=1e-14)
    gradcheck(lambda t, x: t.nn.functional.gelu(x), [randn(5, 7, dtype=np.float64) * 3])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_non_contiguous_scalar_and_double_backward(approximate, device):
    x = randn(6, 9) * 4
    check(lambda t, v: t.nn.functional.gelu(v.t()[1:], approximate=approximate), [x], device=device)
    check(lambda t, v: t.nn.functional.gelu(v, approximate=approximate), [np.array(1.5, np.float32)],
          device=device)
    for mod in (disttorch, torch):
        v = mod.tensor(x.astype(np.float64), requires_grad=True)
        (g,) = mod.autograd.grad(mod.nn.functional.gelu(v, approximate=approximate).sum(), v, create_graph=True)
        (gg,) = mod.autograd.grad((g * g).sum(), v)
        if mod is disttorch:
            ours = (g, gg)
        else:
            assert_close(ours[0], g, 1e-10, 1e-12)
            assert_close(ours[1], gg, 1e-10, 1e-12)


def test_gelu_module_in_place_input_untouched():
    x = randn(4, 70000)  # several chunks
    keep = x.copy()
    check(lambda t, v: t.nn.GELU()(v), [x])
    np.testing.assert_array_equal(x, keep)


# -- LayerNorm ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,ns", [((4, 6, 16), (16,)), ((3, 5, 4, 6), (4, 6)), ((7, 1), (1,)), ((5,), (5,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, ns, affine, dtype, device):
    x = randn(*shape, dtype=dtype) * 3 + 10  # a large mean: the two-pass variance must hold
    arrays = [x] + ([randn(*ns, dtype=dtype), randn(*ns, seed=1, dtype=dtype)] if affine else [])
    check(lambda t, v, *wb: t.nn.functional.layer_norm(v, ns, *wb, eps=1e-5), arrays, device=device)


def test_layer_norm_weight_only_non_contiguous_and_gradcheck(device):
    x = randn(8, 5, 6)
    check(lambda t, v, w: t.nn.functional.layer_norm(v.transpose(0, 1), (6,), w), [x, randn(6)], device=device)
    check(lambda t, v, b: t.nn.functional.layer_norm(v, (6,), None, b), [x, randn(6)], device=device)
    gradcheck(lambda t, v, w, b: t.nn.functional.layer_norm(v, (3, 4), w, b),
              [randn(2, 3, 4, dtype=np.float64), randn(3, 4, dtype=np.float64), randn(3, 4, dtype=np.float64)])


def test_layer_norm_double_backward_matches_torch():
    x, w, b = randn(3, 4, 5, dtype=np.float64), randn(5, dtype=np.float64), randn(5, seed=2, dtype=np.float64)
    res = {}
    for mod in (disttorch, torch):
        ts = [mod.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = mod.nn.functional.layer_norm(ts[0], (5,), ts[1], ts[2])
        gs = mod.autograd.grad((y * y * y).sum(), ts, create_graph=True)
        res[mod] = mod.autograd.grad(sum((g * g).sum() for g in gs), ts)
    assert_close(list(res[disttorch]), list(res[torch]), 1e-9, 1e-10)


def test_layer_norm_half_precision_takes_the_general_path():
    x = randn(4, 8).astype(np.float16)
    check(lambda t, v: t.nn.functional.layer_norm(v, (8,)), [x], rtol=2e-3, atol=2e-3)


# -- cross_entropy / nll_loss -------------------------------------------------------------------------------
def _ce(**kw):
    return lambda t, x, y, *w: t.nn.functional.cross_entropy(x, y, *w, **kw)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kw", [{}, {"ignore_index": 2}, {"label_smoothing": 0.2},
                                {"ignore_index": 1, "label_smoothing": 0.1}, {"label_smoothing": 1.0}])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_torch(kw, reduction, weighted, device):
    y = np.array([0, 2, 1, 2, 4, 1, 3])
    arrays = [randn(7, 5) * 3, y] + ([np.abs(randn(5)) + 0.1] if weighted else [])
    check(_ce(reduction=reduction, **kw), arrays, grad=[True, False, False], device=device)


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.3}, {"ignore_index": 0}])
def test_cross_entropy_spatial_and_unbatched(kw, device):
    check(_ce(**kw), [randn(2, 4, 3, 5), np.random.default_rng(0).integers(0, 4, (2, 3, 5))],
          grad=[True, False], device=device)
    check(_ce(**kw), [randn(6), np.array(3)], grad=[True, False], device=device)


def test_cross_entropy_every_target_ignored_and_inf_logits(device):
    y = np.array([2, 2, 2])
    for red in ("mean", "sum"):  # mean over nothing: nan loss, and no gradient (zeros), as in PyTorch
        for mod, x in ((disttorch, disttorch.tensor(randn(3, 4), device=device, requires_grad=True)),
                       (torch, torch.tensor(randn(3, 4), requires_grad=True))):
            loss = mod.nn.functional.cross_entropy(x, mod.tensor(y, device=device) if mod is disttorch
                                                   else mod.tensor(y), ignore_index=2, reduction=red)
            loss.backward()
            if mod is disttorch:
                ours = (loss, x.grad)
            else:
                assert_close(ours[0], loss)
                assert_close(ours[1], x.grad)
    x = randn(3, 5)
    x[0, 1] = -np.inf  # a class that can never be picked: p = 0 there, finite loss for other targets
    x[2, :3] = -np.inf
    check(_ce(), [x, np.array([0, 3, 4])], grad=[True, False], device=device)
    check(_ce(label_smoothing=0.0), [x, np.array([0, 3, 4])], grad=[True, False], device=device)


def test_cross_entropy_probability_targets_and_nll(device):
    p = np.abs(randn(4, 5))
    p /= p.sum(1, keepdims=True)
    check(_ce(label_smoothing=0.25), [randn(4, 5), p], device=device)
    logp = np.log(p)
    check(lambda t, x, y: t.nn.functional.nll_loss(x, y, ignore_index=1), [logp, np.array([0, 1, 4, 3])],
          grad=[True, False], device=device)


def test_cross_entropy_gradcheck_and_double_backward():
    y = disttorch.tensor(np.array([1, 0, 3, 3]))
    w = disttorch.tensor(np.abs(randn(5, dtype=np.float64)) + 0.5)  # class weights: constants, as in PyTorch
    for kw in ({}, {"label_smoothing": 0.2, "ignore_index": 0}):
        gradcheck(lambda t, x: t.nn.functional.cross_entropy(x, y, w, **kw), [randn(4, 5, dtype=np.float64)])
        x = disttorch.tensor(randn(4, 5, dtype=np.float64), requires_grad=True)
        assert disttorch.autograd.gradgradcheck(lambda v: F.cross_entropy(v, y, **kw), (x,))


def test_cross_entropy_out_of_range_target():
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        F.cross_entropy(disttorch.tensor(randn(2, 5)), disttorch.tensor(np.array([1, 5])))


# -- embedding ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num", [12, 300])  # the one-hot product (small table) and the scatter-add
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 3}, {"scale_grad_by_freq": True},
                                {"padding_idx": 0, "scale_grad_by_freq": True}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_duplicates_match_torch(num, kw, dtype, device):
    idx = np.random.default_rng(1).integers(0, 6, (5, 7))  # many repeats
    idx[0, :3] = num - 1
    check(lambda t, w, i: t.nn.functional.embedding(i, w, **kw), [randn(num, 6, dtype=dtype), idx], device=device)


def test_embedding_max_norm_with_duplicates_matches_torch():
    w = randn(12, 4) * 3
    idx = np.array([[1, 1, 5], [5, 7, 1]])
    wo, wt = disttorch.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    yo = F.embedding(disttorch.tensor(idx), wo, max_norm=1.5)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=1.5)
    assert_close(yo, yt)
    assert_close(wo.detach(), wt.detach())
    yo.sum().backward()
    yt.sum().backward()
    assert_close(wo.grad, wt.grad)


def test_embedding_gradcheck_small_table():
    idx = disttorch.tensor(np.array([[0, 2, 2], [1, 0, 2]]))
    gradcheck(lambda t, w: t.nn.functional.embedding(idx, w), [randn(4, 3, dtype=np.float64)])


# -- no host transfers on a device (the cupy stand-in counts them) -------------------------------------------
def _host_syncs():
    import cupy

    return cupy._HOST_SYNCS


@pytest.mark.skipif(os.environ.get("DISTTORCH_FAKE_CUDA", "") in ("", "0"),
                    reason="counts transfers on the cupy stand-in (DISTTORCH_FAKE_CUDA=1)")
def test_cross_entropy_and_embedding_do_not_sync_on_cuda():
    syncs = _host_syncs()
    w = disttorch.tensor(randn(20, 8), device="cuda", requires_grad=True)
    idx = disttorch.tensor(np.array([[1, 4, 4], [0, 19, 3]]), device="cuda")
    y = disttorch.tensor(np.array([1, 2, 7, 0, -100, 3]), device="cuda")
    before = syncs[0]
    for kw in ({}, {"label_smoothing": 0.1}, {"reduction": "sum"}):
        h = F.embedding(idx, w, max_norm=2.0)
        loss = F.cross_entropy(h.reshape(6, 8), y, **kw)
        loss.backward()
    assert syncs[0] == before
    assert w.grad is not None and np.isfinite(float(loss))


@pytest.mark.skipif(os.environ.get("DISTTORCH_FAKE_CUDA", "") in ("", "0"),
                    reason="runs on the cupy stand-in (DISTTORCH_FAKE_CUDA=1)")
def test_out_of_range_indices_on_cuda_give_nan():
    loss = F.cross_entropy(disttorch.tensor(randn(2, 5), device="cuda"),
                           disttorch.tensor(np.array([1, 5]), device="cuda"))
    assert np.isnan(float(loss))
    out = F.embedding(disttorch.tensor(np.array([0, 9, -1]), device="cuda"),
                      disttorch.tensor(randn(4, 3), device="cuda")).cpu().numpy()
    assert np.isfinite(out[0]).all() and np.isnan(out[1:]).all()


# -- softmax / log_softmax behind attention -----------------------------------------------------------------
def _masked_scores(dtype=np.float32):
    s = randn(2, 3, 5, 6, dtype=dtype) * 4
    mask = np.tril(np.ones((5, 6), bool))
    mask[0] = False  # a fully masked row: nan in PyTorch's softmax, kept as nan
    return s, mask


@pytest.mark.parametrize("log", [False, True])
def test_masked_softmax_matches_torch(log, device):
    s, mask = _masked_scores()

    def fn(t, x, m):
        y = x.masked_fill(m.logical_not(), float("-inf"))
        return t.nn.functional.log_softmax(y, -1) if log else t.nn.functional.softmax(y, dim=-1)

    ours = fn(disttorch, disttorch.tensor(s, device=device), disttorch.tensor(mask, device=device))
    theirs = fn(torch, torch.tensor(s), torch.tensor(mask))
    o, t = ours.cpu().numpy(), theirs.numpy()
    np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
    np.testing.assert_array_equal(np.isinf(o), np.isinf(t))
    fin = np.isfinite(t)
    np.testing.assert_allclose(o[fin], t[fin], rtol=1e-5, atol=1e-6)
    # gradients through the rows that are not fully masked
    keep = mask.copy()
    keep[0] = True
    check(lambda t, x, m: (t.nn.functional.log_softmax if log else t.nn.functional.softmax)(
        x.masked_fill(m.logical_not(), float("-inf")), -1).masked_fill(m.logical_not(), 0.0), [s, keep],
        grad=[True, False], device=device)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_dims_non_contiguous_gradcheck_and_double_backward(dim, device):
    x = randn(4, 5, 6)
    for log in (False, True):
        fn = (lambda t, v: t.nn.functional.log_softmax(v.transpose(0, 2), dim)) if log else \
            (lambda t, v: t.nn.functional.softmax(v.transpose(0, 2), dim))
        check(fn, [x], device=device)
        gradcheck(fn, [x.astype(np.float64)])
        v = disttorch.tensor(x.astype(np.float64), requires_grad=True)
        assert disttorch.autograd.gradgradcheck(lambda a, fn=fn: fn(disttorch, a), (v,))
    check(lambda t, v: t.nn.functional.softmax(v, 0), [np.array(2.0, np.float32)], device=device)


def test_gpt_style_attention_block_matches_torch(device):
    """q k^T scaling, causal masked_fill(-inf), softmax, @ v: values and gradients of all three inputs."""
    q, k, v = randn(2, 4, 8, 16), randn(2, 4, 8, 16, seed=1), randn(2, 4, 8, 16, seed=2)
    causal = np.tril(np.ones((8, 8), np.float32))

    def fn(t, a, b, c, m):
        att = (a @ b.transpose(-2, -1)) * 16 ** -0.5
        att = att.masked_fill(m == 0, float("-inf"))
        return t.nn.functional.softmax(att, dim=-1) @ c

    check(fn, [q, k, v, causal], grad=[True, True, True, False], device=device)


# -- LSTM (states entering each step filled in after the loop on padded input) ------------------------------
def _lstm_pair(device, **kw):
    torch.manual_seed(0)
    tm = torch.nn.LSTM(5, 7, **kw)
    dm = disttorch.nn.LSTM(5, 7, **kw).to(device)
    dm.load_state_dict({k: disttorch.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()})
    return dm, tm


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_padded_matches_torch(bidirectional, with_state, device):
    dm, tm = _lstm_pair(device, num_layers=2, bidirectional=bidirectional, batch_first=True)
    nd = 2 if bidirectional else 1
    x, h0, c0 = randn(3, 6, 5), randn(2 * nd, 3, 7, seed=1), randn(2 * nd, 3, 7, seed=2)
    res = {}
    for mod, m in ((disttorch, dm), (torch, tm)):
        dev = {"device": device} if mod is disttorch else {}
        xs = mod.tensor(x, requires_grad=True, **dev)
        st = tuple(mod.tensor(a, requires_grad=True, **dev) for a in (h0, c0)) if with_state else None
        out, (h, c) = m(xs, st) if st else m(xs)
        ((out * out).sum() + (h * 2).sum() + (c * c).sum()).backward()
        grads = [xs.grad] + ([s.grad for s in st] if st else []) + [p.grad for p in m.parameters()]
        res[mod] = [out, h, c] + grads
    assert_close(res[disttorch], res[torch], 1e-4, 1e-5)


def test_lstm_packed_reverse_matches_torch(device):
    dm, tm = _lstm_pair(device, bidirectional=True)
    x = randn(6, 3, 5)
    lengths = [6, 4, 2]
    res = {}
    for mod, m in ((disttorch, dm), (torch, tm)):
        dev = {"device": device} if mod is disttorch else {}
        xs = mod.tensor(x, requires_grad=True, **dev)
        packed = mod.nn.utils.rnn.pack_padded_sequence(xs, lengths)
        out, (h, c) = m(packed)
        padded, _ = mod.nn.utils.rnn.pad_packed_sequence(out)
        ((padded * padded).sum() + h.sum() + c.sum()).backward()
        res[mod] = [padded, h, c, xs.grad] + [p.grad for p in m.parameters()]
    assert_close(res[disttorch], res[torch], 1e-4, 1e-5)


def test_lstm_float64_gradcheck_with_state():
    torch_free = disttorch.nn.LSTM(3, 4, bidirectional=True).double()
    x, h0, c0 = randn(4, 2, 3, dtype=np.float64), randn(2, 2, 4, dtype=np.float64), randn(2, 2, 4, dtype=np.float64)

    def fn(t, a, h, c):
        out, (hn, cn) = torch_free(a, (h, c))
        return out.sum() + hn.sum() + (cn * cn).sum()

    gradcheck(fn, [x, h0, c0])
