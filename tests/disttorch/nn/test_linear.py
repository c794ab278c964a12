"""nn.Linear / F.linear against PyTorch, and the default initialisation's distribution."""
import math

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("in_shape", [(3,), (4, 3), (2, 5, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(in_shape, bias):
    ours = disttorch.nn.Linear(3, 2, bias=bias)
    theirs = torch.nn.Linear(3, 2, bias=bias)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    x = randn(*in_shape, seed=1)
    xo = disttorch.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert_close(yo, yt)
    assert yo.grad_fn.name() == yt.grad_fn.name()
    w = randn(*yt.shape, seed=2)
    (yo * disttorch.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xo.grad, xt.grad)
    assert_close(ours.weight.grad, theirs.weight.grad)
    if bias:
        assert_close(ours.bias.grad, theirs.bias.grad)


def test_linear_gradcheck():
    x = disttorch.tensor(randn(4, 3, dtype=np.float64), requires_grad=True)
    w = disttorch.tensor(randn(2, 3, seed=3, dtype=np.float64), requires_grad=True)
    b = disttorch.tensor(randn(2, seed=4, dtype=np.float64), requires_grad=True)
    assert disttorch.autograd.gradcheck(disttorch.nn.functional.linear, (x, w, b))


def test_linear_shape_error_names_both_shapes():
    layer = disttorch.nn.Linear(3, 5)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x4 and 3x5\)"):
        layer(disttorch.ones(2, 4))


def test_default_init_distribution():
    disttorch.manual_seed(0)
    layer = disttorch.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt(5)) and the bias both give U(-1/sqrt(fan_in), ...)
    w = layer.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    b = layer.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound


def test_repr_and_parameters():
    layer = disttorch.nn.Linear(3, 1)
    assert repr(layer) == repr(torch.nn.Linear(3, 1))
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight", "bias"]
    assert all(p.requires_grad and p.is_leaf for p in layer.parameters())


def test_quickstart_output_looks_like_torch():
    out = disttorch.nn.Linear(3, 1)(disttorch.tensor([1.0, 2.0, 3.0]))
    text = repr(out)
    assert text.startswith("tensor([") and text.endswith("], grad_fn=<ViewBackward0>)")


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(batch, bias):
    ours = disttorch.nn.Bilinear(3, 4, 2, bias=bias)
    theirs = torch.nn.Bilinear(3, 4, 2, bias=bias)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    x1, x2 = randn(*batch, 3, seed=5), randn(*batch, 4, seed=6)
    xo1, xo2 = disttorch.tensor(x1, requires_grad=True), disttorch.tensor(x2, requires_grad=True)
    xt1, xt2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    yo, yt = ours(xo1, xo2), theirs(xt1, xt2)
    assert_close(yo, yt)
    w = randn(*yt.shape, seed=7)
    (yo * disttorch.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for a, b in ((xo1.grad, xt1.grad), (xo2.grad, xt2.grad), (ours.weight.grad, theirs.weight.grad)):
        assert_close(a, b)
    if bias:
        assert_close(ours.bias.grad, theirs.bias.grad)
    assert repr(ours) == repr(theirs)


def test_bilinear_gradcheck_and_init():
    args = [disttorch.tensor(randn(*s, seed=i, dtype=np.float64), requires_grad=True)
            for i, s in enumerate([(2, 3), (2, 4), (5, 3, 4), (5,)])]
    assert disttorch.autograd.gradcheck(disttorch.nn.functional.bilinear, args)
    w = disttorch.nn.Bilinear(100, 50, 40).weight.detach().numpy()
    assert w.min() >= -0.1 and w.max() <= 0.1 and abs(w.std() - 0.1 / math.sqrt(3)) < 0.003
