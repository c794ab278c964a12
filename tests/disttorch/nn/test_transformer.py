"""Transformer encoder/decoder layers and stacks vs PyTorch with copied weights."""
import copy
import warnings

import numpy as np
import pytest
from oracle import assert_close, randn, to_np

import disttorch

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]

RTOL, ATOL = 1e-4, 2e-5


def _build(name, *args, **kw):
    """The same module in both frameworks, ours holding torch's weights."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **_for(torch, kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(disttorch.nn, name)(*args, **_for(disttorch, kw))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (_, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert tuple(po.shape) == tuple(pt.shape)
        po.data = disttorch.tensor(pt.detach().numpy())
    return ours, theirs


def _for(t, kw):
    """Arguments that name framework objects are given as functions of the framework."""
    return {k: (v(t) if callable(v) and k in ("encoder_layer", "decoder_layer", "activation", "norm") else v)
            for k, v in kw.items()}


def _compare(ours, theirs, arrays, kwargs=None, train=False, grad=True):
    """Run both modules on tensors made from ``arrays`` (None entries in kwargs' masks stay None),
    compare outputs and the gradients of the inputs and of every parameter."""
    kwargs = kwargs or {}
    results = []
    for mod, t in ((ours, disttorch), (theirs, torch)):
        mod.train(train)
        xs = [t.tensor(a).requires_grad_(grad) for a in arrays]
        kw = {k: (t.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        out = mod(*xs, **kw)
        if grad:
            (out * t.tensor(randn(*out.shape, seed=21))).sum().backward()
        results.append((out, xs))
    (oo, oxs), (to, txs) = results
    assert_close(oo, to, RTOL, ATOL, "output")
    if not grad:
        return
    for i, (a, b) in enumerate(zip(oxs, txs)):
        assert_close(a.grad, b.grad, RTOL, ATOL, f"grad of input {i}")
    for (n, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        if pt.grad is None:
            assert po.grad is None or float(po.grad.abs().max()) == 0, n
        else:
            assert_close(po.grad, pt.grad, RTOL, ATOL, f"grad of {n}")


def _causal(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


def _kpm(n, s, seed=0):
    m = np.zeros((n, s), bool)
    for i, k in enumerate(np.random.default_rng(seed).integers(0, s - 1, n)):
        m[i, s - k:] = True  # right padding, at least one key kept
    return m


# -- encoder ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("train", [False, True])
def test_encoder_layer(batch_first, norm_first, activation, train):
    ours, theirs = _build("TransformerEncoderLayer", 8, 2, dim_feedforward=16, dropout=0.0, activation=activation,
                          batch_first=batch_first, norm_first=norm_first)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    x = randn(*shape, seed=1)
    _compare(ours, theirs, [x], train=train)
    _compare(ours, theirs, [x], {"src_mask": _causal(5), "is_causal": True}, train=train)
    _compare(ours, theirs, [x], {"src_key_padding_mask": _kpm(3, 5)}, train=train)
    bool_mask = np.random.default_rng(2).random((5, 5)) > 0.7
    np.fill_diagonal(bool_mask, False)
    _compare(ours, theirs, [x], {"src_mask": bool_mask, "src_key_padding_mask": _kpm(3, 5, 1)}, train=train)


def test_encoder_layer_callable_activation_and_options():
    ours, theirs = _build("TransformerEncoderLayer", 8, 4, dim_feedforward=12, dropout=0.0,
                          activation=lambda t: t.nn.functional.silu, layer_norm_eps=1e-3, bias=False)
    assert ours.activation_relu_or_gelu == 0 and ours.self_attn.in_proj_bias is None
    _compare(ours, theirs, [randn(4, 2, 8, seed=3)], train=True)
    ours, theirs = _build("TransformerEncoderLayer", 8, 2, dim_feedforward=12, dropout=0.0,
                          activation=lambda t: t.nn.functional.gelu, batch_first=True)
    assert ours.activation_relu_or_gelu == 2
    _compare(ours, theirs, [randn(5, 8, seed=3)])  # unbatched


def test_encoder_layer_inference_without_grad():
    # PyTorch takes a fused inference path here; the numbers must agree with ours
    ours, theirs = _build("TransformerEncoderLayer", 8, 2, dim_feedforward=16, batch_first=True)
    x = randn(3, 5, 8, seed=1)
    with torch.no_grad(), disttorch.no_grad():
        _compare(ours, theirs, [x], grad=False)
        _compare(ours, theirs, [x], {"src_key_padding_mask": _kpm(3, 5)}, grad=False)


def test_encoder_layer_fully_padded_sequence():
    # PyTorch's fused inference kernel gives NaN for a sequence with every key padded, its general path 0
    ours, theirs = _build("TransformerEncoderLayer", 8, 2, dim_feedforward=16, batch_first=True)
    x = randn(3, 5, 8, seed=1)
    kpm = _kpm(3, 5)
    kpm[1] = True
    _compare(ours, theirs, [x], {"src_key_padding_mask": kpm})
    with torch.no_grad(), disttorch.no_grad():
        _compare(ours, theirs, [x], {"src_key_padding_mask": kpm}, grad=False)
    ours, theirs = _build("TransformerEncoderLayer", 9, 3, dim_feedforward=16, batch_first=True)  # odd heads
    with torch.no_grad(), disttorch.no_grad():
        _compare(ours, theirs, [randn(3, 5, 9, seed=1)], {"src_key_padding_mask": kpm}, grad=False)


@pytest.mark.parametrize("norm", [None, lambda t: t.nn.LayerNorm(8)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_stack(norm, batch_first):
    layer = lambda t: t.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first)  # noqa: E731
    ours, theirs = _build("TransformerEncoder", encoder_layer=layer, num_layers=2, norm=norm)
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    shape = (3, 6, 8) if batch_first else (6, 3, 8)
    x = randn(*shape, seed=4)
    _compare(ours, theirs, [x], train=True)
    _compare(ours, theirs, [x], {"mask": _causal(6)})  # detected as causal
    _compare(ours, theirs, [x], {"mask": _causal(6), "is_causal": True, "src_key_padding_mask": _kpm(3, 6)})


def test_encoder_stack_nested_inference_zeroes_padding():
    layer = lambda t: t.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)  # noqa: E731
    ours, theirs = _build("TransformerEncoder", encoder_layer=layer, num_layers=2, norm=lambda t: t.nn.LayerNorm(8))
    x = randn(3, 6, 8, seed=4)
    kpm = _kpm(3, 6)
    with torch.no_grad(), disttorch.no_grad():
        _compare(ours, theirs, [x], {"src_key_padding_mask": kpm}, grad=False)
        not_left_aligned = kpm.copy()
        not_left_aligned[0, 0], not_left_aligned[0, -1] = True, False
        _compare(ours, theirs, [x], {"src_key_padding_mask": not_left_aligned}, grad=False)


def test_encoder_nested_tensor_warning():
    for t in (disttorch, torch):
        layer = t.nn.TransformerEncoderLayer(8, 2, 16, batch_first=False)
        with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False "
                                             "because encoder_layer.self_attn.batch_first was not True"):
            enc = t.nn.TransformerEncoder(layer, 2)
        assert enc.use_nested_tensor is False
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


# -- decoder ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_decoder_layer(batch_first, norm_first, train):
    ours, theirs = _build("TransformerDecoderLayer", 8, 2, dim_feedforward=16, dropout=0.0, batch_first=batch_first,
                          norm_first=norm_first, activation="gelu")
    tgt = randn(*((3, 4, 8) if batch_first else (4, 3, 8)), seed=1)
    mem = randn(*((3, 6, 8) if batch_first else (6, 3, 8)), seed=2)
    _compare(ours, theirs, [tgt, mem], train=train)
    masks = {"tgt_mask": _causal(4), "tgt_is_causal": True, "tgt_key_padding_mask": _kpm(3, 4),
             "memory_key_padding_mask": _kpm(3, 6, 1)}
    _compare(ours, theirs, [tgt, mem], masks, train=train)
    mem_mask = np.random.default_rng(3).random((4, 6)) > 0.7
    mem_mask[:, 0] = False
    _compare(ours, theirs, [tgt, mem], {"tgt_mask": _causal(4), "memory_mask": mem_mask}, train=train)


@pytest.mark.parametrize("norm", [None, lambda t: t.nn.LayerNorm(8)])
def test_decoder_stack(norm):
    layer = lambda t: t.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)  # noqa: E731
    ours, theirs = _build("TransformerDecoder", decoder_layer=layer, num_layers=2, norm=norm)
    tgt, mem = randn(2, 5, 8, seed=1), randn(2, 3, 8, seed=2)
    _compare(ours, theirs, [tgt, mem], train=True)
    _compare(ours, theirs, [tgt, mem], {"tgt_mask": _causal(5), "memory_key_padding_mask": _kpm(2, 3)})


# -- full model -------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer(batch_first):
    ours, theirs = _build("Transformer", d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                          dim_feedforward=16, dropout=0.0, batch_first=batch_first)
    src = randn(*((2, 6, 8) if batch_first else (6, 2, 8)), seed=1)
    tgt = randn(*((2, 4, 8) if batch_first else (4, 2, 8)), seed=2)
    _compare(ours, theirs, [src, tgt], {"tgt_mask": _causal(4), "src_key_padding_mask": _kpm(2, 6)}, train=True)


def test_transformer_init_mask_and_errors():
    m = disttorch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    w = to_np(m.encoder.layers[0].linear1.weight)
    assert np.abs(w).max() <= (6 / (8 + 16)) ** 0.5
    ours = disttorch.nn.Transformer.generate_square_subsequent_mask(5)
    assert_close(ours, torch.nn.Transformer.generate_square_subsequent_mask(5))
    assert_close(disttorch.nn.Transformer.generate_square_subsequent_mask(3, dtype=disttorch.float64),
                 torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(disttorch.randn(3, 2, 8), disttorch.randn(3, 4, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        m(disttorch.randn(3, 2, 6), disttorch.randn(3, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        disttorch.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    for t in (disttorch, torch):
        with pytest.raises(AssertionError, match="only bool and floating types of src_key_padding_mask are supported"):
            t.nn.TransformerEncoderLayer(8, 2)(t.randn(3, 2, 8), src_key_padding_mask=t.zeros(2, 3, dtype=t.int64))


def test_layers_deepcopy_and_dropout_train():
    layer = disttorch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    clone = copy.deepcopy(layer)
    assert clone.self_attn.in_proj_weight is not layer.self_attn.in_proj_weight
    np.testing.assert_array_equal(to_np(clone.linear2.weight), to_np(layer.linear2.weight))
    x = disttorch.randn(4, 2, 8)
    layer.train()
    a, b = to_np(layer(x)), to_np(layer(x))
    assert not np.allclose(a, b)  # dropout active
    layer.eval()
    np.testing.assert_array_equal(to_np(layer(x)), to_np(layer(x)))
