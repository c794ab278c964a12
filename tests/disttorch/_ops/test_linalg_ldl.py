"""linalg.ldl_factor(_ex) / ldl_solve against PyTorch (LAPACK sytrf/sytrs): LD, pivots, info, solutions,
batches, complex symmetric input, no derivative, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")


def _sym(n, seed, dtype=np.float64, zero_diag=False):
    r = np.random.default_rng(seed)
    a = r.standard_normal((n, n))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * r.standard_normal((n, n))
    a = (a + a.T).astype(dtype)
    if zero_diag:
        np.fill_diagonal(a, 0)
    return a


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_factor_and_solve_as_pytorch(seed, dtype):
    n = 1 + seed % 9
    a = _sym(n, seed, dtype, zero_diag=seed % 4 == 1)
    b = np.random.default_rng(seed + 100).standard_normal((n, 3)).astype(dtype)
    ours = disttorch.linalg.ldl_factor_ex(disttorch.tensor(a))
    theirs = torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert ours._fields == ("LD", "pivots", "info")
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert_close(ours.LD, theirs.LD, tol, tol)
    assert_close(ours.pivots, theirs.pivots)
    assert_close(ours.info, theirs.info)
    x = disttorch.linalg.ldl_solve(ours.LD, ours.pivots, disttorch.tensor(b))
    tx = torch.linalg.ldl_solve(theirs.LD, theirs.pivots, torch.tensor(b))
    assert_close(x, tx, tol * 100, tol * 100)


def test_batched_and_singular():
    a = np.stack([_sym(5, s) for s in range(3)])
    a[1] = 0  # singular: info names the first zero pivot
    ours = disttorch.linalg.ldl_factor_ex(disttorch.tensor(a))
    theirs = torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert_close(ours.LD, theirs.LD, 1e-10, 1e-10)
    assert_close(ours.pivots, theirs.pivots)
    assert_close(ours.info, theirs.info)
    b = np.random.default_rng(0).standard_normal((5, 2))
    ok = disttorch.linalg.ldl_factor(disttorch.tensor(a[0]))
    tok = torch.linalg.ldl_factor(torch.tensor(a[0]))
    assert ok._fields == ("LD", "pivots")
    assert_close(disttorch.linalg.ldl_solve(*ok, disttorch.tensor(b)), torch.linalg.ldl_solve(*tok, torch.tensor(b)),
                 1e-10, 1e-10)
    with pytest.raises(disttorch.linalg.LinAlgError, match="not invertible"):  # PyTorch: an internal assert
        disttorch.linalg.ldl_factor(disttorch.zeros(3, 3, dtype=disttorch.float64))
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="must be batches of square matrices"):
            lib.linalg.ldl_factor(lib.zeros(2, 3))


def test_no_derivative_as_pytorch():
    for lib in (disttorch, torch):
        A = lib.tensor(_sym(4, 0), requires_grad=True)
        LD = lib.linalg.ldl_factor_ex(A).LD
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
            LD.sum().backward()
