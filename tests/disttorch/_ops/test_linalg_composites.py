"""diagflat, dist, linalg.diagonal and linalg.vander against PyTorch."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

import disttorch.linalg  # noqa: F401  (the torch.linalg namespace)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (1,)])
@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diagflat(shape, offset):
    check(lambda m, x: m.diagflat(x, offset), [randn(*shape)])
    check(lambda m, x: x.diagflat(offset), [randn(*shape, dtype=np.float64)])
    gradcheck(lambda m, x: m.diagflat(x, offset), [randn(*shape)])


@pytest.mark.parametrize("p", [2, 1, 3.5, 0, float("inf"), -float("inf")])
def test_dist_broadcast(p):
    grad = p != 0  # torch's own backward of dist with p=0 fails
    check(lambda m, x, y: m.dist(x, y, p), [randn(2, 3), randn(3, seed=5)], grad=grad)
    check(lambda m, x, y: x.dist(y, p), [randn(4, dtype=np.float64), randn(4, seed=9, dtype=np.float64)], grad=grad)


def test_dist_gradcheck():
    gradcheck(lambda m, x, y: m.dist(x, y), [randn(2, 3), randn(2, 3, seed=3)])
    gradcheck(lambda m, x, y: m.dist(x, y, 3), [randn(3), randn(3, seed=4)])


@pytest.mark.parametrize("offset", [0, 1, -1])
def test_linalg_diagonal_batched(offset):
    check(lambda m, a: m.linalg.diagonal(a, offset=offset), [randn(2, 3, 4)])
    check(lambda m, a: m.linalg.diagonal(a, dim1=0, dim2=2), [randn(3, 2, 4)])
    gradcheck(lambda m, a: m.linalg.diagonal(a, offset=offset), [randn(2, 3, 3)])


@pytest.mark.parametrize("N", [None, 2, 5])
def test_vander(N):
    check(lambda m, x: m.linalg.vander(x, N=N), [randn(2, 3, dtype=np.float64)])
    check(lambda m, x: m.linalg.vander(x, N=N), [np.arange(4)])
    gradcheck(lambda m, x: m.linalg.vander(x, N=N), [randn(3)])


def test_vander_errors():
    same_error(lambda m, x: m.linalg.vander(x, N=1), [randn(3)])
    same_error(lambda m, x: m.linalg.vander(x), [np.array(2.0)])


LEGACY = pytest.mark.filterwarnings("ignore::UserWarning")  # torch deprecates both legacy names


@LEGACY
@pytest.mark.parametrize("dim,keepdim", [((0, 1), False), ((1,), True), (1, False), ((-1, -2), True)])
def test_frobenius_norm(dim, keepdim):
    check(lambda m, a: m.frobenius_norm(a, dim, keepdim), [randn(2, 3, 4)])
    gradcheck(lambda m, a: m.frobenius_norm(a, dim, keepdim), [randn(2, 3, 4)])


@LEGACY
def test_frobenius_norm_too_many_dims():
    same_error(lambda m, a: m.frobenius_norm(a, (0, 1, 2)), [randn(2, 3, 4)])


@LEGACY
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
def test_nuclear_norm(shape):
    check(lambda m, a: m.nuclear_norm(a), [randn(*shape, dtype=np.float64)])
    check(lambda m, a: m.nuclear_norm(a, True), [randn(*shape, dtype=np.float64)])
    gradcheck(lambda m, a: m.nuclear_norm(a), [randn(*shape)])


@LEGACY
def test_nuclear_norm_dims_keepdim():
    check(lambda m, a: m.nuclear_norm(a, (0, 2), True), [randn(3, 2, 4, dtype=np.float64)])
