"""The gamma family (lgamma, digamma, polygamma, mvlgamma) against PyTorch: values in float32 and float64
(poles, negative non-integers, large arguments, inf and nan), gradients, gradcheck, in-place forms."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import same_special_values as _same

import disttorch
from tests.oracle import check, gradcheck, same_error, torch

EDGES = [0.0, -0.0, -1.0, -2.0, -2.5, -0.3, 0.3, 1.0, 2.0, 1e-8, 1e300, -1e300, np.inf, -np.inf, np.nan]
SMOOTH = [0.1, 0.5, 0.9, 1.3, 1.4616, 2.2, 3.7, 7.9, 8.1, 12.5, 40.0, 1e4, -0.4, -1.5, -2.7, -10.3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_values_and_edges_match_torch(name, dtype):
    x = np.array(SMOOTH + EDGES, dtype)
    tol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-13)
    _same(getattr(disttorch, name)(disttorch.tensor(x)), getattr(torch, name)(torch.tensor(x)), *tol)


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_gradients(name):
    x = np.array(SMOOTH, np.float32)
    check(lambda t, v: getattr(t, name)(v), [x], rtol=1e-4, atol=1e-5)
    # digamma's gradient is trigamma, which PyTorch computes to about 1e-9 (ours: test_trigamma_accuracy)
    tol = 1e-10 if name == "lgamma" else 1e-8
    check(lambda t, v: getattr(t, name)(v), [x.astype(np.float64)], rtol=tol, atol=tol)
    gradcheck(lambda t, v: getattr(t, name)(v), [np.array([0.3, 1.7, 4.2, -0.6, 13.0])])


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma(n):
    poles = [0.0, -np.inf, np.nan, 1e6] + ([] if n == 1 else [-2.0])  # trigamma's poles: test_trigamma_accuracy
    x = np.array(SMOOTH + poles, np.float64)
    tol = 1e-8 if n == 1 else 1e-10  # PyTorch's trigamma is good to about 1e-9
    _same(disttorch.polygamma(n, disttorch.tensor(x)), torch.polygamma(n, torch.tensor(x)), tol, 1e-12)
    _same(disttorch.polygamma(n, disttorch.tensor(x.astype(np.float32))),
          torch.polygamma(n, torch.tensor(x.astype(np.float32))), 1e-4, 1e-6)
    check(lambda t, v: t.polygamma(n, v), [np.array(SMOOTH[:12])], rtol=1e-8, atol=1e-10)
    gradcheck(lambda t, v: t.polygamma(n, v), [np.array([0.4, 1.3, 3.1])])


def test_polygamma_zero_is_digamma_and_negative_n_is_refused():
    x = np.array([0.5, 2.0])
    check(lambda t, v: t.polygamma(0, v), [x])
    same_error(lambda t, v: t.polygamma(-1, v), [x])


def test_trigamma_accuracy_and_poles():
    import mpmath

    x = np.array([0.25, 1e-3, 0.49, 2.0, 30.0, -0.5, -3.7, 250.5])
    want = np.array([float(mpmath.polygamma(1, v)) for v in x])
    got = disttorch.polygamma(1, disttorch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13)
    # at the poles the true value is +inf (PyTorch's trigamma gives a huge finite number there)
    assert np.isinf(disttorch.polygamma(1, disttorch.tensor([-1.0, -3.0])).numpy()).all()


def test_lgamma_accuracy_against_mpmath():
    import mpmath

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-30, 30, 400), rng.uniform(0.5, 2.5, 100), [1e-200, 1e15, 1 + 1e-9]])
    want = np.array([float(mpmath.log(abs(mpmath.gamma(v)))) for v in x])
    got = disttorch.lgamma(disttorch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("p", [1, 2, 5])
def test_mvlgamma(p):
    x = np.array([2.6, 3.0, 4.5, 10.0], np.float64)
    check(lambda t, v: t.mvlgamma(v, p), [x], rtol=1e-10, atol=1e-10)
    check(lambda t, v: v.mvlgamma(p), [x.astype(np.float32)], rtol=1e-5, atol=1e-5)
    gradcheck(lambda t, v: t.mvlgamma(v, p), [x])
    check(lambda t, v: t.special.multigammaln(v, p), [x], fn_torch=lambda t, v: t.special.multigammaln(v, p))


def test_mvlgamma_below_its_domain_and_errors():
    check(lambda t, v: t.mvlgamma(v, 3), [np.array([0.9, 3.0, -0.3])], grad=False, rtol=1e-10, atol=1e-10)
    same_error(lambda t, v: t.mvlgamma(v, 0), [np.array([2.0])])


def test_integer_inputs_promote_to_the_default_float():
    for fn in (lambda t, v: t.lgamma(v), lambda t, v: t.digamma(v), lambda t, v: t.polygamma(2, v),
               lambda t, v: t.mvlgamma(v, 2), lambda t, v: t.i0(v)):
        check(fn, [np.array([1, 2, 7], np.int64)], grad=False)


@pytest.mark.parametrize("call", ["lgamma_()", "digamma_()", "polygamma_(2)", "mvlgamma_(2)", "i0_()"])
def test_inplace_forms(call):
    x = np.array([1.7, 2.5, 6.0], np.float64)
    ours, theirs = disttorch.tensor(x), torch.tensor(x)
    v0 = ours._version
    r_o, r_t = eval("ours." + call), eval("theirs." + call)
    assert r_o is ours and r_t is theirs and ours._version == v0 + 1
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    # through autograd on a non-leaf
    def run(t):
        a = t.tensor(x, requires_grad=True)
        b = a * 1.0
        eval("b." + call)
        b.sum().backward()
        return a.grad
    np.testing.assert_allclose(run(disttorch).numpy(), run(torch).numpy(), rtol=1e-8)  # torch's trigamma
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        eval("disttorch.tensor(x, requires_grad=True)." + call)


def test_double_backward():
    check(lambda t, v: t.autograd.grad(t.lgamma(v).sum(), v, create_graph=True)[0], [np.array([0.7, 2.3, 5.0])])


INF, NAN = np.inf, np.nan
IG_A = np.array([0.0, 0.0, 1.0, -1.0, 1.0, INF, INF, 2.0, NAN, 1.0, 0.5, INF, 0.3, 2.5, 7.0, 30.0, 1e3, 0.01])
IG_X = np.array([0.0, 1.0, 0.0, 1.0, -1.0, 1.0, INF, INF, 1.0, NAN, 0.0, 0.0, 0.2, 3.0, 2.0, 45.0, 990.0, 5.0])


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_values(name):
    for dt, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):  # PyTorch's own float64 values are good to ~1e-10
        a, x = IG_A.astype(dt), IG_X.astype(dt)
        ours = getattr(disttorch, name)(disttorch.tensor(a), disttorch.tensor(x))
        _same(ours, getattr(torch, name)(torch.tensor(a), torch.tensor(x)), tol, 1e-12)
    special = {"igamma": "gammainc", "igammac": "gammaincc"}[name]
    check(lambda t, a, x: getattr(t.special, special)(a, x), [IG_A[12:], IG_X[12:]], grad=False, rtol=1e-9)


def test_incomplete_gamma_accuracy_against_mpmath():
    import mpmath

    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(0.01, 25, 200), [1e4, 1e4, 0.5, 60.0]])
    x = np.concatenate([rng.uniform(0.01, 50, 200), [9.9e3, 1.02e4, 1e-10, 140.0]])
    p = disttorch.igamma(disttorch.tensor(a), disttorch.tensor(x)).numpy()
    q = disttorch.igammac(disttorch.tensor(a), disttorch.tensor(x)).numpy()
    want_p = np.array([float(mpmath.gammainc(u, 0, v, regularized=True)) for u, v in zip(a, x)])
    want_q = np.array([float(mpmath.gammainc(u, v, mpmath.inf, regularized=True)) for u, v in zip(a, x)])
    np.testing.assert_allclose(p, want_p, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(q, want_q, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_gradients_and_forms(name):
    a, x = np.array([0.5, 2.0, 7.5]), np.array([0.3, 2.5, 4.0])
    check(lambda t, u, v: getattr(t, name)(u, v), [a, x], grad=[False, True], rtol=1e-9, atol=1e-10)
    gradcheck(lambda t, v: getattr(t, name)(t.tensor(a), v), [x])
    with pytest.raises(RuntimeError, match=f"the derivative for '{name}: input' is not implemented"):
        getattr(disttorch, name)(disttorch.tensor(a, requires_grad=True), disttorch.tensor(x)).sum().backward()
    check(lambda t, u, v: getattr(u, name)(v), [a, x], grad=False)
    check(lambda t, u, v: getattr(u.clone(), name + "_")(v), [a, x], grad=False)
    same_error(lambda t, u, v: getattr(t, name)(u, v), [np.array([1, 2]), np.array([1, 3])])
