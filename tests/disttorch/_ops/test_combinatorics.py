"""cartesian_prod, combinations, block_diag, tril/triu_indices, unravel_index and vander against PyTorch."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn, same_error

import disttorch

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", FLOATS)
def test_cartesian_prod(dtype, device):
    check(lambda t, a, b, c: t.cartesian_prod(a, b, c), [randn(2, dtype=dtype), randn(3, dtype=dtype),
                                                          randn(2, dtype=dtype, seed=3)], device=device)
    check(lambda t, a: t.cartesian_prod(a), [randn(3, dtype=dtype)], device=device)
    check(lambda t, a, b: t.cartesian_prod(a, b), [np.array([1, 2]), np.array([5, 6, 7])], device=device)
    gradcheck(lambda t, a, b: t.cartesian_prod(a, b), [randn(2), randn(3)])


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations(r, with_replacement, device):
    check(lambda t, a: t.combinations(a, r, with_replacement), [randn(4)], device=device)
    check(lambda t, a: t.combinations(a, r=r, with_replacement=with_replacement), [np.array([3, 1, 2])],
          device=device)


def test_combinations_grad_and_errors():
    gradcheck(lambda t, a: t.combinations(a, 2, with_replacement=True), [randn(3)])
    same_error(lambda t, a: t.combinations(a), [randn(2, 2)])
    same_error(lambda t, a: t.combinations(a, -1), [randn(3)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_block_diag(dtype, device):
    check(lambda t, a, b, c: t.block_diag(a, b, c), [randn(2, 3, dtype=dtype), randn(dtype=dtype),
                                                      randn(2, dtype=dtype)], device=device)
    check(lambda t, a, b: t.block_diag(a, b), [np.array([[1, 2]]), randn(2, 2, dtype=dtype)], device=device)
    check(lambda t, a: t.block_diag(a), [randn(0, 2, dtype=dtype)], device=device)
    gradcheck(lambda t, a, b: t.block_diag(a, b), [randn(2, 2), randn(3)])
    same_error(lambda t, a: t.block_diag(a), [randn(1, 2, 3)])
    assert_close(disttorch.block_diag(), torch.block_diag())


@pytest.mark.parametrize("row, col, offset", [(3, 3, 0), (3, 5, 1), (5, 3, -2), (4, 4, 10), (4, 4, -10), (0, 3, 0)])
def test_tril_triu_indices(row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        assert_close(getattr(disttorch, name)(row, col, offset), getattr(torch, name)(row, col, offset), what=name)
        assert_close(getattr(disttorch, name)(row, col, offset, dtype=disttorch.int32),
                     getattr(torch, name)(row, col, offset, dtype=torch.int32), what=name)


def test_unravel_index(device):
    idx = np.array([[0, 5, 11], [-1, -12, 7]])
    check(lambda t, i: t.unravel_index(i, (3, 4)), [idx], device=device)
    check(lambda t, i: t.unravel_index(i, 12), [idx], device=device)
    check(lambda t, i: t.unravel_index(i, (2, 1, 6)), [np.array(7)], device=device)
    same_error(lambda t, i: t.unravel_index(i, (3, 4)), [np.array([1.0])])
    same_error(lambda t, i: t.unravel_index(i, (3, -4)), [np.array([1])])
    check(lambda t, i: t.unravel_index(i, (3, 4)), [np.array([12, -13, 100])])
    assert disttorch.unravel_index(disttorch.tensor([1]), ()) == ()


@pytest.mark.parametrize("N", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander(N, increasing, device):
    # PyTorch's own vander backward fails (an in-place cumprod), so gradients are checked by gradcheck only
    check(lambda t, x: t.vander(x, N, increasing), [randn(3, dtype=np.float64)], grad=False, device=device)
    check(lambda t, x: t.vander(x, N=N, increasing=increasing), [np.array([1, 2, 3], dtype=np.int32)], device=device)
    check(lambda t, x: t.vander(x, N, increasing), [np.array([True, False])], device=device)


def test_vander_grad_and_errors():
    gradcheck(lambda t, x: t.vander(x, 4), [np.array([0.0, 1.5, -2.0])])
    same_error(lambda t, x: t.vander(x), [randn(2, 2)])
    same_error(lambda t, x: t.vander(x, -1), [randn(2)])
