"""The meta backend on raw arrays: zero-stride arrays without values, results meta again, no values out."""
from __future__ import annotations

import numpy as np
import pytest
from disttorch.backends.meta_backend import MetaArray, MetaBackend, meta_empty

from disttorch import backends


@pytest.fixture
def meta() -> MetaBackend:
    return backends.get_backend("meta")


def test_registered_and_owns_its_arrays(meta) -> None:
    assert isinstance(meta, MetaBackend) and "meta" in backends.device_types()
    arr = meta.asarray(np.ones((2, 3)))
    assert type(arr) is MetaArray and backends.backend_for_array(arr) is meta
    assert backends.array_module(arr) is meta.xp
    assert backends.backend_for_array(np.zeros(2)) is backends.get_backend("cpu")


def test_any_size_costs_one_element() -> None:
    arr = meta_empty((100_000, 100_000), np.float64)  # 80 GB if it had values
    assert arr.shape == (100_000, 100_000) and arr.dtype == np.float64
    assert arr.strides == (0, 0)
    low, high = np.lib.array_utils.byte_bounds(arr)  # the memory its elements span
    assert high - low == 8


def test_elementwise_shape_and_dtype_without_a_pass(meta) -> None:
    xp = meta.xp
    a = meta_empty((50_000, 1, 3), np.float32)
    b = meta_empty((7, 1), np.int64)
    c = a * b + 1
    assert type(c) is MetaArray and c.shape == (50_000, 7, 3) and c.dtype == np.result_type(np.float32, np.int64)
    assert (a > 0).dtype == np.bool_ and xp.exp(a).dtype == np.float32
    q, r = np.divmod(meta_empty((4,), np.int32), 3)
    assert type(q) is MetaArray and q.shape == r.shape == (4,) and q.dtype == np.int32
    assert (meta_empty((3,), np.int64) // 0).shape == (3,)  # no division-by-zero warning from the probe


def test_other_functions_give_meta_results(meta) -> None:
    xp = meta.xp
    a, b = meta_empty((5, 4), np.float32), meta_empty((4, 3), np.float32)
    assert (a @ b).shape == (5, 3) and type(a @ b) is MetaArray
    s = a.sum(axis=0)
    assert type(s) is MetaArray and s.shape == (4,)
    cat = xp.concatenate([a, a], axis=1)
    assert type(cat) is MetaArray and cat.shape == (5, 8) and cat.strides == (0, 0)
    assert type(a[1:3, ::2]) is MetaArray and a[1:3, ::2].shape == (2, 2)
    assert type(a.copy()) is MetaArray and a.copy().strides == (0, 0)
    assert a.astype(np.float16).dtype == np.float16 and a.astype(np.float32, copy=False) is a
    assert type(xp.zeros((2, 2))) is MetaArray
    a[1:3] = meta_empty((4,), np.float32)  # writes nothing, but the shapes must fit
    with pytest.raises(ValueError):
        a[1:3] = meta_empty((3,), np.float32)


def test_no_values_out(meta) -> None:
    a = meta_empty((2, 3), np.float32)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
        meta.to_numpy(a)
    with pytest.raises(NotImplementedError, match="no data"):
        a.tolist()
    for read in (lambda: a[0, 0].item(), lambda: int(a[0, 0]), lambda: float(a.sum())):
        with pytest.raises(RuntimeError, match=r"Tensor.item\(\) cannot be called on meta tensors"):
            read()
    assert not bool((a == 0).any())  # an op's check on values finds nothing wrong (Tensor.__bool__ raises)
    with pytest.raises(NotImplementedError, match="torch.nonzero"):
        a.nonzero()
    with pytest.raises(NotImplementedError, match="torch.nonzero"):
        a[a > 0]
    with pytest.raises(NotImplementedError, match="aten::_unique2"):
        np.unique(a)


def test_host_arrays_do_not_mix(meta) -> None:
    a = meta_empty((2, 3), np.float32)
    msg = "Tensor on device cpu is not on the expected device meta!"
    for bad in (lambda: a + np.ones(3), lambda: np.ones((2, 3)) * a, lambda: a @ np.ones((3, 2)),
                lambda: np.concatenate([a, np.ones((2, 3))])):
        with pytest.raises(RuntimeError, match=msg):
            bad()
    assert (a + np.asarray(2.0, np.float32)).shape == (2, 3)  # a 0-d host array joins, as cpu scalars do


def test_random_draws_are_meta(meta) -> None:
    rng = meta.generator(0)
    u = rng.random((30_000, 30_000), dtype=np.float32)  # one draw, not 900M
    assert type(u) is MetaArray and u.shape == (30_000, 30_000) and u.dtype == np.float32
    n = rng.standard_normal((3,))
    i = rng.integers(0, 5, size=(2, 2), dtype=np.int64)
    assert n.shape == (3,) and n.dtype == np.float64 and i.shape == (2, 2) and i.dtype == np.int64
    assert type(rng.permutation(4)) is MetaArray
    state = meta.generator_state(rng)
    meta.set_generator_state(rng, state)


def test_kernels_run_on_meta(meta) -> None:
    a = meta_empty((3, 4), np.float64)
    assert type(meta.kernels["erf"](a)) is MetaArray and meta.kernels["erf"](a).shape == (3, 4)
    assert meta.element_strides(a) == (4, 1)
    assert backends.get_backend("cpu").element_strides(np.ones((3, 4))) == (4, 1)
    assert meta.has_data is False and backends.get_backend("cpu").has_data is True
    with pytest.raises(RuntimeError, match="single device"):
        meta.asarray(1.0, device_index=1)


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)),
                                   ((2, 3), (7, 1, 3, 4)), ((3,), (6, 3, 4)), ((6, 2, 3), (3,))])
def test_matmul_shape_without_the_product(sa, sb) -> None:
    a, b = meta_empty(sa, np.float32), meta_empty(sb, np.float64)
    want = np.matmul(np.ones(sa, np.float32), np.ones(sb))
    got = a @ b
    assert type(got) is MetaArray and got.shape == want.shape and got.dtype == want.dtype
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        meta_empty((2, 3), np.float32) @ meta_empty((4, 2), np.float32)


@pytest.mark.parametrize("call", [
    lambda m: m.empty((2, 3)), lambda m: m.zeros(4, np.int32), lambda m: m.ones((2,), dtype=np.float16),
    lambda m: m.full((2, 2), 3), lambda m: m.full((2,), 1.5, np.float32), lambda m: m.full((2,), True),
    lambda m: m.empty_like(np.ones((2, 3), np.int8)), lambda m: m.zeros_like(np.ones(3), dtype=np.int64),
    lambda m: m.full_like(np.ones(3, np.int32), 2.7), lambda m: m.ones_like(np.ones(3), shape=(5,))])
def test_filled_arrays_match_numpys_shape_and_dtype(meta, call) -> None:
    want, got = call(np), call(meta.xp)
    assert type(got) is MetaArray and (got.shape, got.dtype) == (want.shape, want.dtype)
    assert not any(got.strides)


def test_setitem_checks_shapes_without_a_pass() -> None:
    a = meta_empty((40_000, 40_000), np.float32)
    a[:, 3] = meta_empty((40_000,), np.float32)
    a[np.asarray(0)] = 1.0
    with pytest.raises(ValueError, match=r"could not broadcast input array from shape \(3,\) into shape \(40000,\)"):
        a[0] = meta_empty((3,), np.float32)


def test_elementwise_into_outputs_checks_like_numpy() -> None:
    a, b = meta_empty((3,), np.float32), meta_empty((2, 3), np.float32)
    out = meta_empty((2, 3), np.float32)
    assert np.add(a, b, out=out) is out
    a += a
    with pytest.raises(ValueError, match=r"non-broadcastable output operand with shape \(3,\)"):
        np.add(a, b, out=a)
    with pytest.raises(TypeError, match="Cannot cast ufunc 'add' output"):
        np.add(b, b, out=meta_empty((2, 3), np.int64))
    with pytest.raises(ValueError):  # numpy's own error, for comparison
        np.add(np.ones(3), np.ones((2, 3)), out=np.ones(3))
