"""cov, corrcoef, cdist, histogram and histogramdd against PyTorch."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn, same_error

import disttorch

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]
FW = np.array([1, 2, 0, 3, 1])
AW = np.array([0.5, 1.0, 2.0, 0.1, 0.7])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov(dtype, correction, device):
    x = randn(3, 5, dtype=dtype)
    check(lambda t, a: t.cov(a, correction=correction), [x], device=device)
    check(lambda t, a: a.cov(correction=correction), [randn(5, dtype=dtype)], device=device)
    check(lambda t, a, f: t.cov(a, correction=correction, fweights=f), [x, FW], device=device)
    check(lambda t, a, w: t.cov(a, correction=correction, aweights=w), [x, AW.astype(dtype)], device=device)
    check(lambda t, a, f, w: t.cov(a, correction=correction, fweights=f, aweights=w), [x, FW, AW.astype(dtype)],
          device=device)


def test_cov_ints_complex_grad_and_errors():
    check(lambda t, a: t.cov(a), [np.array([[1, 2, 4], [3, 1, 0]])])
    check(lambda t, a: t.cov(a), [randn(2, 4) + 1j * randn(2, 4, seed=1)], grad=False)
    gradcheck(lambda t, a, w: t.cov(a, aweights=w), [randn(2, 4), np.array([0.3, 1.0, 2.0, 0.5])])
    same_error(lambda t, a: t.cov(a), [randn(2, 2, 2)])
    same_error(lambda t, a, f: t.cov(a, fweights=f), [randn(2, 3), np.array([1.0, 2.0, 3.0])])
    same_error(lambda t, a, f: t.cov(a, fweights=f), [randn(2, 3), np.array([1, 2])])
    same_error(lambda t, a, f: t.cov(a, fweights=f), [randn(2, 3), np.array([1, -2, 1])])
    same_error(lambda t, a, w: t.cov(a, aweights=w), [randn(2, 3), np.array([1, 2, 1])])
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        r = disttorch.cov(disttorch.tensor([[1.0, 2.0]]), correction=2)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert_close(r, torch.cov(torch.tensor([[1.0, 2.0]]), correction=2))


@pytest.mark.parametrize("dtype", FLOATS)
def test_corrcoef(dtype, device):
    check(lambda t, a: t.corrcoef(a), [randn(3, 6, dtype=dtype)], device=device)
    check(lambda t, a: a.corrcoef(), [randn(6, dtype=dtype)], device=device)
    check(lambda t, a: t.corrcoef(a), [np.array([[1, 2, 4], [3, 1, 0]])], device=device)
    gradcheck(lambda t, a: t.corrcoef(a), [randn(3, 4)])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, float("inf"), 0.5, 3.0])
def test_cdist(dtype, p, device):
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {}
    check(lambda t, a, b: t.cdist(a, b, p), [randn(4, 3, dtype=dtype), randn(5, 3, dtype=dtype, seed=2)],
          device=device, **tol)
    check(lambda t, a, b: t.cdist(a, b, p=p, compute_mode="donot_use_mm_for_euclid_dist"),
          [randn(2, 4, 3, dtype=dtype), randn(1, 5, 3, dtype=dtype, seed=2)], device=device, **tol)


def test_cdist_grad_and_errors():
    for p in (1.0, 2.0, 3.0, float("inf")):
        gradcheck(lambda t, a, b: t.cdist(a, b, p), [randn(3, 2), randn(2, 2, seed=5)])
    x = np.array([[0.0, 1.0], [2.0, 3.0]])  # a zero distance has gradient zero
    check(lambda t, a, b: t.cdist(a, b), [x, x.copy()])
    same_error(lambda t, a, b: t.cdist(a, b), [randn(3), randn(2, 3)])
    same_error(lambda t, a, b: t.cdist(a, b), [randn(2, 3), randn(2, 4)])
    same_error(lambda t, a, b: t.cdist(a, b, -1.0), [randn(2, 3), randn(2, 3)])
    same_error(lambda t, a, b: t.cdist(a, b), [np.array([[1, 2]]), np.array([[1, 2]])])


@pytest.mark.parametrize("dtype", FLOATS)
def test_histogram(dtype, device):
    x = randn(50, dtype=dtype)
    check(lambda t, a: t.histogram(a, 7), [x], grad=False, device=device)
    check(lambda t, a: a.histogram(4, range=(-1.0, 1.0), density=True), [x], grad=False, device=device)
    check(lambda t, a, w: t.histogram(a, 5, weight=w), [x, np.abs(randn(50, dtype=dtype, seed=3))], grad=False,
          device=device)
    check(lambda t, a, b: t.histogram(a, b), [x, np.array([-2.0, -0.5, 0.0, 0.3, 2.0], dtype=dtype)], grad=False,
          device=device)
    check(lambda t, a: t.histogram(a, 3), [np.full((2, 3), 1.5, dtype)], grad=False, device=device)
    check(lambda t, a: t.histogram(a, bins=2, range=(0.0, 1.0)), [np.array([0.0, 0.5, 1.0, 2.0], dtype)],
          grad=False, device=device)


def test_histogram_result_type_and_errors():
    for t in (disttorch, torch):
        r = t.histogram(t.tensor([1.0, 2.0, 2.5]), 2)
        assert type(r).__name__ == "histogram" and r.hist.tolist() == [1.0, 2.0] and len(r.bin_edges) == 3
    same_error(lambda t, a: t.histogram(a, 2), [np.array([1, 2])], match="histogram")
    x = np.array([1.0, 2.0])
    same_error(lambda t, a: t.histogram(a, 2, range=(1.0, 0.0)), [x])
    same_error(lambda t, a: t.histogram(a, 0), [x])
    same_error(lambda t, a: t.histogram(a, 2, range=(0.0, float("inf"))), [x])
    same_error(lambda t, a: t.histogram(a, 2, weight=t.ones(3, dtype=t.float64)), [x])
    same_error(lambda t, a: t.histogram(a, 2, weight=t.ones(2)), [x])
    same_error(lambda t, a: t.histogram(a, t.ones(2, 2, dtype=t.float64)), [x])
    same_error(lambda t, a: t.histogram(a, t.ones(2)), [x])
    same_error(lambda t, a: t.histogram(a, t.ones(1, dtype=t.float64)), [x])
    same_error(lambda t, a: t.histogram(a, 2), [np.array([np.nan, 1.0])])
    same_error(lambda t, a: t.histogramdd(a, [2]), [x.reshape(1, 2)])
    same_error(lambda t, a: t.histogramdd(a, 2, range=[0.0, 1.0]), [x.reshape(1, 2)])
    same_error(lambda t, a: t.histogramdd(a, 2, weight=t.ones(2, dtype=t.float64)), [x.reshape(1, 2)])
    check(lambda t, a: t.histogram(a, 2), [np.zeros(0)], grad=False)
    check(lambda t, a: t.histogram(a, 2, range=(1.0, 1.0)), [x], grad=False)
    check(lambda t, a, w: t.histogram(a, 3, weight=w), [randn(2, 3), np.ones((2, 3), np.float32)], grad=False)


@pytest.mark.parametrize("dtype", FLOATS)
def test_histogramdd(dtype, device):
    x = randn(40, 2, dtype=dtype)
    check(lambda t, a: t.histogramdd(a, [3, 4]), [x], grad=False, device=device)
    check(lambda t, a: t.histogramdd(a, 3, range=[-1.0, 1.0, -2.0, 2.0], density=True), [x], grad=False,
          device=device)
    check(lambda t, a, w: t.histogramdd(a, [2, 2], weight=w), [x, np.abs(randn(40, dtype=dtype))], grad=False,
          device=device)
    check(lambda t, a, e0, e1: t.histogramdd(a, [e0, e1]), [x, np.array([-1.0, 0.0, 1.0], dtype),
                                                             np.array([-3.0, 3.0], dtype)], grad=False, device=device)
