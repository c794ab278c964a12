"""Small Tensor methods and flags (is_mps, is_signed, dist, sum_to_size, cfloat, unsafe_split...) against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, randn, same_error, torch

import disttorch
from disttorch._ops.tensor_queries import _DENSE_FALSE_FLAGS


def test_flags_match_torch_on_dense_cpu_tensors():
    a, b = disttorch.ones(2, 3), torch.ones(2, 3)
    for flag in _DENSE_FALSE_FLAGS:
        assert getattr(a, flag) is getattr(b, flag) is False, flag
    for name in ("is_distributed", "is_neg", "is_inference", "is_signed"):
        assert getattr(a, name)() == getattr(b, name)(), name
    for dt in ("uint8", "int8", "bool", "float16", "complex64"):
        assert getattr(disttorch, dt) and disttorch.ones(1, dtype=getattr(disttorch, dt)).is_signed() == \
            torch.ones(1, dtype=getattr(torch, dt)).is_signed(), dt
    assert a.is_same_size(disttorch.zeros(2, 3)) and not a.is_same_size(disttorch.zeros(3, 2))
    assert a.is_set_to(a) and not a.is_set_to(a.clone()) and not a.is_set_to(a.t())
    assert a.const_data_ptr() == a.data_ptr() and a.to_dense() is a


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4)])
def test_dim_order(shape):
    x, y = disttorch.zeros(*shape), torch.zeros(*shape)
    assert x.dim_order() == y.dim_order()
    assert x.transpose(0, -1).dim_order() == y.transpose(0, -1).dim_order()


@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
def test_dist(p):
    check(lambda t, a, b: a.dist(b, p), [randn(3, 4), randn(3, 4, seed=1)])


def test_sum_to_size_narrow_copy_and_casts():
    check(lambda t, a: a.sum_to_size(1, 4), [randn(3, 4)])
    check(lambda t, a: a.sum_to_size(3, 1), [randn(3, 4)])
    same_error(lambda t, a: a.sum_to_size(2, 4), [randn(3, 4)])
    check(lambda t, a: a.narrow_copy(1, 1, 2), [randn(3, 4)])
    check(lambda t, a: a.cfloat().abs(), [randn(3)])
    check(lambda t, a: a.cdouble().abs(), [randn(3).astype(np.float64)])
    check(lambda t, a: a.unsafe_split(2, 1)[1] * 2, [randn(3, 4)])
    check(lambda t, a: a.unsafe_chunk(2, 0)[0] * 2, [randn(4, 3)])
    check(lambda t, a: a.unsafe_split_with_sizes([1, 3], 1)[1] * 2, [randn(3, 4)])
    check(lambda t, a: a.hardshrink(0.3), [randn(3, 4)])
    check(lambda t, a, w: a.prelu(w), [randn(2, 3, 4), np.array([0.25, 0.1, 0.5], np.float32)])
