"""torch.special against PyTorch: values in float32 and float64 (edges included), gradients, float64
gradcheck, out=, integer promotion."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import same_special_values as _same

import disttorch
from tests.oracle import check, gradcheck, torch

EDGES = [0.0, -0.0, 1e-8, -1e-8, 8.0, -8.0, 30.0, -30.0, 700.0, 1e300, -1e300, np.inf, -np.inf, np.nan]
GRID = [-6.5, -3.2, -1.1, -0.4, 0.2, 0.7, 1.5, 2.9, 5.0, 7.9, 8.3, 12.0, 40.0]
PROB = [0.0, 1.0, 1e-300, 1e-20, 1e-5, 0.1, 0.3, 0.5, 0.86, 0.99999, 1 - 1e-16, -0.1, 1.1, np.nan]

# name -> (inputs, float64 rtol against PyTorch)
UNARY = {
    "i0": (GRID + EDGES, 1e-13), "i0e": (GRID + EDGES, 1e-13), "i1": (GRID + EDGES, 1e-13),
    "i1e": (GRID + EDGES, 1e-13), "ndtri": (PROB, 1e-13), "erfcx": (GRID + EDGES + [-26.0, -27.0], 1e-13),
    "log_ndtr": (GRID + EDGES + [-40.0], 1e-13), "entr": (GRID + EDGES, 1e-14), "gammaln": (GRID + EDGES, 1e-12),
    "digamma": (GRID + EDGES, 1e-12), "psi": (GRID + EDGES, 1e-12), "expit": (GRID + EDGES, 1e-14),
    "exp2": (GRID + EDGES, 1e-14), "expm1": (GRID + EDGES, 1e-14), "log1p": (GRID + EDGES, 1e-14),
    "erf": (GRID + EDGES, 1e-13), "erfc": (GRID + EDGES, 1e-13), "erfinv": (PROB, 1e-13),
    "sinc": (GRID + EDGES, 1e-14), "round": (GRID + EDGES, 0), "logit": (PROB, 1e-13),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_torch(name, dtype):
    values, rtol = UNARY[name]
    x = np.array(values, dtype)
    tol = (2e-5, 1e-6) if dtype == np.float32 else (rtol, 1e-300)
    _same(getattr(disttorch.special, name)(disttorch.tensor(x)), getattr(torch.special, name)(torch.tensor(x)), *tol)


def test_ndtr_is_accurate_in_the_lower_tail():
    import mpmath

    x = np.array([-40.0, -20.0, -10.0, -8.0, -5.0, -0.3, 0.0, 0.3, 3.0, 9.0, np.inf, -np.inf])
    want = np.array([float(mpmath.ncdf(v)) for v in x])
    np.testing.assert_allclose(disttorch.special.ndtr(disttorch.tensor(x)).numpy(), want, rtol=1e-13)
    # PyTorch rounds the lower tail to 0 from about -8.3; the two agree to within float64's absolute rounding
    _same(disttorch.special.ndtr(disttorch.tensor(x)), torch.special.ndtr(torch.tensor(x)), 2e-15, 1e-15)


GRAD_GRID = np.array([-6.5, -3.2, -1.1, -0.4, 0.2, 0.7, 1.5, 2.9, 5.0, 7.9, 8.3, 12.0])
GRAD = {
    "i0": GRAD_GRID, "i0e": GRAD_GRID, "i1": GRAD_GRID, "i1e": GRAD_GRID, "ndtr": GRAD_GRID,
    "log_ndtr": GRAD_GRID, "erfcx": GRAD_GRID, "ndtri": np.array([1e-6, 0.02, 0.3, 0.5, 0.8, 0.999]),
    "entr": np.array([0.01, 0.3, 1.0, 2.5, 9.0]), "gammaln": GRAD_GRID, "expit": GRAD_GRID,
    "sinc": GRAD_GRID, "logit": np.array([0.01, 0.3, 0.7, 0.99]),
}


@pytest.mark.parametrize("name", sorted(GRAD))
def test_unary_gradients(name):
    x = GRAD[name]
    fn = lambda t, v: getattr(t.special, name)(v)  # noqa: E731
    check(fn, [x], rtol=1e-11, atol=1e-12)
    check(fn, [x.astype(np.float32)], rtol=2e-5, atol=1e-6)
    gradcheck(fn, [x[(x > 1e-3) | (x < 0)][:6]])  # away from ndtri's and entr's ends


def test_bessel_gradients_at_zero():
    for name in ("i1", "i1e", "i0", "i0e"):
        check(lambda t, v: getattr(t.special, name)(v), [np.array([0.0, -0.0, 1.0])])


def test_gradients_at_edges_match_torch():
    check(lambda t, v: t.special.entr(v), [np.array([0.0, -1.0, 2.0])])
    check(lambda t, v: t.special.log_ndtr(v), [np.array([-40.0, -10.0, 10.0, 40.0])])


XY = (np.array([0.0, 0.0, 1.5, -2.0, 3.0, 0.0]), np.array([-1.0, 0.5, 2.0, 0.25, -0.5, np.nan]))


@pytest.mark.parametrize("name", ["xlog1py", "xlogy"])
def test_xlog1py_and_xlogy(name):
    x, y = XY
    fn = lambda t, a, b: getattr(t.special, name)(a, b)  # noqa: E731
    check(fn, [x, y], grad=False)
    y = np.abs(y) if name == "xlogy" else y
    check(fn, [x[2:5], y[2:5]], rtol=1e-12, atol=1e-12)
    check(fn, [x[:5].astype(np.float32), y[:5].astype(np.float32)])
    gradcheck(fn, [x[2:5], y[2:5]])
    check(lambda t, a: getattr(t.special, name)(a, 2.0), [x])
    check(lambda t, b: getattr(t.special, name)(3, b), [np.abs(y[:5]) + 0.1])


def test_zeta():
    s = np.array([2.0, 3.0, 1.5, 50.0, 2.0, 1.0, 0.5, 2.0, 2.5, 4.0, 2.0, np.nan])
    q = np.array([1.0, 2.0, 0.5, 1.0, -1.5, 1.0, 1.0, -2.0, -1.5, 1e9, np.inf, 1.0])
    for dt in (np.float64, np.float32):
        tol = (1e-13, 0) if dt == np.float64 else (1e-5, 1e-7)
        _same(disttorch.special.zeta(disttorch.tensor(s.astype(dt)), disttorch.tensor(q.astype(dt))),
              torch.special.zeta(torch.tensor(s.astype(dt)), torch.tensor(q.astype(dt))), *tol)
    check(lambda t, a, b: t.special.zeta(a, b), [s[:4], q[:4]], grad=[False, True], rtol=1e-12, atol=1e-12)
    check(lambda t, b: t.special.zeta(3.0, b), [np.array([0.5, 2.0])], rtol=1e-12, atol=1e-12)
    a = disttorch.tensor([2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="the derivative for 'zeta' is not implemented"):
        disttorch.special.zeta(a, 2.0).sum().backward()


@pytest.mark.parametrize("p", [1, 3])
def test_multigammaln(p):
    check(lambda t, v: t.special.multigammaln(v, p), [np.array([2.5, 4.0, 11.0])], rtol=1e-11, atol=1e-11)


def test_polygamma_and_reductions():
    x = np.array([[0.3, 1.2, 4.0], [2.0, -0.5, 9.0]])
    check(lambda t, v: t.special.polygamma(3, v), [x], rtol=1e-10, atol=1e-10)
    check(lambda t, v: t.special.softmax(v, 1), [x])
    check(lambda t, v: t.special.log_softmax(v, 0, dtype=t.float32), [x], rtol=1e-6, atol=1e-6)
    check(lambda t, v: t.special.logsumexp(v, 1, keepdim=True), [x])
    check(lambda t, v: t.special.logit(v, eps=0.1), [np.array([0.05, 0.5, 0.97])])


def test_out_and_integer_promotion():
    for name in ("i0e", "i1", "ndtr", "ndtri", "log_ndtr", "erfcx", "entr", "gammaln"):
        check(lambda t, v: getattr(t.special, name)(v), [np.array([0, 1, 3], np.int64)], grad=False)
    check(lambda t, a, b: t.special.zeta(a, b), [np.array([2, 3]), np.array([1, 2])], grad=False)
    check(lambda t, a, b: t.special.xlog1py(a, b), [np.array([0, 2]), np.array([1, 3])], grad=False)
    out_o, out_t = disttorch.empty(3, dtype=disttorch.float64), torch.empty(3, dtype=torch.float64)
    x = np.array([0.5, 1.0, 9.0])
    r_o = disttorch.special.i1e(disttorch.tensor(x), out=out_o)
    r_t = torch.special.i1e(torch.tensor(x), out=out_t)
    assert r_o is out_o and r_t is out_t
    np.testing.assert_allclose(out_o.numpy(), out_t.numpy(), rtol=1e-14)


def test_aliases_are_the_torch_level_functions():
    sp = disttorch.special
    assert sp.psi is sp.digamma is disttorch.digamma
    assert sp.gammaln is disttorch.lgamma and sp.i0 is disttorch.i0 and sp.erfinv is disttorch.erfinv


@pytest.mark.parametrize("name", ["modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0"])
def test_bessel_functions_without_derivative(name):
    x = np.array(GRID + EDGES)
    for dt in (np.float64, np.float32):
        v = x.astype(dt)
        tol = (1e-13, 0) if dt == np.float64 else (2e-5, 1e-7)
        _same(getattr(disttorch.special, name)(disttorch.tensor(v)), getattr(torch.special, name)(torch.tensor(v)),
              *tol)
    assert not getattr(disttorch.special, name)(disttorch.tensor(x, requires_grad=True)).requires_grad
    check(lambda t, v: getattr(t.special, name)(v), [np.array([0, 3])], grad=False)


@pytest.mark.parametrize("name", ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"])
def test_bessel_first_and_second_kind(name):
    import mpmath

    order, kind = int(name[-1]), name[-2]
    x = np.array([1e-6, 0.3, 2.5, 4.99, 5.01, 7.3, 30.0, 300.0, 1e5] + ([-2.5, -7.3] if kind == "j" else []))
    ref = mpmath.besselj if kind == "j" else mpmath.bessely
    want = np.array([float(ref(order, v)) for v in x])
    got = getattr(disttorch.special, name)(disttorch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-15)  # cos(x - phase) rounds at 1e5
    # PyTorch's own values are good to about 1e-5 near |x| = 5
    edges = np.array([0.0, -0.0, -1.0, 3.0, 12.0, np.inf, -np.inf, np.nan])
    for dt in (np.float64, np.float32):
        # in float32 PyTorch loses x - phase at 1e5; we evaluate in float64
        v = np.concatenate([x if dt == np.float64 else x[np.abs(x) < 1e3], edges]).astype(dt)
        _same(getattr(disttorch.special, name)(disttorch.tensor(v)), getattr(torch.special, name)(torch.tensor(v)),
              2e-5, 1e-7)
    t = disttorch.tensor(x, requires_grad=True)
    assert not getattr(disttorch.special, name)(t).requires_grad  # PyTorch defines no derivative
    check(lambda t, v: getattr(t.special, name)(v), [np.array([1, 3])], grad=False)
