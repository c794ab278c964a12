"""Reductions, scans, softmax and friends against PyTorch: values, dtypes, shapes, gradients."""
from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
FLOATS = [np.float32, np.float64]


def dims_for(shape: tuple) -> list:
    """Reduction dims worth trying for a shape: all, first, last (negative), and tuples."""
    nd = len(shape)
    if nd == 0:
        return [None, 0, -1]
    dims = [None, 0, -1]
    if nd >= 2:
        dims += [(0, -1), (-1, 0)]
    if nd >= 3:
        dims += [1, (0, 2), (0, 1, 2)]
    return dims


def single_dims(shape: tuple) -> list:
    return [0, -1] + ([1] if len(shape) >= 3 else [])


def with_ties(shape: tuple, dtype: np.dtype, seed: int = 0) -> np.ndarray:
    """Small integers so that extremes repeat."""
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(dtype)


def double_backward(fn, arr: np.ndarray, seed: int = 0) -> None:
    """Gradient of a weighted sum of the first gradient (create_graph=True), against PyTorch."""
    rng = np.random.default_rng(seed)
    results = []
    for t in (disttorch, torch):
        x = t.tensor(arr, requires_grad=True)
        out = fn(t, x)
        w = t.tensor(rng.standard_normal(tuple(out.shape)).astype(arr.dtype))
        (g,) = t.autograd.grad((out * w).sum(), x, create_graph=True)
        w2 = t.tensor(np.random.default_rng(seed + 1).standard_normal(arr.shape).astype(arr.dtype))
        # a gradient that does not depend on x (linear ops) has no graph: its derivative is 0
        gg = t.autograd.grad((g * w2).sum(), x)[0] if g.requires_grad else t.zeros(arr.shape, dtype=t.float64)
        results.append((g, gg))
        rng = np.random.default_rng(seed)
    (g_d, gg_d), (g_t, gg_t) = results
    assert_close(g_d, g_t, 1e-9, 1e-9, "first gradient")
    assert_close(gg_d, gg_t, 1e-9, 1e-9, "second gradient")


# -- sum, mean, nansum, nanmean -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(shape, dtype, keepdim, device):
    x = randn(*shape, dtype=dtype)
    for dim in dims_for(shape):
        check(lambda t, a: t.sum(a, dim, keepdim=keepdim), [x], device=device)
        check(lambda t, a: a.mean(dim, keepdim), [x], device=device)
    check(lambda t, a: a.sum(), [x], device=device)
    check(lambda t, a: t.mean(a), [x], device=device)


@pytest.mark.parametrize("shape", SHAPES[1:])
@pytest.mark.parametrize("keepdim", [False, True])
def test_nansum_nanmean(shape, keepdim, device):
    x = randn(*shape, dtype=np.float64)
    x.reshape(-1)[::3] = np.nan
    for dim in dims_for(shape):
        check(lambda t, a: t.nansum(a, dim, keepdim=keepdim), [x], device=device)
        check(lambda t, a: a.nanmean(dim, keepdim=keepdim), [x], device=device)


def test_sum_dtypes(device):
    for arr in (np.arange(6, dtype=np.int32).reshape(2, 3), np.array([True, False, True]),
                np.arange(5, dtype=np.uint8), np.arange(4, dtype=np.int16)):
        check(lambda t, a: t.sum(a), [arr], device=device)
        check(lambda t, a: a.sum(0), [arr], device=device)
        check(lambda t, a: t.nansum(a), [arr], device=device)
        check(lambda t, a: a.sum(dtype=t.float64), [arr], device=device)
        check(lambda t, a: t.mean(a, dtype=t.float32), [arr], device=device)
        check(lambda t, a: a.prod(), [arr], device=device)
        check(lambda t, a: a.cumsum(0), [arr], device=device)
        check(lambda t, a: a.cumprod(0, dtype=t.float64), [arr], device=device)
    x = randn(3, 4)
    check(lambda t, a: a.sum(1, dtype=t.float64), [x], device=device)
    check(lambda t, a: a.mean(dtype=t.float64), [x], device=device)
    check(lambda t, a: a.sum(dim=None, keepdim=True), [x], device=device)
    check(lambda t, a: a.sum(axis=1), [x], device=device)
    check(lambda t, a: t.sum(a, ()), [x], device=device)
    check(lambda t, a: a.sum([1, 0], keepdim=True), [x], device=device)


def test_mean_of_integers_errors():
    msg = ("mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
           "Got: Long")
    with pytest.raises(RuntimeError, match=msg.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        disttorch.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="Got: Bool"):
        disttorch.tensor([True]).mean(0)
    with pytest.raises(RuntimeError, match="nanmean.*expected input to have floating point"):
        disttorch.nanmean(disttorch.tensor([1, 2]))


# -- prod ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(shape, dtype, keepdim, device):
    x = randn(*shape, dtype=dtype)
    check(lambda t, a: t.prod(a), [x], device=device)
    for dim in single_dims(shape) if shape else [0, -1]:
        check(lambda t, a: a.prod(dim, keepdim), [x], device=device)


@pytest.mark.parametrize("zeros", [[0], [0, 5], [0, 1], [3, 7, 11], [0, 4, 8, 2]])
def test_prod_with_zeros(zeros, device):
    x = randn(3, 4, dtype=np.float64)
    x.reshape(-1)[zeros] = 0
    check(lambda t, a: a.prod(), [x], device=device)
    for dim in (0, 1, -1):
        check(lambda t, a: a.prod(dim), [x], device=device)
        check(lambda t, a: t.prod(a, dim, keepdim=True), [x], device=device)
        gradcheck(lambda t, a: a.prod(dim), [x])
        double_backward(lambda t, a: a.prod(dim), x)
    gradcheck(lambda t, a: a.prod(), [x])
    double_backward(lambda t, a: a.prod(), x)


def test_prod_dim_must_be_int():
    with pytest.raises(TypeError):
        disttorch.prod(disttorch.ones(2, 3), (0, 1))


# -- max / min family -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_max_min(shape, dtype, keepdim, ties, device):
    x = with_ties(shape, dtype) if ties else randn(*shape, dtype=dtype)
    check(lambda t, a: t.max(a), [x], device=device)
    check(lambda t, a: a.min(), [x], device=device)
    for dim in [0, -1] + ([1] if len(shape) >= 3 else []):
        check(lambda t, a: tuple(t.max(a, dim, keepdim)), [x], device=device)
        check(lambda t, a: tuple(a.min(dim, keepdim=keepdim)), [x], device=device)
        check(lambda t, a: t.argmax(a, dim, keepdim), [x], device=device)
        check(lambda t, a: a.argmin(dim, keepdim=keepdim), [x], device=device)
    for dim in dims_for(shape):
        check(lambda t, a: t.amax(a, dim, keepdim), [x], device=device)
        check(lambda t, a: a.amin(dim, keepdim=keepdim), [x], device=device)
    check(lambda t, a: t.argmax(a), [x], device=device)
    check(lambda t, a: a.argmin(keepdim=keepdim), [x], device=device)
    check(lambda t, a: tuple(t.aminmax(a)), [x], device=device)
    if shape:
        check(lambda t, a: tuple(a.aminmax(dim=-1, keepdim=keepdim)), [x], device=device)


def test_max_nan_and_ints(device):
    x = np.array([[1.0, np.nan, 2.0, np.nan], [1.0, 4.0, 4.0, 3.0]])
    check(lambda t, a: t.max(a), [x], device=device)
    check(lambda t, a: tuple(a.max(1)), [x], device=device)
    check(lambda t, a: tuple(a.min(1)), [x], device=device)
    check(lambda t, a: a.argmax(1), [x], device=device)
    check(lambda t, a: a.amax(1), [x], device=device)
    i = np.array([[3, 1, 3], [0, 5, 5]], dtype=np.int64)
    check(lambda t, a: (a.max(), *a.max(1), a.amin(0), a.argmax()), [i], device=device)


def test_max_with_other(device):
    if not hasattr(disttorch, "maximum"):
        pytest.skip("disttorch.maximum (elementwise comparison ops) is not available yet")
    x, y = randn(3, 4), randn(3, 4, seed=1)
    check(lambda t, a, b: t.max(a, b), [x, y], device=device)
    check(lambda t, a, b: a.min(b), [x, y], device=device)


def test_max_grad_split_among_ties():
    x = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    for fn in (lambda t, a: a.max(), lambda t, a: a.amax(), lambda t, a: a.max(0)[0], lambda t, a: a.min(),
               lambda t, a: t.amin(a, 0), lambda t, a: a.median()):
        check(fn, [x])


# -- var / std ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES[1:])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std(shape, dtype, keepdim, device):
    x = randn(*shape, dtype=dtype)
    for dim in dims_for(shape):
        for correction in (0, 1):
            check(lambda t, a: t.var(a, dim, keepdim=keepdim, correction=correction), [x], device=device)
            check(lambda t, a: a.std(dim, correction=correction, keepdim=keepdim), [x], device=device)
        check(lambda t, a: t.var_mean(a, dim, keepdim=keepdim), [x], device=device)
        check(lambda t, a: t.std_mean(a, dim, correction=0, keepdim=keepdim), [x], device=device)
    check(lambda t, a: a.var(unbiased=False), [x], device=device)
    check(lambda t, a: a.std(0, True, keepdim), [x], device=device)
    check(lambda t, a: t.var(a, False), [x], device=device)
    check(lambda t, a: a.var(correction=2), [x], device=device)


def test_var_degenerate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, a: a.var(), [np.array([1.0])], grad=False)
        check(lambda t, a: a.std(correction=3), [np.array([1.0, 2.0])], grad=False)
        check(lambda t, a: a.var(), [np.array(2.0)], grad=False)
    constant_rows = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    check(lambda t, a: (a.std(1), t.std_mean(a, 1)[0]), [constant_rows])  # gradient 0 where std is 0
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        disttorch.tensor([1.0]).var()
    with pytest.raises(RuntimeError, match="std and var only support floating point and complex dtypes"):
        disttorch.tensor([1, 2]).std()


# -- norms --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, "fro", math.inf, -math.inf, 0, 1, 3, 0.5, 1.5, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, keepdim, device):
    x = randn(3, 4, dtype=np.float64)
    x[1] = 0.0
    x[0, 2] = 0.0
    if p in (math.inf, -math.inf):
        x[2, 0] = x[2, 3] = 5.0  # a tie for the largest magnitude
    dims = [None, 1, -1, (0, 1)] if p != "fro" else [None, 1, (0, 1)]
    for dim in dims:
        check(lambda t, a: t.norm(a, p, dim, keepdim), [x], device=device)
    check(lambda t, a: a.norm(p), [x.astype(np.float32)], device=device)
    check(lambda t, a: a.norm(p), [np.array(-1.5)], device=device)
    if p not in (0, math.inf, -math.inf):
        gradcheck(lambda t, a: a.norm(p, 1), [randn(3, 4, seed=2)])


def test_norm_details(device):
    x = randn(2, 3)
    check(lambda t, a: a.norm(dtype=t.float64), [x], device=device)
    check(lambda t, a: t.norm(a, p=None), [x], device=device)
    check(lambda t, a: a.norm(dim=1), [np.zeros((2, 3))], device=device)  # gradient 0, not nan
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        disttorch.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        disttorch.zeros(0, 2).norm(math.inf)


# -- logsumexp, softmax -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(shape, dtype, keepdim, device):
    x = randn(*shape, dtype=dtype) * 30
    for dim in dims_for(shape)[1:]:
        check(lambda t, a: t.logsumexp(a, dim, keepdim), [x], device=device)
    big = np.array([[1000.0, 1000.0, -np.inf], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0]], dtype=dtype)
    check(lambda t, a: a.logsumexp(1), [big], grad=False, device=device)
    check(lambda t, a: a.logsumexp(0), [np.array([1, 2, 3])], device=device)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax(shape, dtype, device):
    x = randn(*shape, dtype=dtype) * 5
    for dim in [0, -1] + ([1] if len(shape) >= 3 else []):
        check(lambda t, a: t.softmax(a, dim), [x], device=device)
        check(lambda t, a: a.log_softmax(dim), [x], device=device)
        check(lambda t, a: t.log_softmax(a, dim, dtype=t.float64), [x], device=device)
        check(lambda t, a: a.softmax(dim, dtype=t.float64), [x], device=device)
    big = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -np.inf]], dtype=dtype)
    check(lambda t, a: t.softmax(a, 1), [big], device=device)
    check(lambda t, a: t.log_softmax(a, -1), [big], device=device)


def test_softmax_errors_and_implicit_dim():
    with pytest.raises(NotImplementedError, match="\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"):
        disttorch.softmax(disttorch.tensor([1, 2]), 0)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        disttorch.zeros(2, 3).softmax(2)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        d = disttorch.softmax(disttorch.tensor(randn(2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.functional.softmax(torch.tensor(randn(2, 3)))
    assert_close(d, t)


# -- scans ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_cumulative(shape, dtype, device):
    x = randn(*shape, dtype=dtype)
    tied = with_ties(shape, dtype)
    for dim in [0, -1] + ([1] if len(shape) >= 3 else []):
        check(lambda t, a: t.cumsum(a, dim), [x], device=device)
        check(lambda t, a: a.cumprod(dim), [x], device=device)
        for arr in (x, tied):
            check(lambda t, a: tuple(t.cummax(a, dim)), [arr], device=device)
            check(lambda t, a: tuple(a.cummin(dim)), [arr], device=device)


@pytest.mark.parametrize("zeros", [[1], [0, 6], [1, 3], [0, 1, 2, 3], [2, 5, 7, 10]])
def test_cumprod_with_zeros(zeros, device):
    x = randn(3, 4, dtype=np.float64)
    x.reshape(-1)[zeros] = 0
    for dim in (0, 1):
        check(lambda t, a: a.cumprod(dim), [x], device=device)
        gradcheck(lambda t, a: t.cumprod(a, dim), [x])
        double_backward(lambda t, a: a.cumprod(dim), x)


def test_cummax_nan(device):
    x = np.array([[np.nan, 1.0, np.nan, 2.0], [1.0, 3.0, 3.0, np.nan]])
    check(lambda t, a: tuple(a.cummax(1)), [x], device=device)
    check(lambda t, a: tuple(a.cummin(1)), [x], device=device)
    check(lambda t, a: tuple(a.cummax(0)), [np.array([2, 1, 2, 5])], device=device)


# -- any / all / count_nonzero -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_all_count(shape, keepdim, device):
    rng = np.random.default_rng(3)
    arrays = [rng.random(shape) > 0.5, rng.integers(0, 2, shape).astype(np.float32),
              rng.integers(0, 3, shape).astype(np.uint8), rng.integers(0, 2, shape)]
    for arr in arrays:
        for dim in dims_for(shape):
            check(lambda t, a: (t.any(a, dim, keepdim), a.all(dim, keepdim=keepdim)), [arr], device=device)
            check(lambda t, a: t.count_nonzero(a, dim), [arr], device=device)
        check(lambda t, a: (a.any(), t.all(a), a.count_nonzero()), [arr], device=device)


# -- median ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_median(shape, dtype, keepdim, device):
    x = randn(*shape, dtype=dtype)  # distinct values: the index of a tied median is unspecified
    check(lambda t, a: t.median(a), [x], device=device)
    check(lambda t, a: a.nanmedian(), [x], device=device)
    for dim in [0, -1] + ([1] if len(shape) >= 3 else []):
        check(lambda t, a: tuple(t.median(a, dim, keepdim)), [x], device=device)
        check(lambda t, a: tuple(a.nanmedian(dim, keepdim=keepdim)), [x], device=device)


def test_median_nan(device):
    x = np.array([[1.0, np.nan, 2.0, 3.0], [4.0, 2.0, 3.0, 1.0], [np.nan, 5.0, 1.0, 7.0]])
    check(lambda t, a: (t.median(a), a.nanmedian()), [x], grad=False, device=device)
    check(lambda t, a: tuple(a.median(1)), [x], device=device)
    check(lambda t, a: tuple(a.nanmedian(1)), [x], device=device)
    check(lambda t, a: a.median(), [np.array([3, 1, 2, 7], dtype=np.int64)], device=device)


# -- empty tensors, errors, graph names, return types ---------------------------------------------------------
def test_empty(device):
    e = np.zeros((0, 3), dtype=np.float32)
    fns = [lambda t, a: a.sum(), lambda t, a: a.sum(0), lambda t, a: a.prod(0), lambda t, a: a.mean(0),
           lambda t, a: a.nansum(), lambda t, a: a.amax(1), lambda t, a: tuple(a.max(1)), lambda t, a: a.argmin(1),
           lambda t, a: a.logsumexp(0), lambda t, a: a.softmax(0), lambda t, a: a.norm(), lambda t, a: a.cumsum(0),
           lambda t, a: a.cumprod(1), lambda t, a: tuple(a.cummax(0)), lambda t, a: (a.any(), a.all(0)),
           lambda t, a: a.count_nonzero(0), lambda t, a: a.median(), lambda t, a: a.norm(math.inf, 1)]
    for fn in fns:
        check(fn, [e], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, a: a.var(0), [e], device=device)


@pytest.mark.parametrize("fn, exc, msg", [
    (lambda t, a, e: a.sum(2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    (lambda t, a, e: a.mean(-3), IndexError, r"expected to be in range of \[-2, 1\], but got -3"),
    (lambda t, a, e: a.max(2), IndexError, r"expected to be in range of \[-2, 1\], but got 2"),
    (lambda t, a, e: a.cumsum(5), IndexError, r"but got 5"),
    (lambda t, a, e: a.sum((0, -2)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda t, a, e: a.amax((1, 1)), RuntimeError, "dim 1 appears multiple times in the list of dims"),
    (lambda t, a, e: e.max(), RuntimeError,
     r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0"),
    (lambda t, a, e: e.max(0), IndexError, r"max\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda t, a, e: e.amax(0), IndexError, r"amax\(\): Expected reduction dim 0 to have non-zero size"),
    (lambda t, a, e: e.amin(), RuntimeError, r"amin\(\): Expected reduction dim to be specified"),
    (lambda t, a, e: e.argmax(), IndexError, r"argmax\(\): Expected reduction dim to be specified"),
    (lambda t, a, e: e.aminmax(), RuntimeError, "cannot compute aminmax over an empty dimension"),
    (lambda t, a, e: e.median(0), IndexError, r"median\(\): Expected reduction dim 0 to have non-zero size"),
])
def test_errors(fn, exc, msg):
    for t in (torch, disttorch):  # the expected message is PyTorch's own
        with pytest.raises(exc, match=msg):
            fn(t, t.tensor(randn(2, 3)), t.tensor(np.zeros((0, 3), np.float32)))


def test_scalar_dim_errors():
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        disttorch.tensor(2.0).sum(1)
    check(lambda t, a: (a.sum(0), a.amax(-1), tuple(a.max(0)), a.cumsum(0), a.softmax(0)), [np.array(2.5)])


def test_node_names():
    x = disttorch.tensor(randn(3, 4), requires_grad=True)
    tx = torch.tensor(randn(3, 4), requires_grad=True)
    calls = [lambda a: a.sum(), lambda a: a.sum(0), lambda a: a.mean(), lambda a: a.mean(1), lambda a: a.nansum(),
             lambda a: a.nanmean(), lambda a: a.prod(), lambda a: a.prod(1), lambda a: a.max(),
             lambda a: a.max(0)[0], lambda a: a.min(), lambda a: a.min(1)[0], lambda a: a.amax(0),
             lambda a: a.amin(), lambda a: a.aminmax()[0], lambda a: a.var(), lambda a: a.std(0),
             lambda a: a.var_mean(0)[0] if hasattr(a, "var_mean") else None, lambda a: a.norm(),
             lambda a: a.norm(1, 0), lambda a: a.logsumexp(0), lambda a: a.cumsum(0), lambda a: a.cumprod(1),
             lambda a: a.cummax(0)[0], lambda a: a.cummin(0)[0], lambda a: a.softmax(0),
             lambda a: a.log_softmax(1), lambda a: a.median(), lambda a: a.median(0)[0]]
    for fn in calls:
        ours, theirs = fn(x), fn(tx)
        if theirs is None:
            continue
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert disttorch.std_mean(x, 0)[0].grad_fn.name() == torch.std_mean(tx, 0)[0].grad_fn.name()
    assert disttorch.var_mean(x)[1].grad_fn.name() == torch.var_mean(tx)[1].grad_fn.name()


def test_return_types():
    x = randn(3, 4)
    d, t = disttorch.tensor(x), torch.tensor(x)
    for fn in (lambda m, a: m.max(a, 1), lambda m, a: a.min(0, keepdim=True), lambda m, a: m.median(a, 1),
               lambda m, a: a.cummax(1), lambda m, a: m.aminmax(a, dim=0), lambda m, a: a.nanmedian(0),
               lambda m, a: a.cummin(0)):
        ours, theirs = fn(disttorch, d), fn(torch, t)
        assert type(ours).__name__ == type(theirs).__name__
        assert repr(ours) == repr(theirs)
        assert isinstance(ours, tuple) and len(ours) == 2
        for field in ("values", "indices", "min", "max"):
            if hasattr(theirs, field):
                assert_close(getattr(ours, field), getattr(theirs, field))
    r = disttorch.max(d, 0)
    values, indices = r
    assert values is r.values and indices is r[1]
    assert disttorch.return_types.max((values, indices)) == r
    assert pickle.loads(pickle.dumps(r)).values.tolist() == values.tolist()
    assert disttorch.return_types.sort.n_fields == torch.return_types.sort.n_fields == 2
    assert isinstance(disttorch.var_mean(d), tuple) and type(disttorch.var_mean(d)) is tuple


# -- gradients: finite differences and double backward ----------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda t, a: a.sum((0, 2)), lambda t, a: a.mean(1, keepdim=True), lambda t, a: a.nansum(-1),
    lambda t, a: a.prod(1), lambda t, a: a.max(1)[0], lambda t, a: a.amax((0, 2)), lambda t, a: a.var(1),
    lambda t, a: a.std((0, 1), keepdim=True), lambda t, a: t.var_mean(a, 2)[0] + t.var_mean(a, 2)[1] * 2,
    lambda t, a: t.std_mean(a, 0)[1], lambda t, a: a.norm(dim=0), lambda t, a: a.logsumexp((1, 2)),
    lambda t, a: a.cumsum(2), lambda t, a: a.cumprod(0), lambda t, a: a.cummax(1)[0],
    lambda t, a: a.softmax(1), lambda t, a: a.log_softmax(2), lambda t, a: a.median(1)[0],
])
def test_gradcheck(fn):
    gradcheck(fn, [randn(2, 3, 4, seed=5)])


@pytest.mark.parametrize("fn", [
    lambda t, a: a.sum(1), lambda t, a: a.mean((0, 1)), lambda t, a: a.prod(1), lambda t, a: a.var(0),
    lambda t, a: a.std(1, keepdim=True), lambda t, a: t.std_mean(a, 1)[0], lambda t, a: a.norm(dim=1),
    lambda t, a: a.norm(), lambda t, a: a.norm(3, 1), lambda t, a: a.norm(0.5), lambda t, a: a.logsumexp(1),
    lambda t, a: a.softmax(0), lambda t, a: a.log_softmax(1),
    lambda t, a: a.cumsum(1), lambda t, a: a.cumprod(0), lambda t, a: a.amax(1), lambda t, a: a.max(),
    lambda t, a: a.cummin(1)[0], lambda t, a: a.median(0)[0],
])
def test_double_backward(fn):
    double_backward(fn, randn(3, 4, dtype=np.float64, seed=4))


def test_log_step_scan_matches_accumulate():
    """The scan used where the array library has no ufunc.accumulate (cupy) agrees with numpy's."""
    from types import SimpleNamespace

    from disttorch._ops.reduce.cumulative import _running

    a = np.random.default_rng(0).standard_normal((3, 7, 5))
    a[1, 3, 2] = np.nan
    for axis in range(3):
        for ufunc in (np.maximum, np.minimum):
            np.testing.assert_array_equal(_running(SimpleNamespace(), ufunc, a, axis), ufunc.accumulate(a, axis))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "cross_entropy"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_rows_with_infinities_as_torch(fn, dtype):
    """A row holding +inf, or only -inf, is NaN in PyTorch's softmax, log_softmax and cross_entropy (the max is not
    replaced by 0 as logsumexp's is); finite rows are unaffected."""
    x = np.array([[1.0, np.inf, 2.0], [-np.inf] * 3, [1.0, -np.inf, 3.0], [0.5, 1.5, -1.0]], dtype)

    def run(lib):
        t = lib.tensor(x)
        if fn == "cross_entropy":
            return lib.nn.functional.cross_entropy(t, lib.tensor([0, 1, 2, 1]), reduction="none")
        return getattr(lib.nn.functional, fn)(t, dim=-1)

    np.testing.assert_allclose(run(disttorch).numpy(), run(torch).numpy(), rtol=1e-6, equal_nan=True)


def test_logsumexp_of_infinite_rows_as_torch():
    x = np.array([[1.0, np.inf, 2.0], [-np.inf] * 3, [1.0, -np.inf, 3.0]], np.float32)
    np.testing.assert_allclose(disttorch.logsumexp(disttorch.tensor(x), 1).numpy(),
                               torch.logsumexp(torch.tensor(x), 1).numpy(), rtol=1e-6)
