"""diagflat, dist, linalg.diagonal, linalg.vander, frobenius_norm, nuclear_norm, cholesky_solve and cholesky_inverse
against PyTorch."""
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


def _factor(*shape, upper=False, seed=0):
    """A Cholesky factor of a well-conditioned SPD matrix (triangular, positive diagonal)."""
    n = shape[-1]
    a = randn(*shape, seed=seed, dtype=np.float64)
    spd = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    low = np.linalg.cholesky(spd)
    return np.swapaxes(low, -1, -2).copy() if upper else low


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("bshape,lshape", [((3, 2), (3, 3)), ((2, 4, 1), (2, 4, 4)), ((2, 3, 2), (3, 3))])
def test_cholesky_solve(upper, bshape, lshape):
    L = _factor(*lshape, upper=upper)
    B = randn(*bshape, seed=2, dtype=np.float64)
    check(lambda m, b, f: m.cholesky_solve(b, f, upper), [B, L])
    check(lambda m, b, f: b.cholesky_solve(f, upper), [B, L])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky_inverse(upper, shape):
    L = _factor(*shape, upper=upper)
    check(lambda m, f: m.cholesky_inverse(f, upper), [L])
    check(lambda m, f: f.cholesky_inverse(upper), [L])
    gradcheck(lambda m, f: m.cholesky_inverse(f, upper), [L])


def test_cholesky_solve_gradcheck():
    gradcheck(lambda m, b, f: m.cholesky_solve(b, f), [randn(3, 2, seed=1), _factor(3, 3)])


@pytest.mark.parametrize("shape,scale", [((3, 3), 0.1), ((2, 4, 4), 1.0), ((3, 3), 5.0)])
def test_matrix_exp(shape, scale):
    a = randn(*shape, dtype=np.float64) * scale
    check(lambda m, x: m.linalg.matrix_exp(x), [a], rtol=1e-9, atol=1e-9)
    check(lambda m, x: m.matrix_exp(x), [a.astype(np.float32)], rtol=1e-4, atol=1e-4)
    check(lambda m, x: x.matrix_exp(), [a], rtol=1e-9, atol=1e-9)
    gradcheck(lambda m, x: m.linalg.matrix_exp(x), [a])


def test_matrix_exp_non_square():
    same_error(lambda m, x: m.linalg.matrix_exp(x), [randn(2, 3)])
