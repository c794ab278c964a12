"""Sorting, top-k, unique and searching against PyTorch."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]
TIES = np.array([[3.0, 1.0, 2.0, 1.0, 3.0], [0.0, 0.0, -1.0, 5.0, 0.0]])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2), ((), 0)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(shape, dim, descending, dtype, device):
    check(lambda t, x: t.sort(x, dim, descending=descending), [randn(*shape, dtype=dtype)], device=device)
    check(lambda t, x: x.argsort(dim, descending=descending), [randn(*shape, dtype=dtype)], device=device)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_and_nan(descending):
    check(lambda t, x: x.sort(stable=True, descending=descending), [TIES])
    check(lambda t, x: t.argsort(x, dim=0, stable=True, descending=descending), [TIES])
    check(lambda t, x: t.sort(x, descending=descending, stable=True), [np.array([2.0, np.nan, -1.0, np.nan, 0.0])])
    check(lambda t, x: t.sort(x, descending=descending, stable=True), [np.array([3, 1, 2, 1, -7])])
    check(lambda t, x: t.sort(x, stable=True), [np.array([True, False, True])])


def test_sort_result_type():
    for t in (disttorch, torch):
        r = t.sort(t.tensor([2.0, 1.0]))
        assert type(r).__name__ == "sort" and r.values.tolist() == [1.0, 2.0] and r.indices.tolist() == [1, 0]
        values, indices = r
        assert r[0] is values and indices.dtype == t.int64 and not indices.requires_grad


@pytest.mark.parametrize("dtype", FLOATS)
def test_msort(dtype, device):
    check(lambda t, x: t.msort(x), [randn(4, 3, dtype=dtype)], device=device)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k, dim, largest", [(2, -1, True), (3, 0, False), (1, 1, True), (0, 1, True), (4, 0, True)])
def test_topk(k, dim, largest, dtype, device):
    check(lambda t, x: t.topk(x, k, dim, largest=largest), [randn(4, 5, dtype=dtype)], device=device)
    check(lambda t, x: x.topk(k, dim=dim, largest=largest, sorted=True), [randn(4, 5, dtype=dtype)], device=device)


def test_topk_kthvalue_result_types():
    for t in (disttorch, torch):
        assert type(t.topk(t.tensor([1.0, 3.0]), 1)).__name__ == "topk"
        r = t.tensor([1.0, 3.0, 2.0]).kthvalue(2)
        assert type(r).__name__ == "kthvalue" and r.values.item() == 2.0 and r.indices.item() == 2


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("k, dim, keepdim", [(1, -1, False), (3, 0, True), (5, 1, False), (2, 1, True)])
def test_kthvalue(k, dim, keepdim, dtype, device):
    check(lambda t, x: t.kthvalue(x, k, dim, keepdim), [randn(4, 5, dtype=dtype)], device=device)


def test_sort_topk_kthvalue_gradcheck():
    gradcheck(lambda t, x: t.sort(x, 1, descending=True).values, [randn(3, 4)])
    gradcheck(lambda t, x: t.topk(x, 2, 0).values, [randn(3, 4)])
    gradcheck(lambda t, x: t.kthvalue(x, 2, 1).values, [randn(3, 4)])


def test_grad_fn_names():
    for t in (disttorch, torch):
        x = t.tensor([1.0, 5.0, 3.0], requires_grad=True)
        assert x.sort().values.grad_fn.name() == "SortBackward0"
        assert x.topk(2).values.grad_fn.name() == "TopkBackward0"
        assert x.kthvalue(2).values.grad_fn.name() == "KthvalueBackward0"


def test_order_statistic_errors():
    for t in (disttorch, torch):
        x = t.zeros(3, 4)
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            t.topk(x, 5)
        with pytest.raises(RuntimeError, match=r"kthvalue\(\): selected number k out of range for dimension 1"):
            t.kthvalue(x, 5)
        with pytest.raises(IndexError, match="Dimension out of range"):
            t.sort(x, 2)


# -- unique ----------------------------------------------------------------------------------------------
UNIQUE_INPUTS = [
    np.array([3, 1, 3, 2, 1, 1]), np.array([[1.5, -2.0], [1.5, 0.0]]), np.array([], dtype=np.int64),
    np.array([True, False, True]), np.array(4),
]


@pytest.mark.parametrize("arr", UNIQUE_INPUTS, ids=lambda a: f"{a.dtype}{a.shape}")
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique(arr, inverse, counts):
    check(lambda t, x: t.unique(x, return_inverse=inverse, return_counts=counts), [arr], grad=False)
    check(lambda t, x: t.unique_consecutive(x, return_inverse=inverse, return_counts=counts), [arr], grad=False)
    check(lambda t, x: x.unique(sorted=True, return_inverse=inverse, return_counts=counts), [arr], grad=False)


def test_unique_is_not_differentiable():
    for t in (disttorch, torch):
        x = t.tensor([1.0, 2.0, 1.0], requires_grad=True)
        u = t.unique(x)
        assert u.grad_fn.name() == "Unique2Backward0"
        with pytest.raises(RuntimeError, match="the derivative for '_unique2' is not implemented."):
            u.backward(t.ones(2))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim(dim):
    arr = np.array([[1, 2, 1, 2], [1, 2, 1, 2], [0, 5, 0, 5], [1, 2, 1, 2]])
    check(lambda t, x: t.unique(x, dim=dim, return_inverse=True, return_counts=True), [arr])
    check(lambda t, x: t.unique(x, dim=dim), [arr.astype(np.float32)], grad=False)
    check(lambda t, x: t.unique_consecutive(x, dim=dim, return_inverse=True, return_counts=True), [arr])


# -- searching and counting ------------------------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
def test_searchsorted(right, out_int32):
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    vals = np.array([[0.0, 3.0, 8.0], [5.0, 4.0, 1.0]])
    check(lambda t, s, v: t.searchsorted(s, v, right=right, out_int32=out_int32), [seq, vals])
    side = "right" if right else "left"
    check(lambda t, s, v: t.searchsorted(s, v, side=side), [seq, vals])
    check(lambda t, s: t.searchsorted(s, 3.0, right=right), [seq])
    batched = np.array([[1, 3, 5], [2, 4, 6]])
    check(lambda t, s, v: t.searchsorted(s, v, right=right), [batched, np.array([[3, 0], [6, 4]])])
    check(lambda t, v, b: t.bucketize(v, b, right=right, out_int32=out_int32), [vals, seq])
    check(lambda t, b: t.bucketize(3, b, right=right), [seq])


def test_searchsorted_sorter_and_errors():
    seq = np.array([5.0, 1.0, 3.0])
    check(lambda t, s: t.searchsorted(s, t.tensor([2.0, 4.0, 6.0]), sorter=t.tensor([1, 2, 0])), [seq])
    for t in (disttorch, torch):
        with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
            t.searchsorted(t.tensor([1.0]), t.tensor([1.0]), right=True, side="left")
        with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension"):
            t.bucketize(t.tensor([1.0]), t.zeros(2, 2))


@pytest.mark.parametrize("weights", [None, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("minlength", [0, 9])
def test_bincount(weights, minlength):
    x = np.array([0, 3, 1, 3, 3, 5])
    if weights is None:
        check(lambda t, a: t.bincount(a, minlength=minlength), [x])
        check(lambda t, a: a.bincount(), [np.array([], dtype=np.int64)])
    else:
        w = (np.arange(6) * 1.5).astype(weights)
        check(lambda t, a, b: t.bincount(a, b, minlength=minlength), [x, w], grad=False)


def test_bincount_errors():
    for t in (disttorch, torch):
        with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs"):
            t.bincount(t.tensor([1, -1]))
        with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs"):
            t.bincount(t.tensor([[1]]))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("bins, lo, hi", [(4, 0, 3), (10, 0, 0), (3, -1.0, 0.5), (5, 2, 2)])
def test_histc(bins, lo, hi, dtype):
    x = np.array([1.0, 2.0, 1.0, -0.5, 3.0, 7.0, 0.25], dtype=dtype)
    check(lambda t, a: t.histc(a, bins=bins, min=lo, max=hi), [x], grad=False)
    check(lambda t, a: a.histc(bins, lo, hi), [randn(20, dtype=dtype)], grad=False)


@pytest.mark.parametrize("call", [
    lambda t, x, o: t.sort(x, 1, out=(o[0], o[1])),
    lambda t, x, o: t.topk(x, 2, out=(o[0], o[1])),
    lambda t, x, o: t.kthvalue(x, 2, out=(o[0], o[1])),
    lambda t, x, o: t.msort(x, out=o[0]),
    lambda t, x, o: t.histc(x, 4, out=o[0]),
    lambda t, x, o: t.searchsorted(x.sort().values, x, out=o[1]),
    lambda t, x, o: t.bucketize(x, x.reshape(-1).sort().values, out=o[1]),
])
def test_out_is_written(call):
    results = []
    for t in (disttorch, torch):
        out = (t.empty(0), t.empty(0, dtype=t.int64))
        call(t, t.tensor(randn(2, 5)), out)  # no ties: the order of tied indices is unspecified
        results.append([o.numpy() for o in out])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)
