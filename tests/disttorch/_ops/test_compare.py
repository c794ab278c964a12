"""Comparisons, logical/bitwise ops, classification, maximum/minimum, where, masked_fill, remainder/fmod,
atan2, hypot and copysign against PyTorch: values, dtypes, gradients, operators, in-place forms, errors."""
from __future__ import annotations

import operator

import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 1, 3), (4, 3)), ((), (2, 3))]


def _pair(shapes, dtype, seed=0):
    a, b = (randn(*s, seed=seed + i, dtype=dtype) for i, s in enumerate(shapes))
    if a.size and b.size:  # some exact ties
        a.reshape(-1)[:1] = b.reshape(-1)[:1]
    return a, b


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                                  "less_equal", "not_equal"])
@pytest.mark.parametrize("shapes", PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_comparisons(name, shapes, dtype, device):
    a, b = _pair(shapes, dtype)
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b], device=device)
    check(lambda t, x, y: getattr(x, name)(y), [a, b], device=device)
    check(lambda t, x: getattr(t, name)(x, 0.5), [a], device=device)
    check(lambda t, x: getattr(t, name)(x, 0), [a], device=device)
    out = getattr(disttorch, name)(disttorch.tensor(a, requires_grad=True), disttorch.tensor(b))
    assert out.dtype is disttorch.bool and out.grad_fn is None and not out.requires_grad


OPS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shapes", PAIRS)
def test_comparison_operators(op, shapes):
    a, b = _pair(shapes, np.float32)
    check(lambda t, x, y: op(x, y), [a, b])
    for scalar in (0, 0.25, -1, True):
        check(lambda t, x: op(x, scalar), [a])
        check(lambda t, x: op(scalar, x), [a])  # reflected


def test_comparison_promotion():
    i = np.array([1, 2, 3, 16777217])
    f = np.array([1.0, 2.5, 3.0, 16777216.0], dtype=np.float32)
    for op in OPS:
        check(lambda t, x, y: op(x, y), [i, f])
        check(lambda t, x: op(x, 2.5), [i])
        check(lambda t, x: op(x, 16777216.0), [i])
        check(lambda t, x, y: op(x, y), [f, f.astype(np.float64)])
        check(lambda t, x, y: op(x, y), [np.array([True, False]), np.array([1, 0])])
    check(lambda t, x, y: t.eq(x, y), [np.array([1 + 1j, 2]), np.array([1 + 1j, 2 + 1j])])


def test_eq_with_other_objects():
    x = disttorch.tensor([1.0, 2.0])
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711
    assert (x == "a") is False
    assert len({x, disttorch.tensor([1.0, 2.0])}) == 2  # still hashable by identity
    with pytest.raises(NotImplementedError, match="\"lt_cpu\" not implemented for 'ComplexFloat'"):
        disttorch.lt(disttorch.tensor([1j]), disttorch.tensor([1j]))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("shapes", PAIRS)
def test_logical(name, shapes):
    a, b = _pair(shapes, np.float32)
    a = np.round(a)
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b])
    check(lambda t, x, y: getattr(t, name)(x > 0, y), [a, b])
    check(lambda t, x: getattr(t, name)(x, x.bool()), [np.array([0, 3, -1])])
    check(lambda t, x: t.logical_not(x), [a])
    check(lambda t, x: getattr((x > 0).float(), name + "_")(x), [a], grad=False)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 1, 3), (4, 3)), ((), (2, 3))])
def test_bitwise(dtype, shapes):
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 50, s).astype(dtype) for s in shapes)
    for name, op in (("bitwise_and", operator.and_), ("bitwise_or", operator.or_),
                     ("bitwise_xor", operator.xor)):
        check(lambda t, x, y: getattr(t, name)(x, y), [a, b])
        check(lambda t, x, y: op(x, y), [a, b])
        check(lambda t, x: op(x, True), [a])
        check(lambda t, x: op(3, x), [a])
    check(lambda t, x: t.bitwise_not(x), [a])
    check(lambda t, x: ~x, [a])
    if dtype != np.bool_:
        check(lambda t, x: x << 2, [a])
        check(lambda t, x: x >> 1, [a])


def test_bitwise_inplace_and_errors():
    for op in (operator.iand, operator.ior, operator.ixor):
        check(lambda t, x, y: op(x.clone(), y), [np.array([1, 6, 3]), np.array([3, 2, 0])])
        check(lambda t, x, y: op(x.clone(), y), [np.array([True, False]), np.array([True, True])])
    x = disttorch.tensor([1, 2])
    y = x
    y &= 2
    assert y is x and x.tolist() == [0, 2]
    f = disttorch.tensor([1.0])
    with pytest.raises(NotImplementedError, match="\"bitwise_and_cpu\" not implemented for 'Float'"):
        f & f
    with pytest.raises(NotImplementedError, match="\"bitwise_not_cpu\" not implemented for 'Float'"):
        disttorch.bitwise_not(f)
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        _ = ~f
    b = disttorch.tensor([True, False])
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        b |= disttorch.tensor([1, 2])


def test_classification():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -1.5, 3.0], dtype=np.float32)
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal"):
        check(lambda t, v: getattr(t, name)(v), [x])
        check(lambda t, v: getattr(v, name)(), [x])
        check(lambda t, v: getattr(t, name)(v), [np.array([1, -2, 0])])
        check(lambda t, v: getattr(t, name)(v), [np.array([True, False])])
    check(lambda t, v: t.isreal(v), [np.array([1 + 0j, 1j])])
    check(lambda t, v: t.isnan(v), [np.array([complex(np.nan, 0), 1j])])


def test_isclose_allclose_equal():
    a = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-3, np.nan, np.inf, -np.inf, np.inf, 0.0])
    b = np.array([1.0, 1.0, 1.0, np.nan, np.inf, -np.inf, -np.inf, 1e-9])
    for kw in ({}, {"equal_nan": True}, {"rtol": 1e-2}, {"atol": 0.0, "rtol": 0.0}):
        check(lambda t, x, y: t.isclose(x, y, **kw), [a, b])
        for x, y in ((a[:3], b[:3]), (a, b), (a, a)):
            assert disttorch.allclose(disttorch.tensor(x), disttorch.tensor(y), **kw) == \
                torch.allclose(torch.tensor(x), torch.tensor(y), **kw)
    check(lambda t, x, y: t.isclose(x, y), [np.array([1, 2, 3]), np.array([1, 3, 3])])
    check(lambda t, x, y: t.isclose(x, y), [np.array([2.0, 1.0]), np.array([[2.0, 1.0000001], [0.0, 1.0]])])
    cases = [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1, 2]), ([1.0, 2.0], [1.0, 2.0, 3.0]), ([np.nan], [np.nan]),
             ([1.0, 2.0], [1.0, 2.5]), ([[1.0]], [1.0])]
    for x, y in cases:
        assert disttorch.equal(disttorch.tensor(x), disttorch.tensor(y)) == torch.equal(torch.tensor(x),
                                                                                      torch.tensor(y))
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        disttorch.isclose(disttorch.tensor([1.0]), disttorch.tensor([1.0], dtype=disttorch.float64))


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
@pytest.mark.parametrize("shapes", PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_maximum_minimum(name, shapes, dtype, device):
    a, b = _pair(shapes, dtype)
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b], device=device)
    check(lambda t, x, y: getattr(x, name)(y), [a, b], device=device)
    if dtype == np.float64:
        gradcheck(lambda t, x, y: getattr(t, name)(x, y), [a + 0.01 * (a == b), b])


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_maximum_ties_and_nans(name):
    a = np.array([1.0, 2.0, np.nan, 3.0, np.nan, -1.0])
    b = np.array([1.0, 1.0, 0.0, np.nan, np.nan, -1.0])
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b])  # ties split half/half (maximum) or go to x (fmax)
    check(lambda t, x, y: getattr(t, name)(x, y), [np.array([1, 5, -3]), np.array([2.5, 1.0, -3.0])])
    check(lambda t, x, y: getattr(t, name)(x, y), [np.array([1, 5, -3]), np.array([2, 1, -3])])


def test_maximum_errors():
    z = disttorch.tensor([1 + 1j])
    with pytest.raises(RuntimeError, match="maximum not implemented for complex tensors."):
        disttorch.maximum(z, z)


@pytest.mark.parametrize("shapes", [((3,), (3,), (3,)), ((2, 1, 3), (4, 3), (3,)), ((4, 1), (2, 1, 3), ()),
                                    ((), (), ())])
@pytest.mark.parametrize("dtype", DTYPES)
def test_where(shapes, dtype, device):
    c, x, y = (randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes))
    check(lambda t, cond, u, v: t.where(cond > 0, u, v), [c, x, y], device=device)
    check(lambda t, cond, u, v: u.where(cond > 0, v), [c, x, y], device=device)
    check(lambda t, cond, u: t.where(cond > 0, u, 0.0), [c, x], device=device)
    check(lambda t, cond, v: t.where(cond > 0, -1, v), [c, y], device=device)
    gradcheck(lambda t, cond, u, v: t.where(cond > 0, u, v), [c, x, y])


def test_where_dtypes_and_forms():
    c = np.array([True, False, True])
    check(lambda t, cond: t.where(cond, 1.0, 0), [c])
    check(lambda t, cond: t.where(cond, 1, 0), [c])
    check(lambda t, cond, u: t.where(cond, u, 0.5), [c, np.array([1, 2, 3])])
    check(lambda t, cond, u, v: t.where(cond, u, v), [c, np.array([1.0, 2.0, 3.0]),
                                                     np.array([4.0, 5.0, 6.0], np.float32)])
    check(lambda t, cond: t.where(cond), [np.array([[True, False], [False, True]])])
    check(lambda t, cond: t.where(cond), [np.array([0.0, 1.5, 0.0, 2.0])])
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, but got a tensor with "
                                           "dtype Float"):
        disttorch.where(disttorch.tensor([1.0]), disttorch.tensor([1.0]), disttorch.tensor([2.0]))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((), ()), ((3,), (2, 3))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill(shapes, dtype):
    x = randn(*shapes[0], dtype=dtype)
    m = randn(*shapes[1], seed=3, dtype=dtype) > 0
    check(lambda t, u, mask: t.masked_fill(u, mask, -2.5), [x, m])
    check(lambda t, u, mask: u.masked_fill(mask, 7), [x, m])
    check(lambda t, u, mask, val: u.masked_fill(mask, val), [x, m, np.array(3.0, dtype)])
    if np.broadcast_shapes(x.shape, m.shape) == x.shape:
        check(lambda t, u, mask: (u * 1).masked_fill_(mask, 1.5), [x, m])
        check(lambda t, u, mask, val: (u * 1).masked_fill_(mask, val), [x, m, np.array(3.0, dtype)])
        check(lambda t, u, mask: u.clone().masked_fill_(mask, 1.5), [x, m], grad=False)


def test_masked_fill_dtypes_and_errors():
    i = np.array([1, 2, 3])
    m = np.array([True, False, True])
    check(lambda t, u, mask: u.masked_fill(mask, 0.5), [i, m])
    check(lambda t, u, mask: u.masked_fill(mask, True), [i, m])
    check(lambda t, u, mask: u.masked_fill(mask, t.tensor(9.5)), [np.array([1.0, 2.0, 3.0]), m])
    f = disttorch.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got mask with dtype float"):
        f.masked_fill(disttorch.tensor([1.0, 0.0]), 0)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports a 0-dimensional value tensor, but got "
                                           "tensor with 1 dimension"):
        f.masked_fill(disttorch.tensor([True, False]), disttorch.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[1, 2\]"):
        f.masked_fill_(disttorch.tensor([[True, False]]), 3.0)
    leaf = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        leaf.masked_fill_(disttorch.tensor([True, False]), 0.0)


@pytest.mark.parametrize("name", ["remainder", "fmod", "atan2", "arctan2", "hypot", "copysign"])
@pytest.mark.parametrize("shapes", PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_math(name, shapes, dtype, device):
    a, b = _pair(shapes, dtype)
    a = a * 3
    b = b + np.sign(b) * 0.3
    check(lambda t, x, y: getattr(t, name)(x, y), [a, b], device=device)
    check(lambda t, x, y: getattr(x, name)(y), [a, b], device=device)
    if dtype == np.float64:
        gradcheck(lambda t, x, y: getattr(t, name)(x, y), [a, b])


def test_remainder_fmod_signs_and_operator():
    a = np.array([5.0, -5.0, 5.5, -5.5, 0.0, 3.0])
    b = np.array([3.0, 3.0, -2.0, -2.0, 2.0, 0.0])
    for fn in (lambda t, x, y: t.remainder(x, y), lambda t, x, y: t.fmod(x, y), lambda t, x, y: x % y):
        check(fn, [a, b])
        check(fn, [a.astype(np.int64), np.where(b == 0, 1, b).astype(np.int64)])
    check(lambda t, x: x % 2.5, [a])
    check(lambda t, x: 7 % x, [np.array([2, -3, 4])])
    check(lambda t, x: 7.5 % x, [np.array([2.0, -3.0, 4.0])], grad=False)  # PyTorch has no gradient here
    check(lambda t, x: t.remainder(x, -2), [np.array([5, -5, 4])])
    i = disttorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        disttorch.remainder(i, 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        disttorch.fmod(i, disttorch.tensor(0))


def test_binary_math_dtypes_and_errors():
    i = np.array([-2, 0, 3])
    check(lambda t, x, y: t.atan2(x, y), [i, np.array([1, 1, -1])])
    check(lambda t, x: t.copysign(x, -1), [i])
    check(lambda t, x: t.copysign(x, -0.0), [np.array([1.0, -2.0, 0.0])])
    with pytest.raises(NotImplementedError, match="\"hypot_cpu\" not implemented for 'Long'"):
        disttorch.hypot(disttorch.tensor(i), disttorch.tensor(i))


def test_copysign_gradient_at_zero():
    check(lambda t, x, y: t.copysign(x, y), [np.array([0.0, 1.0, -2.0, 0.0]), np.array([-1.0, -1.0, 3.0, 2.0])])


def test_inplace_binary_forms():
    a, b = _pair(((2, 3), (3,)), np.float64)
    b = b + np.sign(b) * 0.3
    for name in ("remainder_", "fmod_", "atan2_", "arctan2_", "hypot_", "copysign_"):
        check(lambda t, x, y: getattr(x * 1, name)(y), [a, b])
        check(lambda t, x, y: getattr(x.clone(), name)(y), [a, b], grad=False)
    check(lambda t, x, y: operator.imod(x * 1, y), [a, b])
    for name in ("eq_", "ne_", "lt_", "le_", "gt_", "ge_"):
        check(lambda t, x, y: getattr(x.clone(), name)(y), [a, b], grad=False)
    leaf = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        leaf.remainder_(2.0)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        leaf.lt_(2.0)


def test_grad_fn_names():
    x = disttorch.tensor([0.3, 0.6], dtype=disttorch.float64, requires_grad=True)
    tx = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)
    for name in ("maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "fmod", "remainder", "copysign"):
        assert getattr(disttorch, name)(x, x).grad_fn.name() == getattr(torch, name)(tx, tx).grad_fn.name()
    for name in ("fmod", "remainder", "copysign"):
        assert getattr(disttorch, name)(x, 2.0).grad_fn.name() == getattr(torch, name)(tx, 2.0).grad_fn.name()
    assert disttorch.where(x > 0.4, x, x).grad_fn.name() == "WhereBackward0"
    assert x.masked_fill(x > 0.4, 0.0).grad_fn.name() == "MaskedFillBackward0"


def test_logical_inplace_ops_are_not_tracked_by_autograd():
    # PyTorch does not record logical_*_ : the values change, the history (and gradient path) stays
    for mod in (disttorch, torch):
        a = mod.tensor([0.5, 0.0, -2.0], requires_grad=True)
        h = a * 3
        h.logical_and_(mod.tensor([1.0, 1.0, 0.0]))
        assert h.grad_fn.name() == "MulBackward0" and h.tolist() == [1.0, 0.0, 0.0]
        h.sum().backward()
        assert a.grad.tolist() == [3.0, 3.0, 3.0]
        leaf = mod.tensor([1.0, 0.0], requires_grad=True)
        assert leaf.logical_not_().tolist() == [0.0, 1.0] and leaf.is_leaf
