"""linalg.inv_ex / solve_ex / cholesky_ex with check_errors=False: a failing matrix of a batch gives its LAPACK
info (no error) and the others their results, as PyTorch; check_errors=True raises."""
import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

_BATCH = [np.eye(3) * 2, [[1.0, 2, 3], [2, 4, 6], [0, 0, 1]], [[1.0, 0, 0], [0, -1, 0], [0, 0, 1]],
          [[4.0, 2, 0], [2, 5, 1], [0, 1, 3]]]


def _both(fn, device):
    out = {}
    for lib in (disttorch, torch):
        dev = device if lib is disttorch else "cpu"
        a = lib.tensor(np.array(_BATCH, dtype=np.float64), device=dev)
        out[lib] = fn(lib, a, dev)
    return out[disttorch], out[torch]


@pytest.mark.parametrize("name", ["inv_ex", "cholesky_ex", "solve_ex"])
def test_failed_matrices_report_info(name, device):
    def run(lib, a, dev):
        if name == "solve_ex":
            return lib.linalg.solve_ex(a, lib.ones(4, 3, 2, dtype=a.dtype, device=dev))
        return getattr(lib.linalg, name)(a)

    (got, info), (want, winfo) = _both(run, device)
    assert info.tolist() == winfo.tolist() and info.dtype == disttorch.int32
    ok = [i for i, v in enumerate(winfo.tolist()) if v == 0]
    np.testing.assert_allclose(got.cpu().numpy()[ok], want.numpy()[ok], rtol=1e-10, atol=1e-12)
    assert tuple(got.shape) == tuple(want.shape)


@pytest.mark.parametrize("name", ["inv_ex", "cholesky_ex"])
def test_check_errors_raises(name, device):
    a = disttorch.zeros(2, 2, dtype=disttorch.float64, device=device)
    with pytest.raises(disttorch.linalg.LinAlgError):
        getattr(disttorch.linalg, name)(a, check_errors=True)


def test_gradients_flow_through_the_matrices_that_succeeded():
    grads = []
    for lib in (disttorch, torch):
        a = lib.tensor(np.array(_BATCH, dtype=np.float64), requires_grad=True)
        inv, info = lib.linalg.inv_ex(a)
        inv[info == 0].sum().backward()
        grads.append(a.grad.numpy()[[0, 2, 3]])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


@pytest.mark.parametrize("rhs", [(3,), (4, 3), (4, 3, 2), (2, 1, 3, 2)])
def test_solve_ex_right_hand_sides_of_every_form(rhs, device):
    """A vector for every matrix, a batch of vectors, a batch of matrices, and a broadcast batch: the failed
    matrix's info (over A's own batch) and the others' solutions, as PyTorch."""
    b0 = np.arange(1, 1 + int(np.prod(rhs)), dtype=np.float64).reshape(rhs)

    def run(lib, a, dev):
        return lib.linalg.solve_ex(a, lib.tensor(b0, device=dev))

    (got, info), (want, winfo) = _both(run, device)
    assert info.tolist() == winfo.tolist() and tuple(got.shape) == tuple(want.shape)
    ok = [i for i, v in enumerate(winfo.tolist()) if v == 0]  # PyTorch's results for a failed matrix are LAPACK's
    axis = got.ndim - (1 if len(rhs) < 3 else 2) - 1  # the batch axis that runs along A's matrices
    np.testing.assert_allclose(np.take(got.cpu().numpy(), ok, axis), np.take(want.numpy(), ok, axis),
                               rtol=1e-10, atol=1e-12)
