"""Memory formats and layouts, the runtime debug switches, torch.version / torch.random, and the Tensor
extras (resize, as_subclass, nonzero_static, empty_permuted, binomial, ...), each against real PyTorch."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import disttorch
from tests.oracle import assert_close, to_np

torch = pytest.importorskip("torch")


def _pair(shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return disttorch.tensor(arr), torch.tensor(arr)


def _views(d, t):
    """The same family of views on both: transposed, sliced, permuted, expanded."""
    yield d, t
    yield d.transpose(0, 1), t.transpose(0, 1)
    yield d[:, ::2], t[:, ::2]
    yield d.permute(3, 1, 0, 2), t.permute(3, 1, 0, 2)
    yield d[:1].expand(3, -1, -1, -1), t[:1].expand(3, -1, -1, -1)


@pytest.mark.parametrize("fmt", ["contiguous_format", "channels_last", "preserve_format"])
def test_memory_formats_give_pytorchs_strides(fmt):
    d, t = _pair((3, 4, 5, 6))
    dfmt, tfmt = getattr(disttorch, fmt), getattr(torch, fmt)
    assert repr(dfmt) == repr(tfmt)
    for dv, tv in _views(d, t):
        assert dv.stride() == tv.stride()
        for name in ("empty_like", "zeros_like", "ones_like", "rand_like"):
            if name == "rand_like":
                continue
            assert getattr(disttorch, name)(dv, memory_format=dfmt).stride() == \
                getattr(torch, name)(tv, memory_format=tfmt).stride(), (name, fmt)
        c_d, c_t = dv.clone(memory_format=dfmt), tv.clone(memory_format=tfmt)
        assert c_d.stride() == c_t.stride(), ("clone", fmt, tv.stride())
        assert_close(c_d, c_t)
        assert c_d.data_ptr() != dv.data_ptr()
        if fmt != "preserve_format":
            assert dv.contiguous(memory_format=dfmt).stride() == tv.contiguous(memory_format=tfmt).stride()
            assert dv.to(memory_format=dfmt).stride() == tv.to(memory_format=tfmt).stride()
            for q in ("contiguous_format", "channels_last"):
                assert dv.is_contiguous(memory_format=getattr(disttorch, q)) == \
                    tv.is_contiguous(memory_format=getattr(torch, q))
    assert (d.contiguous(memory_format=disttorch.channels_last) + 1).stride() == \
        (t.contiguous(memory_format=torch.channels_last) + 1).stride()


def test_channels_last_needs_rank_4_and_preserve_is_refused_by_contiguous():
    d, t = _pair((3, 4, 5))
    for lib, x in ((disttorch, d), (torch, t)):
        with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
            x.contiguous(memory_format=lib.channels_last)
        with pytest.raises(RuntimeError, match="preserve memory format is unsupported by the contiguous operator"):
            x.transpose(0, 1).contiguous(memory_format=lib.preserve_format)
        assert x.contiguous(memory_format=lib.preserve_format) is x
    d5, t5 = _pair((2, 3, 4, 5, 6))
    assert d5.contiguous(memory_format=disttorch.channels_last_3d).stride() == \
        t5.contiguous(memory_format=torch.channels_last_3d).stride()


def test_module_to_channels_last_converts_4d_parameters_and_keeps_values():
    torch.manual_seed(0)
    tm = torch.nn.Conv2d(3, 4, 3)
    dm = disttorch.nn.Conv2d(3, 4, 3)
    dm.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    dm.to(memory_format=disttorch.channels_last)
    tm.to(memory_format=torch.channels_last)
    assert dm.weight.stride() == tm.weight.stride() and dm.bias.stride() == tm.bias.stride()
    d, t = _pair((2, 3, 8, 8))
    d, t = d.to(memory_format=disttorch.channels_last), t.to(memory_format=torch.channels_last)
    assert_close(dm(d), tm(t), rtol=1e-4, atol=1e-5)


def test_clone_keeps_gradients_and_layout_objects_compare_and_pickle():
    d, t = _pair((2, 3, 4, 5))
    d.requires_grad_(True)
    t.requires_grad_(True)
    (d.to(memory_format=disttorch.channels_last) * 2).sum().backward()
    (t.to(memory_format=torch.channels_last) * 2).sum().backward()
    assert_close(d.grad, t.grad)
    assert d.layout is disttorch.strided and repr(d.layout) == repr(t.layout) == "torch.strided"
    assert isinstance(disttorch.strided, disttorch.layout)
    assert isinstance(disttorch.channels_last, disttorch.memory_format)
    assert pickle.loads(pickle.dumps(disttorch.channels_last)) is disttorch.channels_last


def test_empty_strided_and_new_empty_strided_honour_strides():
    for size, stride in (((2, 3), (1, 2)), ((2, 3, 4), (12, 1, 3)), ((3, 2), (4, 1)), ((0, 2), (2, 1))):
        assert disttorch.empty_strided(size, stride).stride() == torch.empty_strided(size, stride).stride()
        assert disttorch.zeros(1).new_empty_strided(size, stride, dtype=disttorch.float64).stride() == \
            torch.zeros(1).new_empty_strided(size, stride, dtype=torch.float64).stride()
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match=r"dimensionality of sizes \(2\) must match dimensionality of strides"):
            lib.empty_strided((2, 3), (1,))


def test_runtime_flags_follow_pytorch():
    for lib in (disttorch, torch):
        try:
            lib.set_deterministic_debug_mode("warn")
            assert lib.get_deterministic_debug_mode() == 1 and lib.are_deterministic_algorithms_enabled()
            assert lib.is_deterministic_algorithms_warn_only_enabled()
            lib.set_deterministic_debug_mode(2)
            assert lib.get_deterministic_debug_mode() == 2 and not lib.is_deterministic_algorithms_warn_only_enabled()
            with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`, but got x"):
                lib.set_deterministic_debug_mode("x")
            with pytest.raises(RuntimeError, match="expected 0, 1, or 2, but got 5"):
                lib.set_deterministic_debug_mode(5)
            lib.use_deterministic_algorithms(False, warn_only=True)
            assert lib.is_deterministic_algorithms_warn_only_enabled() and lib.get_deterministic_debug_mode() == 0
        finally:
            lib.set_deterministic_debug_mode(0)
        try:
            lib.set_anomaly_enabled(True, False)
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        finally:
            lib.set_anomaly_enabled(False)
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        try:
            lib.set_warn_always(True)
            assert lib.is_warn_always_enabled()
        finally:
            lib.set_warn_always(False)
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled()
        assert isinstance(lib.set_flush_denormal(False), bool)
        assert lib.init_num_threads() is None


def test_version_and_random_modules():
    assert disttorch.version.__version__ == disttorch.__version__
    assert disttorch.version.hip is None and disttorch.version.debug is False
    assert disttorch.version.cuda is None or isinstance(disttorch.version.cuda, str)
    import disttorch.random as dr

    assert dr.manual_seed(5) is disttorch.default_generator and dr.initial_seed() == 5
    before = disttorch.rand(3)
    disttorch.manual_seed(5)
    with dr.fork_rng():
        inside = disttorch.rand(3)
    after = disttorch.rand(3)
    np.testing.assert_array_equal(to_np(inside), to_np(before))
    np.testing.assert_array_equal(to_np(after), to_np(before))  # the block's draws were undone
    with dr.fork_rng(enabled=False):
        disttorch.rand(1)
    state = dr.get_rng_state()
    a = disttorch.rand(2)
    dr.set_rng_state(state)
    np.testing.assert_array_equal(to_np(disttorch.rand(2)), to_np(a))


def test_resize_as_subclass_is_nonzero():
    d, t = disttorch.arange(6.0, requires_grad=True), torch.arange(6.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        rd, rt = d.resize(3, 2), t.resize(3, 2)
    assert any("non-inplace resize is deprecated" in str(w.message) for w in got)
    assert_close(rd, rt)
    (rd * disttorch.arange(6.0).view(3, 2)).sum().backward()
    (rt * torch.arange(6.0).view(3, 2)).sum().backward()
    assert_close(d.grad, t.grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(d.resize_as(disttorch.zeros(2, 3)), t.resize_as(torch.zeros(2, 3)))
        for x in (d, t):
            with pytest.raises(RuntimeError, match=r"requested resize to 4 \(4 elements in total\)"):
                x.resize(4)

    class Sub(disttorch.Tensor):
        pass

    s = d.as_subclass(Sub)
    assert type(s) is Sub and s.data_ptr() == d.data_ptr() and s.requires_grad
    with pytest.raises(TypeError, match="subclass of torch.Tensor"):
        d.as_subclass(int)
    for lib in (disttorch, torch):
        assert lib.tensor([3.0]).is_nonzero() and not lib.tensor([[0]]).is_nonzero() and lib.is_nonzero(lib.tensor(1))
        for bad, msg in (([1, 2], "more than one value"), ([], "no values")):
            with pytest.raises(RuntimeError, match=msg):
                lib.tensor(bad).is_nonzero()


def test_nonzero_static_empty_permuted_fill_and_scatter_methods():
    for data, size, fill in (([0, 1, 2, 0, 3], 2, -1), ([[0, 1], [2, 0]], 4, -7), ([0, 0], 3, 9), ([1, 1, 1], 0, -1)):
        assert_close(disttorch.nonzero_static(disttorch.tensor(data), size=size, fill_value=fill),
                     torch.nonzero_static(torch.tensor(data), size=size, fill_value=fill))
        assert_close(disttorch.tensor(data).nonzero_static(size=size),
                     torch.tensor(data).nonzero_static(size=size))
    for size, order in (((2, 3, 5, 7), (0, 2, 3, 1)), ((4, 5), (1, 0)), ((2, 3, 4), (2, 0, 1))):
        assert disttorch.empty_permuted(size, order).stride() == torch.empty_permuted(size, order).stride()
    with pytest.raises(RuntimeError):
        disttorch.empty_permuted((2, 3), (0, 0))
    d, t = disttorch.zeros(3), torch.zeros(3)
    assert disttorch.fill_(d, 2.5) is d and torch.fill_(t, 2.5) is t
    assert_close(d, t)
    dm, tm = _pair((4, 4))
    assert_close(dm.select_scatter(disttorch.ones(4), 0, 1), tm.select_scatter(torch.ones(4), 0, 1))
    assert_close(dm.slice_scatter(disttorch.ones(2, 4), 0, 1, 3), tm.slice_scatter(torch.ones(2, 4), 0, 1, 3))
    assert_close(dm.diagonal_scatter(disttorch.ones(3), 1), tm.diagonal_scatter(torch.ones(3), 1))
    assert_close(dm.as_strided_scatter(disttorch.ones(2, 2), (2, 2), (1, 2)),
                 tm.as_strided_scatter(torch.ones(2, 2), (2, 2), (1, 2)))


def test_binomial_moments_and_dtype_checks():
    disttorch.manual_seed(0)
    count = disttorch.full((20000,), 10.0)
    prob = disttorch.full((20000,), 0.3)
    draws = to_np(disttorch.binomial(count, prob))
    assert draws.dtype == np.float32 and draws.min() >= 0 and draws.max() <= 10
    assert abs(draws.mean() - 3.0) < 0.05 and abs(draws.var() - 2.1) < 0.1
    assert_close(disttorch.binomial(disttorch.tensor([0.0, 5.0]), disttorch.tensor([0.7, 1.0])),
                 torch.binomial(torch.tensor([0.0, 5.0]), torch.tensor([0.7, 1.0])))
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count, got: Long"):
            lib.binomial(lib.tensor([10, 20]), lib.tensor([0.5, 0.1]))


def test_frombuffer_shares_memory_and_checks_sizes_as_pytorch():
    import array

    for lib in (disttorch, torch):
        buf = bytearray(array.array("i", [1, 2, 3, 4]).tobytes())
        t = lib.frombuffer(buf, dtype=lib.int32)
        buf[0] = 9
        assert t.tolist() == [9, 2, 3, 4]
        assert lib.frombuffer(buf, dtype=lib.int32, count=2, offset=8).tolist() == [3, 4]
        assert lib.frombuffer(buf, dtype=lib.float32, requires_grad=True).requires_grad
        for kwargs, msg in (({"buffer": bytearray(7)}, r"buffer length \(7 bytes\) after offset \(0 bytes\) must be a "
                             r"multiple of element size \(4\)"),
                            ({"buffer": bytearray(8), "count": 3}, r"requested buffer length \(3 \* 4 bytes\)"),
                            ({"buffer": bytearray(0)}, r"both buffer length \(0\) and count \(-1\) must not be 0")):
            with pytest.raises(ValueError, match=msg):
                lib.frombuffer(dtype=lib.int32, **kwargs)


def test_device_errors_and_get_device_module():
    for lib in (disttorch, torch):
        assert issubclass(lib.OutOfMemoryError, RuntimeError) and issubclass(lib.AcceleratorError, RuntimeError)
        assert lib.get_device_module("cpu") is lib.cpu and lib.get_device_module(lib.device("cpu")) is lib.cpu
        assert lib.get_device_module("cuda:0") is lib.cuda
        with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
            lib.get_device_module("foo")
    assert disttorch.get_device_module() is (disttorch.cuda if disttorch.cuda.is_available() else disttorch.cpu)
    x = disttorch.arange(3.0)
    assert disttorch.from_dlpack(disttorch.to_dlpack(x)).tolist() == [0.0, 1.0, 2.0]
    t = torch.arange(4.0)
    shared = disttorch.from_dlpack(torch.utils.dlpack.to_dlpack(t))  # a legacy capsule from real torch
    t[0] = 7.0
    assert shared.tolist() == [7.0, 1.0, 2.0, 3.0]
