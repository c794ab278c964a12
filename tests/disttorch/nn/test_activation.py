"""Activation functions and layers against PyTorch: values, gradients, node names, in-place forms,
higher-order gradients, module reprs and error messages."""
import warnings

import numpy as np
import pytest
from oracle import assert_close, check, randn

import disttorch

torch = pytest.importorskip("torch")

# (name, fn(F, x)); the inputs are spread out (x3) so that every branch of each function is hit
ACTS = [
    ("relu", lambda F, x: F.relu(x)),
    ("relu6", lambda F, x: F.relu6(x * 3)),
    ("leaky_relu", lambda F, x: F.leaky_relu(x)),
    ("leaky_relu_slope", lambda F, x: F.leaky_relu(x, 0.2)),
    ("elu", lambda F, x: F.elu(x, 0.7)),
    ("selu", lambda F, x: F.selu(x)),
    ("celu", lambda F, x: F.celu(x, 1.3)),
    ("gelu", lambda F, x: F.gelu(x * 3)),
    ("gelu_tanh", lambda F, x: F.gelu(x * 3, approximate="tanh")),
    ("silu", lambda F, x: F.silu(x * 3)),
    ("mish", lambda F, x: F.mish(x * 3)),
    ("softplus", lambda F, x: F.softplus(x * 3)),
    ("softplus_beta", lambda F, x: F.softplus(x * 3, beta=2.0, threshold=4.0)),
    ("softsign", lambda F, x: F.softsign(x)),
    ("tanh", lambda F, x: F.tanh(x)),
    ("sigmoid", lambda F, x: F.sigmoid(x)),
    ("hardtanh", lambda F, x: F.hardtanh(x * 2)),
    ("hardtanh_range", lambda F, x: F.hardtanh(x * 2, -0.5, 1.5)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x * 4)),
    ("hardswish", lambda F, x: F.hardswish(x * 4)),
    ("logsigmoid", lambda F, x: F.logsigmoid(x * 5)),
    ("threshold", lambda F, x: F.threshold(x, 0.1, 20.0)),
    ("tanhshrink", lambda F, x: F.tanhshrink(x)),
    ("softshrink", lambda F, x: F.softshrink(x)),
    ("hardshrink", lambda F, x: F.hardshrink(x, 0.3)),
    ("rrelu_eval", lambda F, x: F.rrelu(x)),
    ("softmax", lambda F, x: F.softmax(x, -1)),
    ("log_softmax", lambda F, x: F.log_softmax(x, 0)),
    ("softmin", lambda F, x: F.softmin(x, -1)),
]
SHAPES = [(), (7,), (3, 4), (2, 3, 4)]


def _fn(fn):
    return lambda t, x: fn(t.nn.functional, x)


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_matches_torch(name, fn, shape, dtype, device):
    check(_fn(fn), [randn(*shape, seed=3, dtype=dtype)], device=device)


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
def test_node_name_matches_torch(name, fn):
    x = randn(3, 4)
    ours = fn(disttorch.nn.functional, disttorch.tensor(x, requires_grad=True))
    theirs = fn(torch.nn.functional, torch.tensor(x, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
def test_gradcheck_and_second_order(name, fn):
    x = randn(3, 4, seed=5, dtype=np.float64)
    x = x + 0.05 * np.sign(x)  # keep away from the kinks at 0
    xd = disttorch.tensor(x, requires_grad=True)
    f = _fn(fn)
    assert disttorch.autograd.gradcheck(lambda a: f(disttorch, a), (xd,))
    # second derivative (vector-Hessian product) against torch
    xt = torch.tensor(x, requires_grad=True)
    w = randn(3, 4, seed=6, dtype=np.float64)
    outs = []
    for t, xx in ((disttorch, xd), (torch, xt)):
        (g,) = t.autograd.grad((f(t, xx) * t.tensor(w)).sum(), xx, create_graph=True)
        if not g.requires_grad:  # piecewise-linear functions: the second derivative is 0
            outs.append(np.zeros_like(x))
            continue
        try:
            (h,) = t.autograd.grad((g * g).sum(), xx, allow_unused=True)
        except RuntimeError as e:  # torch has no double backward for some (piecewise-linear) functions
            assert t is torch and "not implemented" in str(e)
            h = None
        outs.append(np.zeros_like(x) if h is None else h.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-7, atol=1e-9)


INPLACE = [  # (name, fn(F, x), input scale)
    ("relu", lambda F, x: F.relu(x, inplace=True), 1),
    ("relu_", lambda F, x: F.relu_(x), 1),
    ("relu6", lambda F, x: F.relu6(x, inplace=True), 3),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1, inplace=True), 1),
    ("leaky_relu_", lambda F, x: F.leaky_relu_(x, 0.1), 1),
    ("elu", lambda F, x: F.elu(x, inplace=True), 1),
    ("elu_", lambda F, x: F.elu_(x), 1),
    ("selu", lambda F, x: F.selu(x, inplace=True), 1),
    ("celu", lambda F, x: F.celu(x, 2.0, inplace=True), 1),
    ("silu", lambda F, x: F.silu(x, inplace=True), 1),
    ("mish", lambda F, x: F.mish(x, inplace=True), 1),
    ("hardtanh", lambda F, x: F.hardtanh(x, inplace=True), 2),
    ("hardtanh_", lambda F, x: F.hardtanh_(x), 2),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x, inplace=True), 4),
    ("hardswish", lambda F, x: F.hardswish(x, inplace=True), 4),
    ("threshold", lambda F, x: F.threshold(x, 0.2, -1.0, inplace=True), 1),
    ("threshold_", lambda F, x: F.threshold_(x, 0.2, -1.0), 1),
    ("rrelu_eval", lambda F, x: F.rrelu(x, inplace=True), 1),
]


@pytest.mark.parametrize("name,fn,scale", INPLACE, ids=[a[0] for a in INPLACE])
def test_inplace_forms(name, fn, scale):
    # on a non-leaf, with autograd: the same values and gradients as torch
    check(lambda t, x: fn(t.nn.functional, x * scale), [randn(3, 5, seed=8)])
    # without autograd: written into the input, which is returned
    x = randn(3, 5, seed=8) * scale
    y = disttorch.tensor(x)
    v = y._version
    assert fn(disttorch.nn.functional, y) is y and y._version > v
    assert_close(y, fn(torch.nn.functional, torch.tensor(x)))


def test_inplace_on_leaf_requiring_grad_raises():
    x = disttorch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        disttorch.nn.functional.elu(x, inplace=True)


def test_inplace_without_grad_writes_in_place():
    x = disttorch.tensor([-1.0, 0.5, 2.0])
    out = disttorch.nn.functional.leaky_relu(x, 0.5, inplace=True)
    assert out is x
    np.testing.assert_allclose(x.numpy(), [-0.5, 0.5, 2.0])


@pytest.mark.parametrize("wshape,xshape", [((1,), (4, 3, 5)), ((3,), (4, 3, 5)), ((3,), (2, 3)), ((1,), (5,)),
                                           ((1,), ()), ((3,), (2, 3, 2, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu(wshape, xshape, dtype):
    w = np.abs(randn(*wshape, seed=2, dtype=dtype)) * 0.5
    check(lambda t, x, w: t.nn.functional.prelu(x, w), [randn(*xshape, seed=1, dtype=dtype), w])


def test_prelu_errors_and_gradcheck():
    F = disttorch.nn.functional
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size. Found parameter "
                                           "numbers = 4 and channel size = 3."):
        F.prelu(disttorch.randn(2, 3), disttorch.ones(4))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 5 and channel size = 1."):
        F.prelu(disttorch.randn(5), disttorch.ones(5))
    x = disttorch.tensor(randn(2, 3, 4, dtype=np.float64), requires_grad=True)
    w = disttorch.tensor([0.1, 0.2, 0.3], dtype=disttorch.float64, requires_grad=True)
    assert disttorch.autograd.gradcheck(F.prelu, (x, w))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu(dim):
    check(lambda t, x: t.nn.functional.glu(x, dim), [randn(4, 6, 2, seed=4)])
    x = disttorch.tensor(randn(4, 6, 2, dtype=np.float64), requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda a: disttorch.nn.functional.glu(a, dim), (x,))


def test_activation_errors():
    F = disttorch.nn.functional
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        F.glu(disttorch.randn(2, 5), 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(disttorch.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"lambda must be greater or equal to 0, but found to be -1.0."):
        F.softshrink(disttorch.randn(3), -1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(disttorch.randn(3), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(disttorch.randn(3), approximate="fast")
    for f in (lambda t: t.nn.functional.elu(t.tensor([1, 2])), lambda t: t.nn.functional.gelu(t.tensor([1, 2]))):
        with pytest.raises(NotImplementedError) as theirs:
            f(torch)
        with pytest.raises(NotImplementedError, match=str(theirs.value).replace('"', '.')):
            f(disttorch)


def test_softmax_implicit_dim_warns_like_torch():
    for ndim in (1, 2, 3, 4):
        x = randn(*([2] * ndim))
        for name in ("softmax", "log_softmax", "softmin"):
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                ours = getattr(disttorch.nn.functional, name)(disttorch.tensor(x))
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                theirs = getattr(torch.nn.functional, name)(torch.tensor(x))
            assert_close(ours, theirs)
            assert any(f"Implicit dimension choice for {name} has been deprecated" in str(r.message) for r in rec)
            assert rec[0].filename == __file__


def test_softmax_dtype_argument():
    x = randn(3, 4)
    for name in ("softmax", "log_softmax", "softmin"):
        check(lambda t, a: getattr(t.nn.functional, name)(a, 1, dtype=t.float64), [x])


# -- modules ----------------------------------------------------------------------------------------------
MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("ReLU6", (), {"inplace": True}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("ELU", (0.5, True), {}),
    ("SELU", (), {}), ("CELU", (1.5,), {}), ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}),
    ("Mish", (), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}), ("Softsign", (), {}), ("Tanh", (), {}),
    ("Sigmoid", (), {}), ("Hardtanh", (), {}), ("Hardtanh", (-2, 3, True), {}), ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}), ("LogSigmoid", (), {}), ("GLU", (), {}), ("GLU", (1,), {}), ("Softmax", (1,), {}),
    ("LogSoftmax", (1,), {}), ("Softmin", (0,), {}), ("Softmax2d", (), {}), ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, 20, True), {}), ("Tanhshrink", (), {}), ("Softshrink", (), {}), ("Hardshrink", (0.3,), {}),
    ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("PReLU", (), {}), ("PReLU", (4, 0.1), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=[f"{m[0]}{m[1]}" for m in MODULES])
def test_module_matches_torch(name, args, kwargs):
    ours = getattr(disttorch.nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours.eval()
    theirs.eval()
    x = randn(3, 4, 2, 2, seed=9)
    xo = disttorch.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo * 1), theirs(xt * 1)
    assert_close(yo, yt)
    w = randn(*yt.shape, seed=10)
    (yo * disttorch.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xo.grad, xt.grad)
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        assert_close(p1.grad, p2.grad)


def test_softmax_module_without_dim_warns_at_caller():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        disttorch.nn.Softmax()(disttorch.randn(2, 3))
    assert "Implicit dimension choice for softmax" in str(rec[0].message)


def test_rrelu_training_slopes_in_range():
    disttorch.manual_seed(0)
    x = -disttorch.rand(1000) - 0.1
    y = disttorch.nn.RReLU(0.1, 0.3)(x)
    ratio = (y / x).numpy()
    assert ratio.min() >= 0.1 and ratio.max() <= 0.3 and ratio.std() > 0.03
    pos = disttorch.rand(10)
    assert_close(disttorch.nn.RReLU()(pos), torch.tensor(pos.numpy()))


def test_softmax2d_rejects_2d():
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        disttorch.nn.Softmax2d()(disttorch.randn(2, 3))
