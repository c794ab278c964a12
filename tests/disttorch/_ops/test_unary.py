"""Elementwise unary ops (and lerp / addcmul / addcdiv / xlogy / heaviside) against PyTorch: values,
dtypes, gradients, special points, integer inputs, in-place forms and errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

SHAPES = [(), (3,), (2, 3)]
DTYPES = [np.float32, np.float64]


def _pos(x):
    return np.abs(x) + 0.1


def _unit(x):
    return np.tanh(x) * 0.9


# name -> (input domain, differentiable)
UNARY = {
    "exp": (None, True), "exp2": (None, True), "expm1": (None, True), "log": (_pos, True), "log2": (_pos, True),
    "log10": (_pos, True), "log1p": (lambda x: np.abs(x) * 0.5 - 0.4, True), "sqrt": (_pos, True),
    "rsqrt": (_pos, True), "square": (None, True), "abs": (None, True), "absolute": (None, True),
    "sign": (None, True), "sgn": (None, True), "sin": (None, True), "cos": (None, True),
    "tan": (lambda x: x * 0.5, True), "asin": (_unit, True), "arcsin": (_unit, True), "acos": (_unit, True),
    "atan": (None, True), "sinh": (None, True), "cosh": (None, True), "tanh": (None, True), "asinh": (None, True),
    "acosh": (lambda x: np.abs(x) + 1.1, True), "atanh": (_unit, True), "sigmoid": (None, True),
    "logit": (lambda x: 1 / (1 + np.exp(-x)), True), "relu": (None, True), "erf": (lambda x: x * 2, True),
    "erfc": (lambda x: x * 2, True), "erfinv": (_unit, True), "floor": (lambda x: x * 3, True),
    "ceil": (lambda x: x * 3, True), "round": (lambda x: x * 3, True), "trunc": (lambda x: x * 3, True),
    "fix": (lambda x: x * 3, True), "frac": (lambda x: x * 3, True),
    "reciprocal": (lambda x: x + np.sign(x) * 0.2, True), "deg2rad": (None, True), "rad2deg": (None, True),
    "sinc": (None, True), "angle": (None, True), "nan_to_num": (None, True), "neg": (None, True),
    "signbit": (None, False), "positive": (None, True),
}


def _input(name, shape, dtype, seed=0):
    dom = UNARY[name][0]
    x = randn(*shape, seed=seed, dtype=np.float64)
    return np.asarray(dom(x) if dom else x).astype(dtype)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_matches_torch(name, shape, dtype, device):
    # PyTorch's real sgn has a ZeroTensor gradient that cannot become numpy; adding x * 0 densifies it
    pad = (lambda x: x * 0) if name == "sgn" else (lambda x: 0)
    check(lambda t, x: getattr(t, name)(x) + pad(x), [_input(name, shape, dtype)], device=device)
    if name in ("signbit",):
        return
    check(lambda t, x: getattr(x, name)() + pad(x), [_input(name, shape, dtype, seed=1)], device=device)


@pytest.mark.parametrize("name", sorted(n for n, (_, diff) in UNARY.items() if diff))
def test_unary_gradcheck(name):
    gradcheck(lambda t, x: getattr(t, name)(x), [_input(name, (2, 3), np.float64)])


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf", "erfinv", "atan", "abs"])
def test_double_backward(name):
    x = disttorch.tensor(_input(name, (4,), np.float64), requires_grad=True)
    g = disttorch.tensor(randn(4, seed=3, dtype=np.float64))

    def first_grad(v):
        (gv,) = disttorch.autograd.grad(getattr(disttorch, name)(v), v, g, create_graph=True)
        return gv

    assert disttorch.autograd.gradcheck(first_grad, [x])


def test_erf_family_accuracy_against_float64_torch():
    x = np.concatenate([np.linspace(-8, 8, 801), np.linspace(-1.2, 1.2, 241), np.logspace(-30, 1.4, 60),
                        [27.0, 30.0, np.inf, -np.inf, np.nan, 0.0]])
    check(lambda t, v: t.erf(v), [x], grad=False, rtol=1e-14, atol=0)
    check(lambda t, v: t.erfc(v), [x], grad=False, rtol=1e-13, atol=0)
    y = np.concatenate([np.linspace(-1, 1, 401), 1 - np.logspace(-15, -1, 30), [np.nan, 2.0, -0.0]])
    check(lambda t, v: t.erfinv(v), [y], grad=False, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf", "reciprocal",
                                  "abs", "sign", "floor", "round", "relu", "square", "angle", "deg2rad",
                                  "nan_to_num", "sinc", "logit", "expm1", "neg", "frac", "trunc"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_inputs(name, dtype):
    x = np.array([-2, 0, 1, 3]).astype(dtype)
    try:
        getattr(torch, name)(torch.tensor(x))
    except (RuntimeError, NotImplementedError) as exc:  # then ours raises the same
        with pytest.raises(type(exc), match=str(exc).split("\n")[0][:40].replace("(", ".").replace(")", ".")):
            getattr(disttorch, name)(disttorch.tensor(x))
        return
    check(lambda t, v: getattr(t, name)(v), [x], atol=1e-6)


def test_special_point_gradients():
    x = np.array([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0])
    for fn in (lambda t, v: t.abs(v), lambda t, v: t.relu(v), lambda t, v: t.sqrt(t.relu(v)),
               lambda t, v: t.clamp(v, 0.0, 1.0), lambda t, v: t.clamp(v, min=0.5), lambda t, v: t.sign(v),
               lambda t, v: t.sinc(v), lambda t, v: t.floor(v), lambda t, v: t.sgn(v) + v * 0,
               lambda t, v: t.clamp_min(v, 1.0), lambda t, v: t.clamp_max(v, 0.0),
               lambda t, v: t.xlogy(v, v), lambda t, v: t.logit(v * 0.3, eps=0.1), lambda t, v: t.logit(v),
               lambda t, v: t.nan_to_num(t.log(v))):
        check(fn, [x])


def test_nan_inf_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e30], dtype=np.float32)
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh", "relu", "abs", "sign", "floor", "erf", "erfc",
                 "nan_to_num", "angle", "reciprocal"):
        check(lambda t, v: getattr(t, name)(v), [x], grad=False)
    check(lambda t, v: t.nan_to_num(v, nan=1.0, posinf=2.0, neginf=-3.0), [x])
    check(lambda t, v: t.clamp(v, -1.0, 1.0), [x])


def test_round_decimals_and_half_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 12.345, -7.777], dtype=np.float64)
    check(lambda t, v: t.round(v), [x])
    for d in (1, 2, -1):
        check(lambda t, v: t.round(v, decimals=d), [x])
    assert disttorch.round(disttorch.tensor(x, requires_grad=True), decimals=1).grad_fn.name() == "RoundBackward1"


@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (None, 0.3), (-0.3, None), (1.0, -1.0), (0, 1)])
@pytest.mark.parametrize("shape", SHAPES)
def test_clamp_scalar_bounds(bounds, shape):
    lo, hi = bounds
    x = randn(*shape, dtype=np.float64)
    check(lambda t, v: t.clamp(v, lo, hi), [x])
    check(lambda t, v: t.clip(v, min=lo, max=hi), [x])
    check(lambda t, v: v.clamp(min=lo, max=hi), [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((3,), (3,), (3,)), ((2, 1, 3), (4, 3), (3,)), ((2, 3), (), (2, 3))])
def test_clamp_tensor_bounds(dtype, shapes):
    x, lo, hi = (randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes))
    hi = hi + 0.5
    # PyTorch's backward fails for a three-way clamp whose input is smaller than the broadcast shape, so
    # the oracle sees a full-size input there and our own finite differences check the small one
    full = np.broadcast_to(x, np.broadcast_shapes(x.shape, lo.shape, hi.shape)).copy()
    check(lambda t, v, a, b: t.clamp(v, a, b), [full, lo, hi])
    gradcheck(lambda t, v, a, b: t.clamp(v, a, b), [x, lo, hi])
    check(lambda t, v, a: t.clamp(v, min=a), [x, lo])
    check(lambda t, v, b: t.clamp(v, max=b), [x, hi])
    check(lambda t, v, a: t.clamp_min(v, a), [x, lo])
    check(lambda t, v, b: t.clamp_max(v, b), [x, hi])
    check(lambda t, v, a, b: t.clamp(v, a, b), [full, hi, lo])  # min > max: the max wins


def test_clamp_ties_and_equal_bounds():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 3.0])
    lo = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.5, 3.0])
    hi = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 0.5, 3.0])
    check(lambda t, v, a, b: t.clamp(v, a, b), [x, lo, hi])


def test_clamp_dtypes():
    i = np.array([-2, 0, 3])
    check(lambda t, v: t.clamp(v, min=0.5), [i])
    check(lambda t, v: t.clamp(v, min=1), [i])
    check(lambda t, v: t.clamp(v, min=t.tensor(0.5)), [i])
    check(lambda t, v: t.clamp(v, min=t.tensor(1, dtype=t.float64)), [np.array([-2.0, 0.5, 3.0], np.float32)])
    check(lambda t, v: t.clamp(v, 0), [np.array([True, False])])
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        disttorch.clamp(disttorch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        disttorch.tensor([1.0]).clamp()


def test_grad_fn_names():
    x = disttorch.tensor([0.3, 0.6], dtype=disttorch.float64, requires_grad=True)
    tx = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)
    for name in ("exp", "log1p", "square", "abs", "clamp_min", "relu", "sigmoid", "deg2rad", "trunc", "erfinv"):
        args = (0.1,) if name == "clamp_min" else ()
        assert getattr(disttorch, name)(x, *args).grad_fn.name() == getattr(torch, name)(tx, *args).grad_fn.name()
    assert disttorch.clamp(x, 0.1).grad_fn.name() == "ClampBackward1"
    assert disttorch.clamp(x, x).grad_fn.name() == "ClampBackward0"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 1, 3), (4, 3)), ((), (2, 3))])
def test_lerp(dtype, shapes):
    a, b = (randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes))
    check(lambda t, x, y: t.lerp(x, y, 0.3), [a, b])
    check(lambda t, x, y: t.lerp(x, y, 0.8), [a, b])
    w = np.abs(randn(*shapes[1], seed=5, dtype=dtype)) % 1
    check(lambda t, x, y, z: t.lerp(x, y, z), [a, b, w])
    check(lambda t, x, y, z: x.lerp(y, z), [a, b, w])


def test_lerp_errors():
    f = disttorch.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        disttorch.lerp(f, f.double(), 0.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((3,), (3,), (3,)), ((2, 1, 3), (4, 3), (3,)), ((), (2, 3), (2, 1))])
def test_addcmul_addcdiv(dtype, shapes):
    x, a, b = (randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes))
    b = b + np.sign(b) * 0.5
    check(lambda t, u, v, w: t.addcmul(u, v, w), [x, a, b])
    check(lambda t, u, v, w: t.addcmul(u, v, w, value=-0.5), [x, a, b])
    check(lambda t, u, v, w: t.addcdiv(u, v, w, value=2), [x, a, b])
    check(lambda t, u, v, w: u.addcdiv(v, w), [x, a, b])
    gradcheck(lambda t, u, v, w: t.addcdiv(u, v, w, value=0.7), [x, a, b])


def test_addcmul_addcdiv_integer():
    i = np.array([-2, 0, 3])
    check(lambda t, u, v, w: t.addcmul(u, v, w, value=2), [i, i, i])
    check(lambda t, u, v, w: t.addcmul(u, v, w, value=2), [i.astype(np.float32), i, i])
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        disttorch.addcdiv(disttorch.tensor(i), disttorch.tensor(i), disttorch.tensor(i))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 1, 3), (4, 3)), ((), (2, 3))])
def test_xlogy(dtype, shapes):
    a, b = (randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes))
    b = np.abs(b) + 0.1
    check(lambda t, x, y: t.xlogy(x, y), [a, b])
    check(lambda t, x: t.xlogy(x, 2.0), [a])
    check(lambda t, y: t.xlogy(2, y), [b])
    check(lambda t, x, y: t.xlogy(x, y), [np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.0, np.nan, 0.0, 2.0])])
    check(lambda t, x: t.xlogy(x, 2), [np.array([-2, 0, 3])])


def test_heaviside():
    x = np.array([-1.5, 0.0, 2.0, -0.0], dtype=np.float32)
    check(lambda t, v, w: t.heaviside(v, w), [x, np.array(0.5, np.float32)], grad=False)
    check(lambda t, v, w: t.heaviside(v, w), [x, np.array([1.0, 2.0, 3.0, 4.0], np.float32)], grad=False)
    check(lambda t, v, w: t.heaviside(v, w), [np.array([-3, 0, 4]), np.array(7)], grad=False)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with different dtypes"):
        disttorch.heaviside(disttorch.tensor(x), disttorch.tensor(0.5, dtype=disttorch.float64))


def test_complex_functions():
    z = (randn(2, 3, seed=1, dtype=np.float64) + 1j * randn(2, 3, seed=2, dtype=np.float64))

    def pair(fn):
        ours = fn(disttorch, disttorch.tensor(z, requires_grad=True))
        tz = torch.tensor(z, requires_grad=True)
        theirs = fn(torch, tz)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().resolve_conj().numpy(), rtol=1e-10,
                                   atol=1e-12)
        assert str(ours.dtype) == str(theirs.dtype)
        oz = disttorch.tensor(z, requires_grad=True)
        tz = torch.tensor(z, requires_grad=True)
        (fn(disttorch, oz).abs() ** 2).sum().backward()
        (fn(torch, tz).abs() ** 2).sum().backward()
        np.testing.assert_allclose(oz.grad.numpy(), tz.grad.resolve_conj().numpy(), rtol=1e-9, atol=1e-12)

    for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "reciprocal", "conj", "sgn", "rsqrt"):
        pair(lambda t, v: getattr(t, name)(v))
    pair(lambda t, v: t.abs(v) + 0j)
    pair(lambda t, v: t.angle(v) + 0j)
    pair(lambda t, v: t.real(v) * t.imag(v) + 0j)
    pair(lambda t, v: v.real + 0j)


def test_real_imag_conj_on_real():
    x = disttorch.tensor([1.0, -2.0])
    assert disttorch.real(x) is x and x.real is x and disttorch.conj(x) is x
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes."):
        disttorch.imag(x)
    z = disttorch.tensor([1 + 2j, 3 - 1j])
    r = z.real
    assert r._base is z  # a view, as in PyTorch
    np.testing.assert_array_equal(z.imag.numpy(), [2.0, -1.0])


def test_errors_on_unsupported_dtypes():
    b = disttorch.tensor([True, False])
    i = disttorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        disttorch.relu(b)
    with pytest.raises(NotImplementedError, match="\"abs_cpu\" not implemented for 'Bool'"):
        disttorch.abs(b)
    with pytest.raises(NotImplementedError, match="\"frac_cpu\" not implemented for 'Long'"):
        disttorch.frac(i)
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        disttorch.floor(b)
    with pytest.raises(RuntimeError, match="torch.sgn instead"):
        disttorch.sign(disttorch.tensor([1 + 1j]))


# -- in-place forms ---------------------------------------------------------------------------------
INPLACE = ["exp", "log", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "erf", "floor",
           "round", "reciprocal", "square", "expm1", "log1p", "atan", "sign", "frac", "trunc", "deg2rad",
           "nan_to_num", "sinc"]


@pytest.mark.parametrize("name", INPLACE)
@pytest.mark.parametrize("shape", [(), (2, 3)])
def test_inplace_matches_torch(name, shape):
    dom = UNARY[name][0]
    x = randn(*shape, dtype=np.float64)
    x = dom(x) if dom else x
    check(lambda t, v: getattr(v * 1, name + "_")(), [x])  # with a graph: the history is rewritten
    check(lambda t, v: getattr(v.clone(), name + "_")(), [x], grad=False)  # plain storage update
    if hasattr(torch, name + "_"):
        check(lambda t, v: getattr(t, name + "_")(v * 1), [x])
    else:
        assert not hasattr(disttorch, name + "_")


def test_inplace_returns_self_and_bumps_version():
    x = disttorch.tensor([-1.0, 2.0])
    v = x._version
    assert x.relu_() is x and x._version == v + 1
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])
    view = x[1:] if hasattr(disttorch.Tensor, "__getitem__") else None
    if view is not None:
        view.exp_()
        np.testing.assert_allclose(x.numpy(), [0.0, np.exp(2.0)], rtol=1e-6)


def test_inplace_clamp_lerp_addc():
    x, y, z = (randn(2, 3, seed=i, dtype=np.float64) for i in range(3))
    check(lambda t, v: (v * 1).clamp_(-0.5, 0.5), [x])
    check(lambda t, v: (v * 1).clamp_(min=0.1), [x])
    check(lambda t, v, lo: (v * 1).clamp_(lo, None), [x, y])
    check(lambda t, v: (v * 1).clip_(max=0.1), [x])
    check(lambda t, v: (v * 1).clamp_min_(0.0), [x])
    check(lambda t, v: (v * 1).clamp_max_(0.0), [x])
    check(lambda t, a, b: (a * 1).lerp_(b, 0.25), [x, y])
    check(lambda t, a, b, c: (a * 1).addcmul_(b, c, value=3), [x, y, z])
    check(lambda t, a, b, c: (a * 1).addcdiv_(b, c + 3, value=3), [x, y, np.abs(z)])


def test_inplace_errors():
    leaf = disttorch.tensor([1.0, 2.0], requires_grad=True)
    for name in ("exp_", "relu_", "sigmoid_", "abs_", "sqrt_"):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                               "operation."):
            getattr(leaf, name)()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        leaf.clamp_(0, 1)
    with disttorch.no_grad():
        leaf.clamp_(0, 1.5)
    np.testing.assert_array_equal(leaf.detach().numpy(), [1.0, 1.5])
    i = disttorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i.exp_()
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type"):
        i.clamp_(min=0.5)
    i.clamp_(min=2)
    np.testing.assert_array_equal(i.numpy(), [2, 2])


def test_inplace_saved_output_then_modified():
    x = disttorch.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x2 = disttorch.tensor([0.5, 1.0], requires_grad=True)
    z = (x2 * 2).exp_()  # the in-place op's own saved output follows it
    z.sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_out_argument():
    x = disttorch.tensor([0.5, 1.0])
    out = disttorch.empty(2)
    r = disttorch.exp(x, out=out)
    assert r is out
    np.testing.assert_allclose(out.numpy(), np.exp([0.5, 1.0]), rtol=1e-6)
