"""nn.init: gains and fans against PyTorch, distributions checked statistically on large tensors."""
import math

import numpy as np
import pytest

import disttorch
from disttorch.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (5, 3, 2), (6, 4, 3, 2), (2, 3, 1, 1, 5)], ids=str)
def test_fans(shape):
    ours, theirs = disttorch.empty(*shape), torch.empty(*shape)
    assert init._calculate_fan_in_and_fan_out(ours) == torch.nn.init._calculate_fan_in_and_fan_out(theirs)
    for mode in ("fan_in", "fan_out"):
        assert init._calculate_correct_fan(ours, mode) == torch.nn.init._calculate_correct_fan(theirs, mode)


def test_fan_errors():
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2"):
        init.xavier_uniform_(disttorch.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported, please use one of fan_in, fan_out"):
        init.kaiming_uniform_(disttorch.empty(3, 4), mode="fan_avg")


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a, a.mean(), a.std()


def _check_uniform(t, bound):
    a, mean, std = _stats(t)
    assert a.min() >= -bound and a.max() <= bound
    assert a.max() > 0.99 * bound and a.min() < -0.99 * bound
    assert abs(mean) < 0.02 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.02 * bound / math.sqrt(3)


def _check_normal(t, want_std, mean=0.0):
    a, m, std = _stats(t)
    assert abs(m - mean) < 0.02 * want_std
    assert abs(std - want_std) < 0.02 * want_std


def test_uniform_and_normal():
    disttorch.manual_seed(0)
    t = init.uniform_(disttorch.empty(200, 300), -0.5, 1.5)
    a = t.numpy()
    assert a.min() >= -0.5 and a.max() < 1.5 and abs(a.mean() - 0.5) < 0.01
    _check_normal(init.normal_(disttorch.empty(200, 300), 1.0, 0.3), 0.3, mean=1.0)


def test_generator_argument_is_reproducible():
    g1, g2 = disttorch.Generator().manual_seed(5), disttorch.Generator().manual_seed(5)
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.trunc_normal_,
               init.orthogonal_):
        a = fn(disttorch.empty(20, 30), generator=g1).numpy()
        b = fn(disttorch.empty(20, 30), generator=g2).numpy()
        np.testing.assert_array_equal(a, b)


def test_constant_ones_zeros_eye_match_torch():
    for fn, args in ((init.constant_, (0.3,)), (init.ones_, ()), (init.zeros_, ())):
        ours = fn(disttorch.empty(3, 4, dtype=disttorch.float64), *args)
        theirs = getattr(torch.nn.init, fn.__name__)(torch.empty(3, 4, dtype=torch.float64), *args)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for shape in ((3, 5), (4, 2)):
        np.testing.assert_array_equal(init.eye_(disttorch.empty(*shape)).numpy(),
                                      torch.nn.init.eye_(torch.empty(*shape)).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(disttorch.empty(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 3, 1, 2), 1), ((4, 2, 5), 2)],
                         ids=str)
def test_dirac_matches_torch(shape, groups):
    np.testing.assert_array_equal(init.dirac_(disttorch.empty(*shape), groups).numpy(),
                                  torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())


def test_dirac_errors():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(disttorch.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(disttorch.empty(3, 3, 3), 2)


def test_init_keeps_identity_and_grad_flags_and_records_no_graph():
    w = disttorch.nn.Parameter(disttorch.empty(30, 20))
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
               init.trunc_normal_, init.orthogonal_, init.ones_, init.zeros_, init.eye_, init.uniform_, init.normal_):
        assert fn(w) is w
        assert w.requires_grad and w.is_leaf and w.grad_fn is None


@pytest.mark.parametrize("shape", [(300, 400), (64, 32, 3, 3)], ids=str)
def test_xavier(shape):
    disttorch.manual_seed(1)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(disttorch.empty(*shape))
    std = 1.5 * math.sqrt(2.0 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform_(disttorch.empty(*shape), gain=1.5), std * math.sqrt(3))
    _check_normal(init.xavier_normal_(disttorch.empty(*shape), gain=1.5), std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
                                            ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    disttorch.manual_seed(2)
    shape = (128, 64, 3, 3)
    fan = init._calculate_correct_fan(disttorch.empty(*shape), mode)
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _check_uniform(init.kaiming_uniform_(disttorch.empty(*shape), a, mode, nonlinearity), std * math.sqrt(3))
    _check_normal(init.kaiming_normal_(disttorch.empty(*shape), a, mode, nonlinearity), std)


def test_kaiming_zero_element_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(disttorch.empty(0, 3))


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0), (0.0, 0.02, -0.04, 0.04),
                                          (1.0, 2.0, 0.0, 10.0)])
def test_trunc_normal(mean, std, a, b):
    disttorch.manual_seed(3)
    t = init.trunc_normal_(disttorch.empty(400, 500, dtype=disttorch.float64), mean, std, a, b)
    x = t.numpy()
    assert x.min() >= a and x.max() <= b
    # the mean and std of a truncated normal
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2
    Z = cdf(beta) - cdf(alpha)
    want_mean = mean + (pdf(alpha) - pdf(beta)) / Z * std
    want_var = std**2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2)
    assert abs(x.mean() - want_mean) < 0.01 * std
    assert abs(x.std() - math.sqrt(want_var)) < 0.01 * std


@pytest.mark.parametrize("shape", [(20, 30), (30, 20), (16, 4, 3, 3), (5, 5)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    t = init.orthogonal_(disttorch.empty(*shape), gain)
    m = t.numpy().reshape(shape[0], -1).astype(np.float64) / gain
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(disttorch.empty(4))


def test_sparse():
    disttorch.manual_seed(4)
    t = init.sparse_(disttorch.empty(50, 40), 0.3, std=0.5)
    x = t.numpy()
    assert ((x == 0).sum(axis=0) >= 15).all()
    nz = x[x != 0]
    assert abs(nz.std() - 0.5) < 0.05


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match=r"`nn.init.xavier_uniform` is now deprecated in favor of "
                                           r"`nn.init.xavier_uniform_`"):
        init.xavier_uniform(disttorch.empty(3, 4))
