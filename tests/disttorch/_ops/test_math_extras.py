"""logaddexp, logaddexp2, logcumsumexp, frexp, ldexp, nextafter, gcd, lcm, addr, renorm, index_reduce and their
in-place forms: values, dtypes, gradients, version counters and errors against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error, to_np, torch

import disttorch

F, D, L, I = np.float32, np.float64, np.int64, np.int32


def version(x):
    return x._version if isinstance(x, torch.Tensor) else x._version_counter


def run_inplace(fn, *arrays):
    """fn(module, *tensors) in place on both; the results match and each version counter rose by one."""
    outs = []
    for mod in (disttorch, torch):
        ts = [mod.tensor(a) for a in arrays]
        v = version(ts[0])
        r = fn(mod, *ts)
        assert r is ts[0] and version(ts[0]) == v + 1
        outs.append(r)
    assert str(outs[0].dtype) == str(outs[1].dtype)
    np.testing.assert_allclose(to_np(outs[0]).astype(np.float64), to_np(outs[1]).astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp(name):
    check(lambda t, a, b: getattr(t, name)(a, b), [randn(3, 4), randn(4, seed=1)])
    check(lambda t, a, b: getattr(a, name)(b), [randn(2, 3, dtype=D) * 30, randn(2, 3, seed=2, dtype=D) * 30])
    check(lambda t, a, b: getattr(t, name)(a, b), [randn(3), np.array([1, 2, 3])])  # float with long
    check(lambda t, a, b: getattr(t, name)(a, b), [np.array([-np.inf, 1e4, 0], F), np.array([-np.inf, 1e4, 1], F)],
          grad=False)
    gradcheck(lambda t, a, b: getattr(t, name)(a, b), [randn(3), randn(3, seed=3)])
    same_error(lambda t, a, b: getattr(t, name)(a, b), [np.array([1, 2]), np.array([3, 4])])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp(dim):
    check(lambda t, x: t.logcumsumexp(x, dim), [randn(3, 4)])
    check(lambda t, x: x.logcumsumexp(dim), [randn(3, 4, dtype=D) * 50])
    gradcheck(lambda t, x: t.logcumsumexp(x, dim), [randn(3, 4)])
    gradcheck(lambda t, x: t.logcumsumexp(x, dim) * t.tensor([1.0, -2.0, 3.0, -0.5], dtype=t.float64),
              [randn(3, 4, seed=4)])


def test_logcumsumexp_extremes_and_errors():
    x = np.array([-1000.0, 0.0, -np.inf, 1000.0], D)
    check(lambda t, a: t.logcumsumexp(a, 0), [x], grad=False)
    check(lambda t, a: t.logcumsumexp(a, 0), [np.array(1.5, F)])
    same_error(lambda t, a: t.logcumsumexp(a, 0), [np.array([1, 2])])
    same_error(lambda t, a: t.logcumsumexp(a, 2), [randn(2, 3)])


def test_frexp():
    x = np.array([0.0, 1.0, -3.5, 1e-30, 1e30, 0.375], F)
    for mod in (disttorch, torch):
        m, e = mod.frexp(mod.tensor(x))
        r = mod.frexp(mod.tensor(x))
        assert type(r).__name__ == "frexp" and r.mantissa is not None and str(r.exponent.dtype) == "torch.int32"
    check(lambda t, a: tuple(t.frexp(a)), [x])
    check(lambda t, a: a.frexp().mantissa, [randn(3, 4, dtype=D) * 100])
    check(lambda t, a: tuple(a.frexp()), [np.array([2.0, 5.0], D)], grad=False)
    same_error(lambda t, a: t.frexp(a), [np.array([1, 2])])
    grads = []
    for mod in (disttorch, torch):
        a = mod.tensor([3.0, -12.0], requires_grad=True)
        assert mod.frexp(a).exponent.requires_grad is False
        mod.frexp(a).mantissa.sum().backward()
        grads.append(to_np(a.grad))
    np.testing.assert_allclose(grads[0], grads[1])


def test_ldexp():
    check(lambda t, a, e: t.ldexp(a, e), [randn(3, 4), np.array([1, 2, 3, 0])])
    # PyTorch's gradient for a negative integer exponent is 0 (2**e in integer arithmetic); ours is 2**e
    x = disttorch.ones(2, requires_grad=True)
    disttorch.ldexp(x, disttorch.tensor([-2, 1])).sum().backward()
    assert x.grad.tolist() == [0.25, 2.0]
    check(lambda t, a, e: a.ldexp(e), [randn(3, dtype=D), randn(3, seed=5, dtype=D)])
    check(lambda t, a, e: t.ldexp(a, e), [np.array([1, 2, 3]), np.array([1, 2, 3])])  # ints give floats
    run_inplace(lambda t, a, e: a.ldexp_(e), randn(3), np.array([1, 2, 3]))
    same_error(lambda t, a, e: a.ldexp_(e), [np.array([1, 2]), np.array([1, 2])], match="can't be cast")


def test_nextafter():
    a, b = np.array([1.0, 0.0, -2.0, np.inf], F), np.array([2.0, -1.0, -2.0, 0.0], F)
    check(lambda t, x, y: t.nextafter(x, y), [a[:3], b[:3]])
    check(lambda t, x, y: x.nextafter(y), [a.astype(D), b.astype(D)], grad=False)
    run_inplace(lambda t, x, y: x.nextafter_(y), a, b)
    same_error(lambda t, x, y: t.nextafter(x, y), [np.array([1, 2]), np.array([1, 2])])
    x = disttorch.tensor([1.0], requires_grad=True)
    assert disttorch.nextafter(x, disttorch.tensor([2.0])).requires_grad


@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm(name):
    a, b = np.array([12, -18, 0, 7, 0]), np.array([8, 12, 5, 13, 0])
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b])
    check(lambda t, x, y: getattr(x, name)(y), [a.astype(I), b])  # promoted to long
    check(lambda t, x, y: getattr(t, name)(x, y), [a.reshape(5, 1), b])  # broadcast
    run_inplace(lambda t, x, y: getattr(x, name + "_")(y), a, b)
    run_inplace(lambda t, x, y: getattr(x, name + "_")(y), a.astype(I), b.astype(I))
    same_error(lambda t, x, y: getattr(t, name)(x, y), [a.astype(F), b.astype(F)])
    same_error(lambda t, x, y: getattr(t, name)(x, y), [a > 0, b > 0])
    same_error(lambda t, x, y: getattr(x, name + "_")(y), [a.astype(F), b.astype(F)])
    same_error(lambda t, x, y: getattr(x, name + "_")(y), [a, b.astype(F)], match="can't be cast")


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 3), (-1, 0)])
def test_addr(beta, alpha):
    arrays = [randn(3, 4), randn(3, seed=1), randn(4, seed=2)]
    check(lambda t, m, u, v: t.addr(m, u, v, beta=beta, alpha=alpha), arrays, grad=[beta != 0, True, True])
    check(lambda t, m, u, v: m.addr(u, v, beta=beta, alpha=alpha), [randn(4), *arrays[1:]],
          grad=[beta != 0, True, True])  # input broadcasts
    if beta != 0:
        gradcheck(lambda t, m, u, v: t.addr(m, u, v, beta=beta, alpha=alpha), arrays)
    run_inplace(lambda t, m, u, v: m.addr_(u, v, beta=beta, alpha=alpha), *arrays)


def test_addr_dtypes_and_errors():
    nan = np.full((2, 2), np.nan, F)
    check(lambda t, m, u, v: t.addr(m, u, v, beta=0), [nan, randn(2), randn(2, seed=1)], grad=False)
    check(lambda t, m, u, v: t.addr(m, u, v), [np.ones((2, 2), L), np.ones(2, F), np.ones(2, F)])
    check(lambda t, m, u, v: t.addr(m, u, v, alpha=3), [np.ones((2, 2), L), np.arange(2), np.arange(2)])
    same_error(lambda t, m, u, v: t.addr(m, u, v), [randn(2, 2), randn(2, 2), randn(2)])
    same_error(lambda t, m, u, v: t.addr(m, u, v), [randn(2, 2), randn(2), randn(2, 1)])
    same_error(lambda t, m, u, v: t.addr(m, u, v), [randn(2, 2), randn(2), randn(3)])
    same_error(lambda t, m, u, v: t.addr(m, u, v, beta=0.5), [np.ones((2, 2), L), np.ones(2, L), np.ones(2, L)])
    same_error(lambda t, m, u, v: t.addr(m, u, v, alpha=0.5), [np.ones((2, 2), L), np.ones(2, L), np.ones(2, L)])
    same_error(lambda t, m, u, v: m.addr_(u, v), [randn(2, 2), randn(2), randn(3)])
    same_error(lambda t, m, u, v: m.addr_(u, v), [randn(3), randn(2), randn(3)])
    same_error(lambda t, m, u, v: m.addr_(u, v), [np.ones((2, 3), L), randn(2), randn(3)], match="can't be cast")
    same_error(lambda t, m, u, v: m.requires_grad_().addr_(u, v), [randn(2, 3), randn(2), randn(3)])
    check(lambda t, m, u, v: (m * 1).addr_(u, v, alpha=2), [randn(2, 3), randn(2), randn(3)])  # autograd in place


@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 1.0), (1, 1, 0.5), (3.0, -1, 100.0), (2, 2, 1.5)])
def test_renorm(p, dim, maxnorm):
    x = randn(3, 4, 2) * 2
    check(lambda t, a: t.renorm(a, p, dim, maxnorm), [x])
    check(lambda t, a: a.renorm(p, dim, maxnorm), [x.astype(D)])
    gradcheck(lambda t, a: t.renorm(a, p, dim, maxnorm), [x])
    run_inplace(lambda t, a: a.renorm_(p, dim, maxnorm), x)


def test_renorm_errors():
    same_error(lambda t, a: t.renorm(a, 2, 0, 1), [randn(3)])
    same_error(lambda t, a: t.renorm(a, 0, 0, 1), [randn(2, 3)])
    same_error(lambda t, a: t.renorm(a, 2, 0, -1), [randn(2, 3)])
    same_error(lambda t, a: t.renorm(a, 2, 0, 1), [np.ones((2, 3), L)])
    same_error(lambda t, a: t.renorm(a, 2, 3, 1), [randn(2, 3)])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_reduce(reduce, include_self, dim):
    x = randn(4, 5)
    n = 6
    src_shape = (n, 5) if dim == 0 else (4, n)
    size = x.shape[dim]
    index = np.array([0, 2, 0, size - 1, 2, -1 + size])
    src = randn(*src_shape, seed=3)
    fn = lambda t, a, i, s: t.index_reduce(a, dim, i, s, reduce, include_self=include_self)  # noqa: E731
    check(fn, [x, index, src])
    check(lambda t, a, i, s: a.index_reduce(dim, i, s, reduce, include_self=include_self),
          [x.astype(D), index, src.astype(D)])
    check(fn, [x, index.astype(I), src], grad=False)  # (PyTorch's backward refuses int32 indices)
    ints = np.arange(int(np.prod(src_shape))).reshape(src_shape) % 7
    check(fn, [np.arange(20).reshape(4, 5), index, ints])  # integers
    run_inplace(lambda t, a, i, s: a.index_reduce_(dim, i, s, reduce, include_self=include_self), x, index, src)


def test_index_reduce_errors():
    x, i = randn(3, 2), np.array([0, 0])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "sum"), [x, i, randn(2, 2)])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "prod"), [x, i, randn(3, 2)])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "prod"), [x, i.reshape(1, 2), randn(2, 2)])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "prod"), [x, i.astype(F), randn(2, 2)])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "prod"), [x, np.array([0, 5]), randn(2, 2)])
    same_error(lambda t, a, j, s: t.index_reduce(a, 0, j, s, "prod"), [x, i, randn(2, 2, dtype=D)])
    same_error(lambda t, a, j, s: a.requires_grad_().index_reduce_(0, j, s, "prod"), [x, i, randn(2, 2)])


@pytest.mark.parametrize("op,differentiable", [
    (lambda a: a.renorm_(2, 0, 0.5), True), (lambda a: a.ldexp_(a.new_tensor([1, 2, 3])), True),
    (lambda a: a.index_reduce_(0, a.new_tensor([0, 2]).long(), a.new_ones(2, 3) * 2, "prod"), True),
    (lambda a: a.addr_(a.new_ones(3), a.new_ones(3)), True), (lambda a: a.nextafter_(a.new_zeros(3)), True),
])
def test_inplace_autograd(op, differentiable):
    """In place on a tensor a saved gradient needs: PyTorch's version error; on a leaf that requires grad: its
    leaf error; on a non-leaf not saved: gradients through the in-place op."""
    x = randn(3, 3)
    for mod in (disttorch, torch):
        leaf = mod.tensor(x, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            op(leaf)
        a = leaf * 1
        s = a.sin()
        op(a)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            s.sum().backward()
    if differentiable:
        check(lambda t, v: op(v * 1), [x])
