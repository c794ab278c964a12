"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention vs PyTorch."""
import copy

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn, to_np

import disttorch

torch = pytest.importorskip("torch")


def _sdpa(**kw):
    return lambda t, q, k, v, *m: t.nn.functional.scaled_dot_product_attention(q, k, v, *m, **kw)


# -- scaled_dot_product_attention -------------------------------------------------------------------
SHAPES = [  # query, key, value
    ((3, 4), (5, 4), (5, 6)),
    ((2, 3, 4), (2, 5, 4), (2, 5, 6)),
    ((2, 2, 7, 8), (2, 2, 7, 8), (2, 2, 7, 8)),
    ((3, 1, 3, 4), (2, 5, 4), (2, 5, 2)),  # leading dims broadcast
    ((1, 2, 1, 4), (1, 2, 6, 4), (1, 2, 6, 3)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES)
def test_sdpa_plain(shapes, dtype, device):
    arrays = [randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes)]
    check(_sdpa(), arrays, device=device)


@pytest.mark.parametrize("shapes", SHAPES[:3])
def test_sdpa_causal_and_scale(shapes, device):
    arrays = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    check(_sdpa(is_causal=True), arrays, device=device)
    check(_sdpa(scale=0.3), arrays, device=device)
    check(_sdpa(is_causal=True, scale=1.7), arrays, device=device)


def test_sdpa_causal_longer_query():
    # top-left aligned lower triangle also when L > S
    arrays = [randn(2, 6, 4, seed=1), randn(2, 3, 4, seed=2), randn(2, 3, 5, seed=3)]
    check(_sdpa(is_causal=True), arrays)


def _bool_mask(shape, seed, full_row=False):
    m = np.random.default_rng(seed).random(shape) > 0.4
    m[..., 0] = True  # every row keeps at least one key
    if full_row:
        m[..., 1, :] = False
    return m


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 3, 5), (2, 1, 5), (1, 5)])
def test_sdpa_bool_mask(mask_shape, device):
    q, k, v = randn(2, 3, 4, seed=1), randn(2, 5, 4, seed=2), randn(2, 5, 6, seed=3)
    check(_sdpa(), [q, k, v, _bool_mask(mask_shape, 4)], device=device)


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 3, 5), (2, 1, 5)])
def test_sdpa_float_mask_with_grad(mask_shape, device):
    q, k, v = randn(2, 3, 4, seed=1), randn(2, 5, 4, seed=2), randn(2, 5, 6, seed=3)
    mask = randn(*mask_shape, seed=5)
    mask[..., 2] = -np.inf
    check(_sdpa(), [q, k, v, mask], grad=[True, True, True, False], device=device)
    check(_sdpa(), [q, k, v, randn(*mask_shape, seed=6)], device=device)  # gradient of the mask too


def test_sdpa_fully_masked_rows_give_zero():
    q, k, v = randn(2, 2, 3, 4, seed=1), randn(2, 2, 5, 4, seed=2), randn(2, 2, 5, 6, seed=3)
    check(_sdpa(), [q, k, v, _bool_mask((3, 5), 3, full_row=True)])
    fmask = np.zeros((3, 5), np.float32)
    fmask[1] = -np.inf
    check(_sdpa(), [q, k, v, fmask], grad=[True, True, True, False])


@pytest.mark.parametrize("hk,hv", [(2, 2), (1, 4), (2, 4)])
def test_sdpa_gqa(hk, hv):
    q, k, v = randn(2, 4, 5, 4, seed=1), randn(2, hk, 3, 4, seed=2), randn(2, hv, 3, 6, seed=3)
    check(_sdpa(enable_gqa=True), [q, k, v])


def test_sdpa_gradcheck_and_double_backward():
    q, k, v = randn(1, 2, 3, seed=1), randn(1, 4, 3, seed=2), randn(1, 4, 2, seed=3)
    mask = randn(2, 4, seed=4)
    gradcheck(_sdpa(), [q, k, v])
    gradcheck(_sdpa(is_causal=True, scale=0.7), [q, k, v])
    gradcheck(_sdpa(), [q, k, v, mask])
    bmask = disttorch.tensor(_bool_mask((2, 4), 4, full_row=True))
    ts = [disttorch.tensor(a.astype(np.float64), requires_grad=True) for a in (q, k, v)]
    f = disttorch.nn.functional.scaled_dot_product_attention
    assert disttorch.autograd.gradcheck(lambda *xs: f(*xs, attn_mask=bmask), ts)
    assert disttorch.autograd.gradgradcheck(lambda *xs: f(*xs, attn_mask=bmask), ts)
    assert disttorch.autograd.gradgradcheck(lambda *xs: f(*xs, is_causal=True), ts)


def test_sdpa_double_backward_vs_torch():
    arrays = [randn(2, 3, 4, seed=1), randn(2, 5, 4, seed=2), randn(2, 5, 3, seed=3)]

    def fn(t, q, k, v):
        out = t.nn.functional.scaled_dot_product_attention(q, k, v)
        g = t.autograd.grad((out ** 2).sum(), (q, k, v), create_graph=True)
        return sum((gi ** 2).sum() for gi in g)
    check(fn, arrays, rtol=1e-4, atol=1e-5)


def test_sdpa_dropout():
    disttorch.manual_seed(0)
    q, k = disttorch.tensor(randn(2, 3, 4, 4, seed=1)), disttorch.tensor(randn(2, 3, 8, 4, seed=2))
    eye = disttorch.eye(8).requires_grad_()  # with v = I the output is the dropped-out weight matrix itself
    f = disttorch.nn.functional.scaled_dot_product_attention
    out = f(q, k, eye, dropout_p=0.4)
    probs = to_np(f(q, k, disttorch.eye(8)))
    got = to_np(out)
    kept = got != 0
    np.testing.assert_allclose(got[kept], probs[kept] / 0.6, rtol=1e-5)
    assert 0.45 < kept.mean() < 0.75
    g = disttorch.tensor(randn(2, 3, 4, 8, seed=9))
    (out * g).sum().backward()
    expected = np.einsum("bhls,bhlt->st", got, to_np(g))
    np.testing.assert_allclose(to_np(eye.grad), expected, rtol=1e-4, atol=1e-5)
    disttorch.manual_seed(0)
    np.testing.assert_array_equal(to_np(f(q, k, eye, dropout_p=0.4)), got)  # same seed, same mask
    assert float(f(q, k, eye, dropout_p=1.0).abs().max()) == 0.0


def test_sdpa_node_and_errors():
    f = disttorch.nn.functional.scaled_dot_product_attention
    q = disttorch.randn(2, 3, 4, requires_grad=True)
    k, v = disttorch.randn(2, 5, 4), disttorch.randn(2, 5, 6)
    assert f(q, k, v).grad_fn.name() == "UnsafeViewBackward0"
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        f(q, k, v, attn_mask=disttorch.ones(3, 5, dtype=disttorch.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        f(disttorch.randn(4), disttorch.randn(4), disttorch.randn(4))
    with pytest.raises(RuntimeError, match="to have the same dtype, but got query.dtype: float key.dtype: float and "
                                           "value.dtype: double"):
        f(q, k, v.double())
    with pytest.raises(RuntimeError, match="attn_mask dtype to be bool or float or to match query dtype, but got "
                                           "attn_mask.dtype: long int"):
        f(q, k, v, attn_mask=disttorch.ones(3, 5, dtype=disttorch.int64))
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b \(4\) at non-singleton dimension 2"):
        f(q, k, v, attn_mask=disttorch.ones(3, 4))
    with pytest.raises(RuntimeError, match=r"first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[2, 3\]"):
        f(q, disttorch.randn(2, 5, 3), v)
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        f(q, k, v, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide"):
        f(disttorch.randn(2, 3, 5, 4), disttorch.randn(2, 2, 3, 4), disttorch.randn(2, 2, 3, 4), enable_gqa=True)


# -- MultiheadAttention ---------------------------------------------------------------------------
def _pair(E, H, **kw):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **kw)
    ours = disttorch.nn.MultiheadAttention(E, H, **kw)
    names_o = [n for n, _ in ours.named_parameters()]
    names_t = [n for n, _ in theirs.named_parameters()]
    assert names_o == names_t
    for (_, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert tuple(po.shape) == tuple(pt.shape)
        po.data = disttorch.tensor(pt.detach().numpy())
    return ours, theirs


def _run_mha(ours, theirs, arrays, masks=(), same=(), rtol=1e-5, atol=1e-5, **kw):
    """arrays: query, key, value (key/value may be None to reuse the query/key tensor: self-attention);
    masks: dict name -> numpy array. Compares outputs, weights and every gradient."""
    def build(mod, t):
        ts = []
        for a in arrays:
            if a is None:
                ts.append(ts[-1])
            else:
                x = t.tensor(a)
                x.requires_grad_(True)
                ts.append(x)
        ms = {name: t.tensor(m) for name, m in dict(masks).items()}
        out, w = mod(*ts, **ms, **kw)
        loss = (out * t.tensor(randn(*out.shape, seed=11))).sum()
        if w is not None:
            loss = loss + (w * t.tensor(randn(*w.shape, seed=12))).sum()
        loss.backward()
        return out, w, ts
    oo, ow, ots = build(ours, disttorch)
    to, tw, tts = build(theirs, torch)
    assert_close(oo, to, rtol, atol, "output")
    if tw is None:
        assert ow is None
    else:
        assert_close(ow, tw, rtol, atol, "weights")
    for i, (a, b) in enumerate(zip(ots, tts)):
        assert_close(a.grad, b.grad, rtol, atol, f"grad of input {i}")
    for (n, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        if pt.grad is None:
            assert po.grad is None or float(po.grad.abs().max()) == 0, n
        else:
            assert_close(po.grad, pt.grad, rtol, atol, f"grad of {n}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_self_attention(batch_first, need_weights, average):
    ours, theirs = _pair(8, 2, batch_first=batch_first)
    x = randn(3, 5, 8, seed=1)
    _run_mha(ours, theirs, [x, None, None], need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_cross_attention(batch_first):
    ours, theirs = _pair(8, 4, batch_first=batch_first)
    q = randn(3, 5, 8, seed=1) if batch_first else randn(5, 3, 8, seed=1)
    kv = randn(3, 7, 8, seed=2) if batch_first else randn(7, 3, 8, seed=2)
    _run_mha(ours, theirs, [q, kv, None])  # key is value
    _run_mha(ours, theirs, [q, kv, randn(*kv.shape, seed=3)], need_weights=False)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_mha_masks(need_weights, kind):
    ours, theirs = _pair(8, 2, batch_first=True)
    x = randn(3, 5, 8, seed=1)
    rng = np.random.default_rng(3)
    attn2 = rng.random((5, 5)) > 0.6
    attn3 = rng.random((6, 5, 5)) > 0.6
    kpm = rng.random((3, 5)) > 0.6
    for m in (attn2, attn3, kpm):
        m[..., 0] = False  # every query keeps a key
    def conv(m):
        return m if kind == "bool" else np.where(m, -np.inf, randn(*m.shape, seed=4)).astype(np.float32)

    for masks in ({"attn_mask": conv(attn2)}, {"attn_mask": conv(attn3)}, {"key_padding_mask": conv(kpm)},
                  {"attn_mask": conv(attn2), "key_padding_mask": conv(kpm)},
                  {"attn_mask": conv(attn3), "key_padding_mask": conv(kpm)}):
        _run_mha(ours, theirs, [x, None, None], masks=masks, need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal(need_weights):
    ours, theirs = _pair(8, 2)
    x = randn(5, 2, 8, seed=1)
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    _run_mha(ours, theirs, [x, None, None], masks={"attn_mask": causal}, is_causal=True, need_weights=need_weights)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 3:] = True
    _run_mha(ours, theirs, [x, None, None], masks={"attn_mask": causal,
                                                   "key_padding_mask": kpm.astype(np.float32) * -1e9},
             is_causal=True, need_weights=need_weights)


def test_mha_fully_masked_rows_match_torch():
    # need_weights=True uses a plain softmax (NaN rows); need_weights=False goes through SDPA (zeros), except in
    # PyTorch's fused inference kernel (eval, no grad, batch_first self-attention, even heads, bool masks): NaN
    kpm = np.array([[False, False, False], [True, True, True]])
    for heads, bf in ((2, True), (2, False), (1, True)):
        ours, theirs = _pair(4, heads, batch_first=bf)
        x = randn(2, 3, 4, seed=1) if bf else randn(3, 2, 4, seed=1)
        for train, need in ((True, True), (True, False), (False, True), (False, False)):
            ours.train(train)
            theirs.train(train)
            with torch.no_grad(), disttorch.no_grad():
                xd, xt = disttorch.tensor(x), torch.tensor(x)
                o, w = ours(xd, xd, xd, key_padding_mask=disttorch.tensor(kpm), need_weights=need)
                t, tw = theirs(xt, xt, xt, key_padding_mask=torch.tensor(kpm), need_weights=need)
            assert_close(o, t, 1e-5, 1e-6)
            if need:
                assert_close(w, tw, 1e-5, 1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim(batch_first, need_weights):
    ours, theirs = _pair(8, 2, kdim=3, vdim=5, batch_first=batch_first)
    assert ours.in_proj_weight is None and not ours._qkv_same_embed_dim
    if batch_first:
        arrays = [randn(2, 4, 8, seed=1), randn(2, 6, 3, seed=2), randn(2, 6, 5, seed=3)]
    else:
        arrays = [randn(4, 2, 8, seed=1), randn(6, 2, 3, seed=2), randn(6, 2, 5, seed=3)]
    kpm = np.zeros((2, 6), bool)
    kpm[0, 4:] = True
    _run_mha(ours, theirs, arrays, masks={"key_padding_mask": kpm}, need_weights=need_weights)


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_unbatched(need_weights, average):
    ours, theirs = _pair(8, 2, batch_first=True)  # batch_first is ignored for 2-D inputs
    x = randn(5, 8, seed=1)
    _run_mha(ours, theirs, [x, None, None], need_weights=need_weights, average_attn_weights=average)
    kv = randn(4, 8, seed=2)
    masks = {"key_padding_mask": np.array([False, True, False, False]), "attn_mask": _bool_mask((2, 5, 4), 1) == 0}
    masks["attn_mask"][..., 0] = False
    _run_mha(ours, theirs, [x, kv, None], masks=masks, need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("options", [{"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True},
                                     {"add_bias_kv": True, "add_zero_attn": True}])
def test_mha_options(options):
    ours, theirs = _pair(8, 2, **options)
    x = randn(4, 3, 8, seed=1)
    mask = np.zeros((3, 4), bool)
    mask[2, 1:] = True
    attn = np.zeros((4, 4), bool)
    attn[0, 2] = True
    for need in (True, False):
        _run_mha(ours, theirs, [x, None, None], masks={"key_padding_mask": mask, "attn_mask": attn}, need_weights=need)


def test_mha_functional_static_kv():
    E, H, L, N, S = 8, 2, 3, 2, 4
    w, b, ow = randn(3 * E, E, seed=1), randn(3 * E, seed=2), randn(E, E, seed=3)
    sk, sv = randn(N * H, S, E // H, seed=4), randn(N * H, S, E // H, seed=5)

    def fn(t, q, w_, b_, ow_, sk_, sv_):
        return t.nn.functional.multi_head_attention_forward(
            q, q, q, E, H, w_, b_, None, None, False, 0.0, ow_, None, static_k=sk_, static_v=sv_)
    check(fn, [randn(L, N, E, seed=6), w, b, ow, sk, sv])


def test_mha_dropout_train_and_eval():
    ours = disttorch.nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = disttorch.randn(2, 5, 8)
    ours.eval()
    a, wa = ours(x, x, x)
    b, wb = ours(x, x, x)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    ours.train()
    _, w = ours(x, x, x, average_attn_weights=False)
    w = to_np(w)
    assert (w == 0).any() and np.isclose(w.sum(-1).mean(), 1.0, atol=0.3)


def test_mha_init_and_module_api():
    E = 16
    m = disttorch.nn.MultiheadAttention(E, 4, add_bias_kv=True)
    assert float(m.in_proj_bias.abs().max()) == 0 and float(m.out_proj.bias.abs().max()) == 0
    bound = (6.0 / (E + 3 * E)) ** 0.5
    w = to_np(m.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert m.bias_k.shape == (1, 1, E)
    assert repr(m) == repr(torch.nn.MultiheadAttention(E, 4, add_bias_kv=True))
    assert list(m.state_dict()) == list(torch.nn.MultiheadAttention(E, 4, add_bias_kv=True).state_dict())
    c = copy.deepcopy(m)
    assert c.in_proj_weight is not m.in_proj_weight
    np.testing.assert_array_equal(to_np(c.in_proj_weight), to_np(m.in_proj_weight))
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        disttorch.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        disttorch.nn.MultiheadAttention(0, 3)


def test_mha_errors():
    m = disttorch.nn.MultiheadAttention(8, 2)
    tm = torch.nn.MultiheadAttention(8, 2)
    x, tx = disttorch.randn(5, 2, 8), torch.randn(5, 2, 8)
    cases = [
        ({"attn_mask": (3, 4)}, RuntimeError, r"The shape of the 2D attn_mask is torch.Size\(\[3, 4\]\), but should "
                                              r"be \(5, 5\)."),
        ({"attn_mask": (3, 5, 5)}, RuntimeError, r"The shape of the 3D attn_mask is torch.Size\(\[3, 5, 5\]\), but "
                                                 r"should be \(4, 5, 5\)."),
        ({"attn_mask": (1, 1, 5, 5)}, AssertionError, "expected `attn_mask` to be `None`, 2-D or 3-D but found 4-D"),
        ({"key_padding_mask": (2, 4)}, AssertionError, r"Expected key_padded_mask.shape\[1\] to be 5, but got 4"),
        ({"key_padding_mask": (3, 5)}, AssertionError, r"Expected key_padded_mask.shape\[0\] to be 2, but got 3"),
        ({"key_padding_mask": (5,)}, AssertionError, "expected `key_padding_mask` to be `None` or 2-D"),
    ]
    for masks, exc, msg in cases:
        for mod, t, inp in ((m, disttorch, x), (tm, torch, tx)):
            kw = {k: t.zeros(*s, dtype=t.bool) for k, s in masks.items()}
            with pytest.raises(exc, match=msg):
                mod(inp, inp, inp, **kw)
    for mod, t, inp in ((m, disttorch, x), (tm, torch, tx)):
        with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
            mod(inp, inp, inp, is_causal=True)
        with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
            mod(inp, inp, inp, attn_mask=t.zeros(5, 5, dtype=t.int64))
        with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
            mod(inp[..., :6], inp[..., :6], inp[..., :6])
        with pytest.raises(AssertionError, match="query should be unbatched 2D or batched 3D tensor"):
            mod(inp[0, 0], inp[0, 0], inp[0, 0])
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        m(x, x, x, key_padding_mask=disttorch.zeros(2, 5, dtype=disttorch.bool), attn_mask=disttorch.zeros(5, 5))


def test_mha_merge_masks():
    ours, theirs = _pair(8, 2, batch_first=True)
    q = randn(3, 4, 8, seed=1)
    attn2, attn3, kpm = randn(4, 4, seed=2), randn(6, 4, 4, seed=3), randn(3, 4, seed=4)
    for a, k in ((None, None), (None, kpm), (attn2, None), (attn3, kpm), (attn2, kpm)):
        mo, to = (mod.merge_masks(None if a is None else t.tensor(a), None if k is None else t.tensor(k),
                                  t.tensor(q)) for mod, t in ((ours, disttorch), (theirs, torch)))
        assert mo[1] == to[1]
        assert (mo[0] is None) == (to[0] is None)
        if to[0] is not None:
            assert_close(mo[0], to[0])
