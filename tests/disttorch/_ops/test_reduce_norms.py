"""The one vector norm (disttorch._ops.reduce.norms) behind torch.norm, linalg.vector_norm and linalg.norm,
against PyTorch: first and second derivatives for every order, complex inputs, zeros, NaN, dtype=."""
from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

ORDS = [2, 1, math.inf, -math.inf, 0, 3, 0.5, 1.5, -1, -2]
DIMS = [(None, False), (1, False), (1, True), ((0, 2), False), ((0, 2), True), (-1, True)]


def _input(kind: str, complex_: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 2))
    if complex_:
        a = a + 1j * rng.standard_normal((3, 4, 2))
    if kind == "zeros":  # some zero elements (p < 1 divides by them), no zero norm
        a.reshape(-1)[::3] = 0
    elif kind == "ties":  # equal magnitudes (inf norms share the gradient)
        a = np.round(a) + (0.5 if not complex_ else 0.5 + 0.5j)
        a.reshape(-1)[1] = a.reshape(-1)[0]
    elif kind == "nan":
        a.reshape(-1)[2] = np.nan
    return a


def _grads(t, norm_fn, a: np.ndarray, second: bool) -> tuple:
    """(norm, first gradient, gradient of a weighted first gradient), for torch or disttorch."""
    x = t.tensor(a, requires_grad=True)
    y = norm_fn(t, x)
    w = t.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), dtype=y.dtype)
    (g,) = t.autograd.grad(y, x, w, create_graph=second, allow_unused=True)
    if g is None or not second or not g.requires_grad:
        return y, g, None
    v = np.random.default_rng(2).standard_normal(a.shape) * (1 + 1j if np.iscomplexobj(a) else 1)
    (gg,) = t.autograd.grad((g * t.tensor(v, dtype=g.dtype)).real.sum() if np.iscomplexobj(a) else
                            (g * t.tensor(v, dtype=g.dtype)).sum(), x)
    if t is torch and gg._is_zerotensor():  # PyTorch's symbolic zero (a gradient linear in x)
        gg = torch.zeros_like(x)
    return y, g, gg


def _compare(norm_fn, a: np.ndarray, second: bool = True) -> None:
    tol = 1e-9 if a.dtype in (np.float64, np.complex128) else 1e-6
    y_d, g_d, gg_d = _grads(disttorch, norm_fn, a, second)
    y_t, g_t, gg_t = _grads(torch, norm_fn, a, second)
    assert_close(y_d, y_t, tol, tol, "norm")
    assert (g_d is None) == (g_t is None), "gradient presence"
    if g_t is not None:
        assert_close(g_d, g_t, tol, tol, "first gradient")
    if gg_t is not None:
        assert gg_d is not None, "second gradient presence"
        assert_close(gg_d, gg_t, 10 * tol, 10 * tol, "second gradient")
    elif gg_d is not None:
        assert not gg_d.any(), "a second gradient where PyTorch has none"


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("kind", ["plain", "zeros", "ties"])
def test_vector_norm_gradients_match_pytorch(ord, complex_, kind):
    """Both gradients, for each order; complex inputs with ord other than 0, 1, 2 used to get a wrong first
    gradient from torch.norm (a second, diverging vector norm lived in the reductions)."""
    a = _input(kind, complex_)
    for dim, keepdim in DIMS:
        _compare(lambda t, x: t.linalg.vector_norm(x, ord, dim, keepdim), a)
        _compare(lambda t, x: t.norm(x, ord, dim, keepdim), a)


@pytest.mark.parametrize("ord", [math.inf, -math.inf])
@pytest.mark.parametrize("complex_", [False, True])
def test_inf_norm_gradient_goes_to_nan(ord, complex_):
    """With NaN in a slice the norm is NaN, and PyTorch sends the gradient to the NaN elements only."""
    for dim, keepdim in DIMS:
        _compare(lambda t, x: t.linalg.vector_norm(x, ord, dim, keepdim), _input("nan", complex_), second=False)


def test_zero_norm_has_no_gradient():
    """ord=0 counts nonzeros: like PyTorch, no gradient reaches the input (x.grad stays None)."""
    for t in (disttorch, torch):
        x = t.tensor([1.0, 0.0, 2.0], requires_grad=True)
        y = t.linalg.vector_norm(x, 0)
        assert y.requires_grad
        y.backward()
        assert x.grad is None


def test_zero_norm_gradient_is_zero():
    """At a zero norm the first gradient is 0 (not NaN) for every order PyTorch defines it for."""
    for ord in [2, 3, 1.5, math.inf]:
        _compare(lambda t, x: t.linalg.vector_norm(x, ord, 1), np.zeros((2, 3)), second=False)


def test_dtype_argument():
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    _compare(lambda t, x: t.linalg.vector_norm(x, 3, 1, dtype=t.float64), a)
    _compare(lambda t, x: t.norm(x, 0.5, dtype=t.float64), a)
    c = (a + 1j * a[::-1]).astype(np.complex64)
    _compare(lambda t, x: t.linalg.vector_norm(x, 1.5, dtype=t.complex128), c)


@pytest.mark.parametrize("call", [
    lambda t: t.linalg.vector_norm(t.tensor([1.0, 2.0]), dtype=t.int64),
    lambda t: t.linalg.vector_norm(t.tensor([1 + 1j, 2]), dtype=t.float64),
    lambda t: t.linalg.vector_norm(t.tensor([1.0, 2.0]), dtype=t.complex128),
    lambda t: t.linalg.vector_norm(t.tensor([1.0, 2.0], dtype=t.float64), dtype=t.float32),
    lambda t: t.linalg.vector_norm(t.tensor([1, 2]), dtype=t.float32),
    lambda t: t.linalg.vector_norm(t.ones(2, 3), 2, (0, 0)),
    lambda t: t.norm(t.zeros(0, 3), -1),
    lambda t: t.linalg.vector_norm(t.zeros(0, 3), -0.5),
])
def test_errors_match_pytorch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value), match=str(theirs.value).replace("(", r"\(").replace(")", r"\)")):
        call(disttorch)


def test_half_precision_accumulates_in_float32():
    """Like PyTorch: a float16 norm whose sum of squares overflows float16 is still finite."""
    for t in (disttorch, torch):
        y = t.linalg.vector_norm(t.ones(100000, dtype=t.float16))
        assert y.dtype == t.float16
        assert abs(float(y) - math.sqrt(100000)) < 0.5


def test_one_implementation():
    from disttorch._ops.reduce.norms import vector_norm
    from disttorch._torch_function import bare

    # (behind its __torch_function__ wrapper once a Tensor subclass exists: docs/tensors.md)
    assert bare(disttorch.linalg.vector_norm) is vector_norm
    x = disttorch.randn(3, requires_grad=True)
    assert disttorch.norm(x).grad_fn.name() == x.norm(3).grad_fn.name() == "LinalgVectorNormBackward0"
