"""Lazy layers against PyTorch: placeholders before the first forward, the shapes and class after it, the
forward values and gradients once the same weights are copied in, and the errors on placeholders."""
import warnings

import numpy as np
import pytest
from oracle import randn

import disttorch

torch = pytest.importorskip("torch")

CASES = [
    ("LazyLinear", (3,), {}, (2, 5)),
    ("LazyLinear", (4,), {"bias": False}, (2, 3, 6)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 7)),
    ("LazyConv1d", (4, 3), {"groups": 2}, (4, 7)),
    ("LazyConv2d", (3, 2), {"stride": 2}, (2, 4, 6, 6)),
    ("LazyConv3d", (2, 2), {}, (1, 2, 4, 4, 4)),
    ("LazyConvTranspose1d", (3, 2), {"stride": 2}, (2, 4, 5)),
    ("LazyConvTranspose2d", (2, 3), {"groups": 2, "bias": False}, (1, 4, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (6, 3)),
    ("LazyBatchNorm2d", (), {"affine": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {"momentum": 0.3}, (2, 2, 3, 3, 3)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {}, (1, 2, 3, 3, 3)),
]


def _build(mod, name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(mod.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs,shape", CASES)
def test_lazy_layer(name, args, kwargs, shape):
    ours, theirs = _build(disttorch, name, args, kwargs), _build(torch, name, args, kwargs)
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    held = dict(ours.named_parameters())
    for _, p in held.items():
        assert isinstance(p, disttorch.nn.UninitializedParameter)
    x = randn(*shape)
    ours(disttorch.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__
    assert repr(ours) == repr(theirs)
    for n, p in ours.named_parameters():
        assert held[n] is p and type(p) is disttorch.nn.Parameter
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o) == list(sd_t)
    for k in sd_t:
        assert tuple(sd_o[k].shape) == tuple(sd_t[k].shape), k
    # same weights in, same values and gradients out
    with torch.no_grad():
        for k, v in sd_t.items():
            if v.is_floating_point():
                v.copy_(torch.randn_like(v) * 0.5 + (1.0 if "var" in k else 0.0))
    ours.load_state_dict({k: disttorch.tensor(v.numpy()) for k, v in sd_t.items()})
    xo, xt = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = randn(*yt.shape, seed=3)
    yo.backward(disttorch.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(po.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=n)


def test_placeholders():
    p, tp = disttorch.nn.UninitializedParameter(), torch.nn.UninitializedParameter()
    assert repr(p) == repr(tp) == "<UninitializedParameter>"
    assert p.requires_grad and tp.requires_grad
    with pytest.raises(RuntimeError) as ours:
        _ = p.shape
    with pytest.raises(RuntimeError) as theirs:
        _ = tp.shape
    assert str(ours.value) == str(theirs.value)
    p.materialize((2, 3), dtype=disttorch.float64)
    tp.materialize((2, 3), dtype=torch.float64)
    assert type(p) is disttorch.nn.Parameter and tuple(p.shape) == tuple(tp.shape) and str(p.dtype) == str(tp.dtype)
    b, tb = disttorch.nn.UninitializedBuffer(), torch.nn.UninitializedBuffer()
    assert repr(b) == repr(tb)
    b.materialize(4)
    tb.materialize(4)
    assert type(b) is disttorch.Tensor and tuple(b.shape) == tuple(tb.shape) and not b.requires_grad


def test_lazy_repr_before_forward():
    for name, args, kwargs, _ in CASES[:3] + CASES[9:10]:
        assert repr(_build(disttorch, name, args, kwargs)) == repr(_build(torch, name, args, kwargs))


def test_lazy_instance_norm_unbatched_reads_dim_1():
    x = randn(3, 6)
    with pytest.raises(ValueError) as theirs:
        _build(torch, "LazyInstanceNorm1d", (), {})(torch.tensor(x))
    with pytest.raises(ValueError) as ours:
        _build(disttorch, "LazyInstanceNorm1d", (), {})(disttorch.tensor(x))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("make", [lambda nn: nn.LazyLinear(3), lambda nn: nn.LazyConv2d(4, 3),
                                  lambda nn: nn.LazyConvTranspose1d(2, 3), lambda nn: nn.LazyBatchNorm1d()])
def test_building_a_lazy_layer_warns_as_pytorch(make):
    """PyTorch 2.13's lazy layers warn of nothing when built (no 'heavy development' note, and no 'zero-element
    tensors' note: nothing is drawn while the input size is unknown)."""
    seen = []
    for lib in (disttorch, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            make(lib.nn)
        seen.append(sorted(str(w.message) for w in caught))
    assert seen[0] == seen[1]
