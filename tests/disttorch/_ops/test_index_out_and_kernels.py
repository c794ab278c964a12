"""out= on the indexing ops, their in-place forms, and the backend's scatter_reduce kernel."""
import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

X = np.arange(12.0).reshape(3, 4)
IDX = np.array([[0, 3], [1, 1], [2, 0]])


@pytest.mark.parametrize("op", [
    lambda t, x, out: t.gather(x, 1, t.tensor(IDX), out=out),
    lambda t, x, out: t.take_along_dim(x, t.tensor(IDX), 1, out=out),
    lambda t, x, out: t.scatter(x, 1, t.tensor(IDX), 5.0, out=out),
    lambda t, x, out: t.scatter_reduce(x, 1, t.tensor(IDX), x[:, :2], "amax", out=out),
    lambda t, x, out: t.index_select(x, 0, t.tensor([2, 0]), out=out),
    lambda t, x, out: t.index_add(x, 1, t.tensor([0, 0, 3, 1]), x, out=out),
    lambda t, x, out: t.index_copy(x, 0, t.tensor([2, 1, 0]), x, out=out),
    lambda t, x, out: t.masked_select(x, x > 4, out=out),
], ids=["gather", "take_along_dim", "scatter", "scatter_reduce", "index_select", "index_add", "index_copy",
        "masked_select"])
def test_out_is_written(op):
    out, tout = disttorch.empty(0, dtype=disttorch.float64), torch.empty(0, dtype=torch.float64)
    ours, theirs = op(disttorch, disttorch.tensor(X), out), op(torch, torch.tensor(X), tout)
    assert ours is out and theirs is tout
    assert_close(out, tout)


def test_nonzero_out():
    out, tout = disttorch.empty(0, dtype=disttorch.int64), torch.empty(0, dtype=torch.int64)
    disttorch.nonzero(disttorch.tensor(X) > 5, out=out)
    torch.nonzero(torch.tensor(X) > 5, out=tout)
    assert_close(out, tout)


@pytest.mark.parametrize("name,args", [
    ("scatter_", (1, IDX, 7.0)), ("scatter_add_", (1, IDX, X[:, :2])),
    ("scatter_reduce_", (1, IDX, X[:, :2], "prod")), ("index_add_", (0, np.array([2, 2, 0]), X)),
    ("index_copy_", (0, np.array([1, 0, 2]), X)), ("index_fill_", (1, np.array([3, 0]), -1.0)),
    ("masked_scatter_", (X > 6, X)), ("put_", (np.array([0, 11, 0]), X[0, :3], True)),
])
def test_inplace_forms_write_into_self(name, args):
    def run(t):
        x = t.tensor(X)
        conv = [t.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        return x, getattr(x, name)(*conv)

    (x, r), (tx, tr) = run(disttorch), run(torch)
    assert r is x and tr is tx
    assert_close(x, tx)


def test_scatter_reduce_kernel():
    kernels = disttorch.backends.get_backend("cpu").kernels
    for how, expect in (("sum", [4.0, 1.0, 4.0]), ("prod", [2.0, 1.0, 3.0]), ("amax", [2.0, 1.0, 3.0]),
                        ("amin", [1.0, 1.0, 1.0])):
        target = np.ones(3)  # repeated index 0 must take both values
        kernels["scatter_reduce"](target, np.array([0, 0, 2]), np.array([1.0, 2.0, 3.0]), how)
        np.testing.assert_array_equal(target, expect)


class _NoAt:
    """numpy, except that ``multiply`` has no unbuffered ``at`` (as cupy's)."""

    class multiply:  # noqa: N801
        def __new__(cls, *args, **kwargs):
            return np.multiply(*args, **kwargs)

        @staticmethod
        def at(*args):
            raise NotImplementedError("`multiply.at` is not supported yet")

    def __getattr__(self, name):
        return getattr(np, name)


def test_scatter_reduce_kernel_without_ufunc_at_reduces_in_rounds():
    kernels = disttorch.backends.kernels_xp.kernel_table(_NoAt())
    target = np.ones(4)
    index = np.array([0, 0, 2, 0, 3])  # position 0 three times: three rounds
    kernels["scatter_reduce"](target, index, np.array([2.0, 3.0, 5.0, 7.0, 11.0]), "prod")
    np.testing.assert_array_equal(target, [42.0, 1.0, 5.0, 11.0])
    strided = np.ones((3, 2))[:, :1]  # not contiguous: written back
    kernels["scatter_reduce"](strided, (np.array([1, 1]), np.array([0, 0])), np.array([2.0, 4.0]), "prod")
    np.testing.assert_array_equal(strided[:, 0], [1.0, 8.0, 1.0])
