"""Errors as PyTorch's, type and message: mixed dtypes in products, in-place writes into expanded tensors,
masked_fill_ masks, index ops' positions and dtypes, view shapes."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import same_error, torch

import disttorch

F32 = np.ones((2, 3), np.float32)
F64 = np.ones((2, 3), np.float64)
W32 = np.ones((4, 3), np.float32)
B32 = np.ones(4, np.float32)
B64 = np.ones(4, np.float64)


@pytest.mark.parametrize("x, w, b", [
    (F64, W32, None), (F64, W32, B32), (F32, W32, B64), (F32, W32.astype(np.float64), B32),
    (F64[0], W32, None), (F64[0], W32, B32), (F64[None], W32, B32), (np.ones((2, 3), np.int64), W32, None),
])
def test_linear_mixed_dtypes(x, w, b):
    arrays = [x, w] + ([] if b is None else [b])
    same_error(lambda t, *a: t.nn.functional.linear(*a), arrays)


def test_linear_module_float64_input():
    same_error(lambda t, x: t.nn.Linear(3, 4)(x), [F64])


@pytest.mark.parametrize("b, m1, m2", [(B64, F32, W32.T), (B32, F64, W32.T), (B32, F32, W32.T.astype(np.float64))])
def test_addmm_mixed_dtypes(b, m1, m2):
    same_error(lambda t, *a: t.addmm(*a), [b, m1, np.ascontiguousarray(m2)])


@pytest.mark.parametrize("op", ["matmul", "mm"])
def test_matmul_mixed_dtypes(op):
    same_error(lambda t, x, w: getattr(t, op)(x, w.T), [F64, W32])


def test_bmm_mixed_dtypes():
    same_error(lambda t, x, w: t.bmm(x[None], w.T[None]), [F64, W32])


@pytest.mark.parametrize("xd, wd, bd", [
    (np.float64, np.float32, np.float32), (np.float32, np.float64, None), (np.float32, np.float64, np.float64),
    (np.float32, np.float32, np.float64), (np.float64, np.float64, np.float32),
])
@pytest.mark.parametrize("fn, shape", [("conv1d", (1, 1, 3)), ("conv2d", (1, 1, 3, 3))])
def test_conv_mixed_dtypes(fn, shape, xd, wd, bd):
    arrays = [np.ones(shape, xd), np.ones((1, 1) + (2,) * (len(shape) - 2), wd)]
    arrays += [] if bd is None else [np.ones(1, bd)]
    same_error(lambda t, *a: getattr(t.nn.functional, fn)(*a), arrays)


def test_conv2d_module_float64_input():
    same_error(lambda t, x: t.nn.Conv2d(1, 1, 2)(x), [np.ones((1, 1, 3, 3))])


@pytest.mark.parametrize("input_dtype, target_dtype, shape", [
    (np.int64, np.int64, (2, 3)), (np.int32, np.int64, (2, 3)), (np.int64, np.int64, (2, 3, 4)),
    (np.float32, np.int32, (2, 3)), (np.float32, np.float32, (2, 3)), (np.int64, np.int32, (2, 3)),
])
def test_nll_loss_dtypes(input_dtype, target_dtype, shape):
    target = np.zeros(shape[:1] + shape[2:], target_dtype)
    same_error(lambda t, x, y: t.nn.functional.nll_loss(x, y), [np.ones(shape, input_dtype), target])


@pytest.mark.parametrize("input_dtype, target_dtype", [(np.int64, np.int64), (np.float32, np.int32)])
def test_cross_entropy_dtypes(input_dtype, target_dtype):
    same_error(lambda t, x, y: t.nn.functional.cross_entropy(x, y),
               [np.ones((2, 3), input_dtype), np.zeros(2, target_dtype)])


@pytest.mark.parametrize("op, mask", [
    ("masked_fill", np.ones((3, 2), bool)), ("masked_fill", np.ones((2, 3))),
    ("masked_fill", np.ones((2, 3), np.int64)),
    ("masked_fill_", np.ones((3, 2), bool)), ("masked_fill_", np.ones((2, 1, 3), bool)),
    ("masked_fill_", np.ones((2, 3))), ("masked_fill_", np.ones((2, 3), np.int64)),
])
def test_masked_fill_mask_errors(op, mask):
    same_error(lambda t, x, m: getattr(x, op)(m, 0.0), [F32, mask])


@pytest.mark.parametrize("write", [
    lambda t, x: x.expand(2, 3).add_(1), lambda t, x: x.expand(2, 3).mul_(x), lambda t, x: x.expand(2, 3).exp_(),
    lambda t, x: x.expand(2, 3).clamp_(0, 1), lambda t, x: x.expand(2, 3).relu_(),
    lambda t, x: x.expand(2, 3).copy_(t.zeros(2, 3)), lambda t, x: x[None].expand(2, 3).add_(t.ones(2, 3)),
    lambda t, x: t.add(t.ones(2, 3), 1, out=x.expand(2, 3)),
    lambda t, x: x.expand(2, 3).scatter_(0, t.zeros(2, 3, dtype=t.long), 1.0),
    lambda t, x: x.requires_grad_().clone().expand(2, 3).add_(1),
])
def test_inplace_into_expanded_tensor(write):
    same_error(write, [np.ones(3, np.float32)])


@pytest.mark.parametrize("write", [
    lambda t, x: x.uniform_(), lambda t, x: x.normal_(), lambda t, x: x.__setitem__(slice(None), 5.0),
    lambda t, x: x.__setitem__((slice(None), 0), t.tensor([1.0, 2.0])),
    lambda t, x: x.transpose(0, 1).__setitem__(0, 3.0), lambda t, x: x.fill_(t.tensor(2.0)),
])
def test_more_writes_refused_on_expanded(write):
    same_error(lambda t, b: write(t, b.expand(2, 3)), [np.zeros((1, 3), np.float32)])


@pytest.mark.parametrize("write, warns", [
    (lambda t, x: x.fill_(1.5), False), (lambda t, x: x.zero_(), False),
    (lambda t, x: x.fill_(2), False), (lambda t, x: x.__setitem__(0, 5.0), False),
    (lambda t, x: x.__setitem__((0, slice(1, None)), 4.0), False),
    (lambda t, x: x.masked_fill_(t.tensor([True, False, True]), 2.0), True),
    (lambda t, x: x.index_fill_(1, t.tensor([0, 2]), 3.0), True),
    (lambda t, x: x.__setitem__((slice(None), t.tensor([True, False, True])), 2.0), True),
    (lambda t, x: x.__setitem__((t.tensor([0]), 0), 7.0), True),
])
def test_writes_pytorch_allows_on_expanded(write, warns):
    """Writes PyTorch performs on an expanded tensor (every aliased element takes one value): same values in the
    expanded tensor and in the memory under it, and PyTorch's deprecation warning where it gives one."""
    import warnings

    results = []
    for lib in (disttorch, torch):
        base = lib.arange(3.0).reshape(1, 3)
        x = base.expand(2, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            write(lib, x)
        said = [str(w.message) for w in caught if "on expanded tensors is deprecated" in str(w.message)]
        assert bool(said) == warns, (lib.__name__, said)
        results.append((x.tolist(), base.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("shape, dim, index", [
    ((3,), 0, -1), ((2, 3), 0, -1), ((2, 3), 0, 5), ((2, 3), 1, 5), ((2, 3), 1, -1), ((2, 3), -1, -4),
    ((2, 3, 4), 1, 5), ((2, 3, 4), 2, -1), ((2, 3, 4), -1, 7),
])
def test_index_select_out_of_range(shape, dim, index):
    same_error(lambda t, x, i: x.index_select(dim, i), [np.ones(shape, np.float32), np.array([index])])


@pytest.mark.parametrize("call, index", [
    (call, index) for call in ("index_add", "index_copy", "index_fill", "index_select")
    for index in (np.array([5]), np.array([-1]), np.array([-4]), np.array([1.0]), np.array([1], np.int32),
                  np.array([1], np.uint8))
    # PyTorch accepts these: index_fill's negative positions, int32 positions for index_add/index_select
    if not (call == "index_fill" and index.tolist() == [-1])
    and not (call in ("index_add", "index_select") and index.dtype == np.int32)
])
def test_index_ops_positions_and_dtypes(call, index):
    args = {"index_add": (np.ones((2, 1), np.float32),), "index_copy": (np.ones((2, 1), np.float32),),
            "index_fill": (1.0,), "index_select": ()}[call]
    same_error(lambda t, x, i: getattr(x, call)(1, i, *[t.tensor(a) if isinstance(a, np.ndarray) else a
                                                        for a in args]), [F32, index])


@pytest.mark.parametrize("shape", [(2, -3), (-2, 3), (2, -3, -1), (-1, -2), (4, 2), (-1, -1), (-1, 4)])
@pytest.mark.parametrize("op", ["view", "reshape"])
def test_view_shape_errors(op, shape):
    same_error(lambda t, x: getattr(x, op)(*shape), [F32])
