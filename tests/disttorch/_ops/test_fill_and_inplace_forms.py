"""copy_, fill_, zero_, fill_diagonal_, in-place view forms (t_, unsqueeze_...), cumsum_/tril_..., resize_,
set_, share_memory_, apply_/map_: values, dtypes, version counters, gradients and errors against PyTorch."""
from __future__ import annotations

import os

import numpy as np
import pytest
from oracle import check, randn, same_error, to_np, torch

import disttorch


def both(fn, *arrays):
    """fn(module, *clones) on both libraries; returns (ours, theirs)."""
    return (fn(disttorch, *[disttorch.tensor(a) for a in arrays]), fn(torch, *[torch.tensor(a) for a in arrays]))


def same(fn, *arrays):
    ours, theirs = both(fn, *arrays)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(to_np(ours).astype(np.float64), to_np(theirs).astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("dst_dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("src", [randn(3) * 3, randn(2, 3) * 3, np.array(2.5), np.array([1, 0, 7])])
def test_copy_casts_and_broadcasts(dst_dtype, src):
    dst = np.zeros((2, 3), dst_dtype)
    same(lambda t, d, s: d.copy_(s), dst, src)
    same(lambda t, d, s: (d[1].copy_(s[0] if s.ndim == 2 else s), d)[1], dst, src)  # into a view


def test_copy_gradients_and_errors():
    # the source gets the gradient (summed over broadcast dims), the overwritten values none
    check(lambda t, x, s: (x * 2).copy_(s) * 3, [randn(2, 3), randn(3)])
    check(lambda t, x, s: (x * 1)[0].copy_(s) * 3, [randn(2, 3), randn(3)])
    same_error(lambda t, d, s: d.copy_(s), [np.zeros(3, np.float32), np.ones(4, np.float32)])
    same_error(lambda t, d, s: d.copy_(s), [np.zeros(3, np.float32), np.ones((2, 3), np.float32)])
    same_error(lambda t, d, s: d.requires_grad_().copy_(s), [np.zeros(3, np.float32), np.ones(3, np.float32)])
    for mod in (disttorch, torch):
        w = mod.zeros(2, requires_grad=True)
        with mod.no_grad():
            w.copy_(mod.ones(2))
        assert w.tolist() == [1.0, 1.0] and w.requires_grad and w.grad_fn is None


def test_version_counter_bumps_once():
    for mod in (disttorch, torch):
        x = mod.zeros(3)
        v = x._version if mod is torch else x._version_counter
        x.copy_(mod.ones(3))
        x.fill_(2)
        x.zero_()
        assert (x._version if mod is torch else x._version_counter) == v + 3


@pytest.mark.parametrize("value", [2.7, -1, True, np.array(3.5)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_fill_and_zero(value, dtype):
    x = np.ones((2, 3), dtype)
    same(lambda t, a: a.fill_(t.tensor(value) if isinstance(value, np.ndarray) else value), x)
    same(lambda t, a: a.zero_(), x)
    same(lambda t, a: (a[:, 1].fill_(value if not isinstance(value, np.ndarray) else float(value)), a)[1], x)


def test_fill_gradients_and_errors():
    check(lambda t, x, v: (x * 2).fill_(v[0]) * v[0], [randn(2, 3), randn(1)])
    check(lambda t, x: (x * 2).zero_() + x, [randn(2, 3)])
    same_error(lambda t, a, b: a.fill_(b), [np.zeros(3, np.float32), np.ones(2, np.float32)])
    p, q = disttorch.ones(3), torch.ones(3)
    p.grad, q.grad = disttorch.ones(3), torch.ones(3)
    p.grad.zero_(), q.grad.zero_()  # the everyday optimizer idiom
    assert p.grad.tolist() == q.grad.tolist()


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((5, 2), False), ((7, 3), True), ((2, 4), False),
                                        ((3, 3, 3), False)])
def test_fill_diagonal(shape, wrap):
    same(lambda t, a: a.fill_diagonal_(9.0, wrap=wrap), np.zeros(shape, np.float32))
    check(lambda t, x: (x * 1).fill_diagonal_(0.5, wrap=wrap), [randn(*shape)])
    same_error(lambda t, a: a.fill_diagonal_(1), [np.zeros((2, 3, 4), np.float32)])


@pytest.mark.parametrize("name,args", [("t_", ()), ("transpose_", (0, 1)), ("swapaxes_", (1, 0)),
                                       ("swapdims_", (0, 1)), ("unsqueeze_", (1,)), ("squeeze_", ()),
                                       ("squeeze_", (0,)), ("unsqueeze_", (-1,))])
def test_inplace_views(name, args):
    x = randn(1, 3) if "squeeze" in name and "un" not in name else randn(2, 3)

    def run(t, a):
        b = a * 1
        out = getattr(b, name)(*args)
        assert out is b
        return b * 2

    check(run, [x])
    same(lambda t, a: getattr(a, name)(*args), x)
    ours, theirs = disttorch.tensor(x), torch.tensor(x)
    getattr(ours, name)(*args)
    getattr(theirs, name)(*args)
    sized = [i for i, n in enumerate(theirs.shape) if n > 1]  # a size-1 dim's stride means nothing
    assert [ours.stride(i) for i in sized] == [theirs.stride(i) for i in sized]
    assert ours.is_contiguous() == theirs.is_contiguous()
    same_error(lambda t, a: getattr(a.requires_grad_(), name)(*args), [x])


@pytest.mark.parametrize("name,args", [("tril_", ()), ("triu_", (1,)), ("cumsum_", (1,)), ("cumprod_", (0,))])
def test_value_inplace_forms(name, args):
    check(lambda t, x: getattr(x * 1, name)(*args) * 2, [randn(3, 4)])
    same(lambda t, a: getattr(a, name)(*args), np.arange(12, dtype=np.int32).reshape(3, 4))


def test_float_power_():
    same(lambda t, a: a.float_power_(2), randn(3).astype(np.float64))
    same_error(lambda t, a: a.float_power_(2), [randn(3)])


def test_resize_and_set():
    for shape in ((3, 2), (4,), (2, 5)):
        ours, theirs = both(lambda t, a: a.resize_(*shape), np.arange(6.0).reshape(2, 3))
        n = min(6, int(np.prod(shape)))
        assert tuple(ours.shape) == tuple(theirs.shape) == shape
        np.testing.assert_array_equal(to_np(ours).reshape(-1)[:n], to_np(theirs).reshape(-1)[:n])
    same(lambda t, a, b: a.resize_as_(b), np.arange(6.0), np.zeros((3, 2)))
    same_error(lambda t, a: a.requires_grad_().resize_(2), [np.zeros(3, np.float32)])
    a, b = disttorch.zeros(3), disttorch.arange(4.0)
    a.set_(b)
    b[0] = 9
    assert a.tolist() == [9.0, 1.0, 2.0, 3.0] and a.data_ptr() == b.data_ptr()
    assert a.set_().shape == (0,)


def test_share_memory_is_seen_by_forked_children():
    t = disttorch.zeros(3)
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    pid = os.fork()
    if pid == 0:
        t[0] = 5
        os._exit(0)
    os.waitpid(pid, 0)
    assert t.tolist() == [5.0, 0.0, 0.0]


def test_python_callables():
    same(lambda t, a: a.apply_(lambda v: v * 10 + 1), np.arange(4.0))
    same(lambda t, a, b: a.map_(b, lambda x, y: x * y + 1), np.arange(6.0).reshape(2, 3), np.arange(3.0))
    ours = disttorch.arange(3.0).map2_(disttorch.ones(3), disttorch.full((3,), 2.0), lambda a, b, c: a + b * c)
    assert ours.tolist() == [2.0, 3.0, 4.0]
    same_error(lambda t, a: a.requires_grad_().apply_(lambda v: v), [np.ones(2, np.float32)], match="apply_")
