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
