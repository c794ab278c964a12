"""Indexing, gather/scatter and the index_* family against PyTorch."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

FLOATS = [np.float32, np.float64]

BASIC = [
    0, -1, (1, 2), (0, -1, 3), slice(1, 3), slice(None, None, 2), slice(-3, None), (slice(None), 1),
    (Ellipsis, 1), (1, Ellipsis), (None,), (None, 0), (0, None), (slice(None), None, slice(1, 4, 2)),
    (Ellipsis,), (slice(None),), (Ellipsis, None), (1, slice(0, 0)), (slice(5, 10),),
]

ADVANCED = [
    [0, 2], [2, 2, 0, 2], np.array([1, -1]), ([0, 1], [3, 3]), ([[0], [2]], [1, 2, 3]),
    (slice(None), [0, 0, 3]), (slice(None), [[1, 2]], slice(1, 3)), ([0, 2], slice(None), [4, 4]),
    (1, [0, 3]), (Ellipsis, [4, 0, 4]), (None, [0, 1]), [], np.array([True, False, True]),
    (slice(None), np.array([True, False, False, True])), np.random.default_rng(0).random((3, 4)) > 0.5,
    True, False,
]


def _torch_index(index):
    """Arrays in an index are passed to each framework as its own tensor type."""
    def conv(t, i):
        return t.tensor(i) if isinstance(i, np.ndarray) else i
    return lambda t: tuple(conv(t, i) for i in index) if isinstance(index, tuple) else conv(t, index)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index", BASIC, ids=repr)
def test_getitem_basic(index, dtype, device):
    check(lambda t, x: x[index], [randn(3, 4, 5, dtype=dtype)], device=device)


@pytest.mark.parametrize("index", BASIC, ids=repr)
def test_getitem_basic_is_view_with_torch_node(index):
    x = disttorch.tensor(randn(3, 4, 5), requires_grad=True) * 1
    tx = torch.tensor(randn(3, 4, 5), requires_grad=True) * 1
    y, ty = x[index], tx[index]
    assert y.grad_fn.name() == ty.grad_fn.name()
    assert y._base is x
    assert y._version_counter == x._version_counter
    plain = disttorch.tensor(randn(3, 4, 5))
    v = plain[index]
    if v.numel():
        v.mul_(0)
        ref = randn(3, 4, 5)
        ref[index] = 0
        np.testing.assert_array_equal(plain.numpy(), ref)
        assert plain._version_counter == v._version_counter == 1


def test_getitem_0dim_and_int_tensor_index():
    check(lambda t, x: x[...], [randn(dtype=np.float64)])
    check(lambda t, x: x[None], [randn(dtype=np.float64)])
    check(lambda t, x: x[t.tensor(1)], [randn(3, 2)])
    x = disttorch.tensor(randn(3, 2), requires_grad=True) * 1
    assert x[disttorch.tensor(1)].grad_fn.name() == "SelectBackward0"
    assert x[np.int64(1), 1].shape == torch.Size([])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index", ADVANCED, ids=lambda i: repr(i)[:40])
def test_getitem_advanced(index, dtype, device):
    idx = _torch_index(index)
    check(lambda t, x: x[idx(t)], [randn(3, 4, 5, dtype=dtype)], device=device)


def test_getitem_advanced_is_a_copy():
    x = disttorch.tensor(randn(3, 4), requires_grad=True) * 1
    y = x[[0, 0, 2]]
    assert y.grad_fn.name() == "IndexBackward0"
    assert y._base is None
    plain = disttorch.tensor(randn(3, 4))
    c = plain[[0, 1]]
    c.mul_(0)
    np.testing.assert_array_equal(plain.numpy(), randn(3, 4))


def test_getitem_tensor_indices():
    i = np.array([[0, 2], [1, 1]])
    j = np.array([3, 0])
    check(lambda t, x: x[t.tensor(i), t.tensor(j)], [randn(3, 4)])
    check(lambda t, x: x[t.tensor(i, dtype=t.int32)], [randn(3, 4)])
    check(lambda t, x: x[t.tensor(randn(3, 4) > 0)], [randn(3, 4)])
    check(lambda t, x: x[t.tensor([1, 0, 1], dtype=t.bool), 1:], [randn(3, 4)])


def test_getitem_gradcheck():
    gradcheck(lambda t, x: x[1:, ::2], [randn(3, 4)])
    gradcheck(lambda t, x: x[None, 0, ..., 1], [randn(3, 4, 2)])
    gradcheck(lambda t, x: x[[0, 2, 0, 0]], [randn(3, 4)])
    gradcheck(lambda t, x: x[[[0, 0], [1, 0]], [1, 1]], [randn(3, 4)])
    gradcheck(lambda t, x: x[:, [3, 3, 1]] * x[:, [3, 3, 1]], [randn(3, 4)])


def test_getitem_double_backward():
    x = disttorch.tensor(randn(4, dtype=np.float64), requires_grad=True)
    tx = torch.tensor(randn(4, dtype=np.float64), requires_grad=True)
    g, = disttorch.autograd.grad((x[[0, 0, 1]] * x[[0, 0, 1]]).sum(), x, create_graph=True)
    tg, = torch.autograd.grad((tx[[0, 0, 1]] * tx[[0, 0, 1]]).sum(), tx, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy())
    gg, = disttorch.autograd.grad((g * g).sum(), x)
    tgg, = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy())


@pytest.mark.parametrize("index, exc, msg", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ((0, 9), IndexError, "index 9 is out of bounds for dimension 1 with size 4"),
    ([0, 5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((0, 0, 0), IndexError, "too many indices for tensor of dimension 2"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (1.5, IndexError, "only integers, slices"),
    (np.array([True, False]), IndexError, r"The shape of the mask \[2\] at index 0 does not match"),
])
def test_getitem_errors(index, exc, msg):
    for t in (disttorch, torch):
        x = t.zeros(3, 4)
        with pytest.raises(exc, match=msg):
            x[t.tensor(index) if isinstance(index, np.ndarray) else index]


def test_getitem_float_tensor_index_error():
    for t in (disttorch, torch):
        with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
            t.zeros(3)[t.tensor([1.0])]


# -- setitem ----------------------------------------------------------------------------------------
SET_CASES = [
    (0, (5,)), ((1, 2), ()), (slice(0, 2), (1, 5)), ((slice(None), 1), (3, 1)), ((Ellipsis, 3), (4,)),
    ([0, 2], (2, 4, 5)), ([2, 0], (5,)), ((slice(None), [1, 3]), (2, 1)), (np.array([True, False, True]), (5,)),
    (([0, 1], [2, 3]), ()), ((None, 1), (4, 5)),
]


def _set(index, value_is_tensor=True):
    idx = _torch_index(index)

    def fn(t, x, v):
        y = x * 1
        y[idx(t)] = v if value_is_tensor else 2.5
        return y
    return fn


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index, vshape", SET_CASES, ids=lambda c: repr(c)[:30])
def test_setitem_autograd(index, vshape, dtype, device):
    check(_set(index), [randn(3, 4, 5, dtype=dtype), randn(*vshape, seed=1, dtype=dtype)], device=device)


@pytest.mark.parametrize("index, vshape", SET_CASES[:6], ids=lambda c: repr(c)[:30])
def test_setitem_scalar_and_no_grad(index, vshape):
    check(_set(index, value_is_tensor=False), [randn(3, 4, 5), randn(*vshape)])
    check(_set(index), [randn(3, 4, 5), randn(*vshape)], grad=False)


def test_setitem_gradcheck():
    gradcheck(_set((slice(None), 1)), [randn(3, 4), randn(3)])
    gradcheck(_set([0, 2]), [randn(3, 4), randn(4)])
    gradcheck(_set(np.array([[True, False], [False, True]])), [randn(2, 2), randn(2)])


def test_setitem_bumps_version_seen_by_view():
    x = disttorch.zeros(3, 4)
    view = x[1]
    x[0, 1] = 5.0
    assert x._version_counter == 1 and view._version_counter == 1
    x[[0, 2]] = disttorch.ones(4)
    assert view._version_counter == 2
    view[2] = 7.0
    assert x[1, 2].item() == 7.0 and x._version_counter == 3


def test_setitem_invalidates_saved_tensor():
    for t in (disttorch, torch):
        a = t.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        c = b * b
        b[0] = 3.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()


def test_setitem_casts_and_moves_values():
    for t in (disttorch, torch):
        x = t.zeros(3, dtype=t.int64)
        x[0] = 2.7
        x[1:] = t.tensor([1.9, -1.5])
        assert x.tolist() == [2, 1, -1] and x.dtype == t.int64
        y = t.zeros(2, 2)
        y[0] = t.tensor([1, 2])
        assert y.dtype == t.float32 and y.tolist() == [[1.0, 2.0], [0.0, 0.0]]


def test_setitem_and_index_put_dtype_mismatch():
    for t in (disttorch, torch):
        x = t.zeros(3, dtype=t.float64)
        with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes match, got "
                                               "Double for the destination and Float for the source."):
            x[[0]] = t.tensor([1.0])
        with pytest.raises(RuntimeError, match="got Double for the destination and Long for the source"):
            x.index_put_((t.tensor([0]),), t.tensor(1))
        x[t.tensor([True, False, True])] = t.tensor([1.0])  # a mask casts
        x[1:] = t.tensor([2, 3])  # so does basic indexing
        assert x.tolist() == [1.0, 2.0, 3.0]


def test_setitem_through_views_of_a_graph():
    def fn(t, x, v):
        y = x * 1
        view = y[1:]
        view[0, [1, 1, 2]] = v
        view[1:, :2] = 3.0
        return y
    check(fn, [randn(3, 4), randn(3, seed=2)])


def test_setitem_grad_fn_names():
    for t in (disttorch, torch):
        y = t.ones(3, 4, requires_grad=True) * 1
        y[0] = 2.0
        assert "CopySlices" in y.grad_fn.name()
        y[[0, 1]] = 3.0
        assert y.grad_fn.name() == "IndexPutBackward0"


@pytest.mark.parametrize("index, value, msg", [
    (0, 1.0, "a view of a leaf Variable that requires grad is being used in an in-place operation."),
    ([0], 1.0, "a leaf Variable that requires grad is being used in an in-place operation."),
])
def test_setitem_leaf_errors(index, value, msg):
    for t in (disttorch, torch):
        x = t.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=msg):
            x[index] = value
        with t.no_grad():
            x[index] = value
        assert x[0].item() == 1.0


def test_setitem_shape_errors():
    for t in (disttorch, torch):
        x = t.zeros(3, 4)
        with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the existing "
                                               r"size \(3\) at non-singleton dimension 0"):
            x[0] = t.ones(3)
        with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot be broadcast "
                                               r"to indexing result of shape \[2, 4\]"):
            x[[0, 1]] = t.ones(3)


# -- gather / scatter ---------------------------------------------------------------------------------
IDX = np.random.default_rng(3).integers(0, 4, (3, 6, 5))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("dim, ishape", [(1, (3, 6, 4)), (0, (2, 2, 2)), (-1, (3, 4, 7)), (2, (1, 1, 1))])
def test_gather(dim, ishape, dtype, device):
    idx = np.random.default_rng(1).integers(0, 3 if dim == 0 else 4, ishape)
    check(lambda t, x: t.gather(x, dim, t.tensor(idx)), [randn(3, 4, 4, dtype=dtype)], device=device)
    check(lambda t, x: x.gather(dim, t.tensor(idx)), [randn(3, 4, 4, dtype=dtype)], device=device)


def test_gather_scatter_gradcheck():
    idx = disttorch.tensor(IDX[:, :3, :2])
    gradcheck(lambda t, x: t.gather(x, 1, idx), [randn(3, 4, 2)])
    gradcheck(lambda t, x, s: t.scatter_add(x, 1, idx, s), [randn(3, 4, 2), randn(3, 3, 2)])
    gradcheck(lambda t, x: t.index_select(x, 0, t.tensor([2, 0, 2])), [randn(3, 4)])


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("dtype", FLOATS)
def test_scatter_add_and_scatter(dtype, device):
    src = randn(3, 7, 5, dtype=dtype, seed=2)
    check(lambda t, x, s: t.scatter_add(x, 1, t.tensor(IDX), s), [randn(3, 4, 5, dtype=dtype), src[:, :6]],
          device=device)
    # a source larger than the index is read in its leading part (torch has no gradient for that case)
    check(lambda t, x, s: t.scatter_add(x, 1, t.tensor(IDX), s), [randn(3, 4, 5, dtype=dtype), src], grad=False,
          device=device)
    check(lambda t, x, s: x.scatter(1, t.tensor(IDX), s, reduce="add"), [randn(3, 4, 5, dtype=dtype), src],
          grad=False, device=device)
    perm = np.stack([np.random.default_rng(i).permutation(4) for i in range(15)]).reshape(3, 5, 4).swapaxes(1, 2)
    check(lambda t, x, s: t.scatter(x, 1, t.tensor(perm[:, :3]), s), [randn(3, 4, 5, dtype=dtype), src[:, :3]],
          device=device)
    check(lambda t, x: x.scatter(1, t.tensor(perm[:, :2]), 1.5), [randn(3, 4, 5, dtype=dtype)], device=device)
    check(lambda t, x, s: x.scatter(1, t.tensor(IDX), s, reduce="multiply"), [randn(3, 4, 5, dtype=dtype),
          randn(3, 6, 5, dtype=dtype)], grad=False, device=device)


def test_scatter_inplace_forms():
    def fn(t, x, s):
        y = x * 1
        y.scatter_add_(0, t.tensor([[0, 1, 0], [1, 1, 1]]), s)
        y.scatter_(1, t.tensor([[2], [0]]), 7.0)
        return y
    check(fn, [randn(2, 3), randn(2, 3)])
    x = disttorch.zeros(2, 3)
    x.scatter_(1, disttorch.tensor([[2], [0]]), disttorch.ones(2, 1))
    assert x._version_counter == 1 and x.tolist() == [[0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    src = randn(3, 6, 5, seed=5, dtype=np.float64)
    src[0, 0, 0] = src[1, 2, 3] = 0.0  # zeros exercise the prod gradient
    x = randn(3, 4, 5, dtype=np.float64)
    x[2, 1, 1] = 0.0
    check(lambda t, a, s: t.scatter_reduce(a, 1, t.tensor(IDX), s, reduce, include_self=include_self), [x, src])
    check(lambda t, a, s: a.scatter_reduce(0, t.tensor(IDX[:1, :4] % 3), s, reduce, include_self=include_self),
          [x, src[:1, :4]])
    ints = np.arange(12).reshape(3, 4)
    check(lambda t, a: a.scatter_reduce(1, t.tensor([[0, 0], [1, 1], [3, 0]]), t.tensor([[5, 6], [7, 8], [1, 2]]),
                                        reduce, include_self=include_self), [ints])


def test_scatter_reduce_ties_share_gradient():
    check(lambda t, x, s: t.scatter_reduce(x, 0, t.tensor([0, 0, 1]), s, "amax"),
          [np.array([1.0, 5.0]), np.array([1.0, 1.0, 2.0])])


@pytest.mark.parametrize("fn, msg", [
    (lambda t, x: t.gather(x, 0, t.tensor([[0, 5]])), "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda t, x: t.gather(x, 1, t.tensor([[-1]])), "index -1 is out of bounds for dimension 1 with size 4"),
    (lambda t, x: t.gather(x, 0, t.tensor([0])), "Index tensor must have the same number of dimensions"),
    (lambda t, x: t.gather(x, 0, t.tensor([[0.0]])), "Expected dtype int32/int64 for index"),
    (lambda t, x: x.scatter(0, t.tensor([[0, 1]]), t.ones(1, 1)), r"Expected index \[1, 2\] to be no larger than"),
    (lambda t, x: t.scatter_reduce(x, 0, t.tensor([[0]]), t.ones(1, 1), "foo"),
     "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda t, x: x.index_add(0, t.tensor([0]), t.ones(2, 4)), r"Number of indices \(1\) should be equal"),
    (lambda t, x: x.masked_scatter(t.ones(3, 4, dtype=t.bool), t.ones(2)),
     "Number of elements of source < number of ones in mask"),
])
def test_gather_scatter_errors(fn, msg):
    for t in (disttorch, torch):
        with pytest.raises(RuntimeError, match=msg):
            fn(t, t.zeros(3, 4))


def test_index_errors():
    for t in (disttorch, torch):
        x = t.zeros(3, 4)
        with pytest.raises(IndexError, match="index out of range in self"):
            x.index_select(0, t.tensor([4]))
        with pytest.raises(IndexError, match="Index is supposed to be a vector"):
            x.index_select(0, t.tensor([[0]]))
        with pytest.raises(IndexError, match="out of range: tried to access index 12 on a tensor of 12 elements"):
            t.take(x, t.tensor([12]))


# -- index_* family -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_index_family(dtype, device):
    x = randn(4, 3, dtype=dtype)
    src = randn(4, 2, dtype=dtype, seed=2)
    check(lambda t, a: t.index_select(a, 1, t.tensor([2, 0, 2])), [x], device=device)
    check(lambda t, a: a.index_select(0, t.tensor(1)), [x], device=device)
    check(lambda t, a: a.index_select(-1, t.tensor([], dtype=t.int64)), [x], device=device)
    check(lambda t, a, s: t.index_add(a, 1, t.tensor([1, 1]), s, alpha=2), [x, src], device=device)
    check(lambda t, a, s: a.index_copy(1, t.tensor([2, 0]), s), [x, src], device=device)
    check(lambda t, a: a.index_fill(1, t.tensor([0, 2]), -1.5), [x], device=device)
    check(lambda t, a, v: a.index_fill(0, t.tensor([3]), v), [x, np.array(0.5, dtype=dtype)], device=device)
    check(lambda t, a, v: t.index_put(a, (t.tensor([0, 3]), t.tensor([1, 1])), v), [x, src[:2, 0]], device=device)
    check(lambda t, a, v: a.index_put((t.tensor([0, 0, 3]),), v, accumulate=True), [x, src[:3, :1]],
          device=device)


def test_index_family_inplace():
    src = randn(4, 2, seed=2)

    def fn(t, a, s):
        y = a * 1
        y.index_add_(1, t.tensor([1, 1]), s)
        y.index_copy_(0, t.tensor([3]), s[:1, :1] * t.ones(1, 3))
        y.index_fill_(1, t.tensor([2]), 4.0)
        y.index_put_((t.tensor([0, 0]), t.tensor([0, 0])), s[0] * 3, accumulate=True)
        y.masked_scatter_(t.tensor([[True, False, True]]), s.reshape(-1))
        y.put_(t.tensor([0, 11]), s[1], accumulate=True)
        return y
    check(fn, [randn(4, 3), src])
    x = disttorch.zeros(2, 2)
    x.index_fill_(0, disttorch.tensor([1]), 3)
    x.index_put_((disttorch.tensor([0]),), disttorch.tensor(1.0))
    assert x._version_counter == 2 and x.tolist() == [[1.0, 1.0], [3.0, 3.0]]


@pytest.mark.parametrize("dtype", FLOATS)
def test_masked_take_put(dtype, device):
    mask = np.random.default_rng(4).random((3, 4)) > 0.4
    check(lambda t, a: t.masked_select(a, t.tensor(mask)), [randn(3, 4, dtype=dtype)], device=device)
    check(lambda t, a: a.masked_select(t.tensor(mask[0])), [randn(2, 3, 4, dtype=dtype)], device=device)
    check(lambda t, a: t.masked_select(a, t.tensor(mask)), [randn(4, dtype=dtype)], device=device)
    check(lambda t, a, s: a.masked_scatter(t.tensor(mask), s), [randn(3, 4, dtype=dtype), randn(4, 4, dtype=dtype)],
          device=device)
    check(lambda t, a: t.take(a, t.tensor([[0, -1], [5, 5]])), [randn(3, 4, dtype=dtype)], device=device)
    check(lambda t, a: t.take_along_dim(a, t.tensor([[0], [3], [1]]), 1), [randn(3, 4, dtype=dtype)],
          device=device)
    check(lambda t, a: t.take_along_dim(a, t.tensor([[0, 2, 1, 1]]), 0), [randn(3, 4, dtype=dtype)], device=device)
    check(lambda t, a: t.take_along_dim(a, t.tensor([11, 0, 0])), [randn(3, 4, dtype=dtype)], device=device)
    check(lambda t, a, s: a.put(t.tensor([1, 7]), s), [randn(3, 4, dtype=dtype), randn(2, dtype=dtype)],
          device=device)


@pytest.mark.parametrize("arr", [
    np.array([[0, 1.5, 0], [2, 0, 0]]), np.array([True, False, True]), np.zeros((2, 0)), np.array(3),
    np.array(0.0), np.arange(24).reshape(2, 3, 4) % 5,
], ids=lambda a: str(a.shape))
def test_nonzero_argwhere(arr):
    check(lambda t, x: t.nonzero(x), [arr])
    check(lambda t, x: x.nonzero(as_tuple=True), [arr])
    check(lambda t, x: t.argwhere(x), [arr])
