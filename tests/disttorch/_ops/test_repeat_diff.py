"""repeat_interleave, diff and isin against PyTorch."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

import disttorch

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", FLOATS)
def test_repeat_interleave_int_and_tensor(dtype, device):
    x = randn(3, 4, dtype=dtype)
    check(lambda t, a: t.repeat_interleave(a, 2), [x], device=device)
    check(lambda t, a: a.repeat_interleave(3, dim=1), [x], device=device)
    check(lambda t, a: t.repeat_interleave(a, t.tensor([1, 0, 2]), dim=0), [x], device=device)
    check(lambda t, a: a.repeat_interleave(t.tensor(2), dim=-1, output_size=8), [x], device=device)
    check(lambda t, a: a.repeat_interleave(t.tensor([2]), dim=0), [x], device=device)
    check(lambda t, a: t.repeat_interleave(a, 2), [randn(dtype=dtype)], device=device)


def test_repeat_interleave_repeats_only_and_errors():
    check(lambda t, r: t.repeat_interleave(r), [np.array([2, 0, 3])])
    check(lambda t, r: t.repeat_interleave(r, output_size=5), [np.array([2, 0, 3])])
    same_error(lambda t, x: t.repeat_interleave(x, t.tensor([1, 2]), dim=0), [randn(3, 2)])
    same_error(lambda t, x: t.repeat_interleave(x, t.tensor([1, -1, 1]), dim=0), [randn(3, 2)])
    same_error(lambda t, x: t.repeat_interleave(x, t.tensor([[1]]), dim=0), [randn(3, 2)])
    same_error(lambda t, x: t.repeat_interleave(x, 2, dim=2), [randn(3, 2)], match="Dimension out of range")


def test_repeat_interleave_gradcheck():
    gradcheck(lambda t, x: t.repeat_interleave(x, t.tensor([2, 1, 3]), dim=1), [randn(2, 3)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_diff(dtype, device):
    x = randn(4, 5, dtype=dtype)
    check(lambda t, a: t.diff(a), [x], device=device)
    check(lambda t, a: a.diff(n=2, dim=0), [x], device=device)
    check(lambda t, a: t.diff(a, n=7), [x], device=device)
    check(lambda t, a, p, q: t.diff(a, 1, 1, prepend=p, append=q), [x, randn(4, 2, dtype=dtype),
                                                                     randn(4, 1, dtype=dtype)], device=device)
    check(lambda t, a: t.diff(a, n=0), [x], device=device)


def test_diff_ints_bools_and_errors():
    check(lambda t, a: t.diff(a, n=2), [np.array([1, 4, 9, 16, 2])])
    check(lambda t, a: t.diff(a), [np.array([True, False, False, True])])
    same_error(lambda t, a: t.diff(a), [np.array(1.0)])
    same_error(lambda t, a: t.diff(a, n=-1), [randn(3)])
    gradcheck(lambda t, x, p: t.diff(x, n=2, dim=0, prepend=p), [randn(3, 2), randn(1, 2)])


def test_diff_out():
    out = disttorch.empty(0)
    r = disttorch.diff(disttorch.tensor([1.0, 3.0, 6.0]), out=out)
    assert r is out and out.tolist() == [2.0, 3.0]


def test_isin(device):
    a, b = np.array([[1, 2, 3], [4, 5, 6]]), np.array([2, 6, 9])
    check(lambda t, x, y: t.isin(x, y), [a, b], device=device)
    check(lambda t, x, y: t.isin(x, y, invert=True), [a, b], device=device)
    check(lambda t, x, y: t.isin(x, y, assume_unique=True), [np.array([1, 2, 3]), b], device=device)
    check(lambda t, x: t.isin(x, 2), [a], device=device)
    check(lambda t, y: t.isin(3, y), [b], device=device)
    check(lambda t, x, y: t.isin(x, y), [np.array([0.5, 1.0, np.nan]), np.array([1.0, np.nan])], device=device)


def test_isin_out():
    for t in (disttorch, torch):
        out = t.empty(0, dtype=t.bool)
        assert t.isin(t.tensor([1, 2]), t.tensor([2]), out=out) is out and out.tolist() == [False, True]
