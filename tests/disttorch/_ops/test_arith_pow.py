"""pow with a small whole Python-number exponent (computed by multiplication): values, gradients and the
second derivative against PyTorch, on negative bases and zeros too."""
import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [2, 3, 4, -1, -2, -3, 2.0, 3.0, -2.0, 0.5])
@pytest.mark.parametrize("how", ["function", "operator", "method"])
def test_small_whole_exponents_match_pytorch(exponent, dtype, how):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7)).astype(dtype) * 2
    if exponent > 0:
        x[0, :3] = 0.0  # exact zeros: 0 ** n and its gradient
    results = []
    for lib in (disttorch, torch):
        t = lib.tensor(x, requires_grad=True)
        y = {"function": lambda: lib.pow(t, exponent), "operator": lambda: t ** exponent,
             "method": lambda: t.pow(exponent)}[how]()
        (g,) = lib.autograd.grad(y.sum(), t, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), t)
        results.append((y.detach().numpy(), g.detach().numpy(), gg.numpy(), y.dtype, y.grad_fn.name()))
    (yd, gd, ggd, dtd, named), (yt, gt, ggt, dtt, namet) = results
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(yd, yt, **tol)
    np.testing.assert_allclose(gd, gt, **tol)
    np.testing.assert_allclose(ggd, ggt, **tol)
    assert str(dtd).split(".")[-1] == str(dtt).split(".")[-1] and named == namet == "PowBackward0"


@pytest.mark.parametrize("exponent", [3, -2])
def test_gradcheck_small_whole_exponents(exponent):
    x = disttorch.tensor(np.random.default_rng(1).uniform(0.5, 2.0, (4, 3)) * np.array([1, -1, 1]),
                         dtype=disttorch.float64, requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda t: t ** exponent, (x,))
    assert disttorch.autograd.gradgradcheck(lambda t: t ** exponent, (x,))


def test_integer_base_keeps_integer_power():
    for lib in (disttorch, torch):
        r = lib.tensor([-3, 2, 5]) ** 3
        assert r.tolist() == [-27, 8, 125] and str(r.dtype).endswith("int64")
