"""torch.cuda's memory statistics, device information, streams, events and rng state.

With cuda (the strict cupy stand-in under DISTTORCH_FAKE_CUDA=1, or a GPU): the values are consistent with the
memory the tensors hold and with cupy's streams. Without cuda: the same results and exception types as
PyTorch's CPU build, called side by side.
"""
import gc
import warnings

import pytest
from conftest import CUDA

import disttorch

torch = pytest.importorskip("torch")

needs_cuda = pytest.mark.skipif(not CUDA, reason="no GPU here (DISTTORCH_FAKE_CUDA=1 runs these on the stand-in)")
no_cuda = pytest.mark.skipif(CUDA or torch.cuda.is_available(),
                             reason="compares with PyTorch's CPU build: only where neither has cuda")
c = disttorch.cuda

# name -> call, for the calls PyTorch's CPU build refuses or answers
_CALLS = {
    "mem_get_info": lambda m: m.mem_get_info(), "get_device_properties": lambda m: m.get_device_properties(0),
    "get_device_capability": lambda m: m.get_device_capability(), "init": lambda m: m.init(),
    "ipc_collect": lambda m: m.ipc_collect(), "can_device_access_peer": lambda m: m.can_device_access_peer(0, 1),
    "current_stream": lambda m: m.current_stream(), "default_stream": lambda m: m.default_stream(),
    "initial_seed": lambda m: m.initial_seed(), "get_rng_state": lambda m: m.get_rng_state(),
    "set_per_process_memory_fraction": lambda m: m.set_per_process_memory_fraction(0.5),
    "get_per_process_memory_fraction": lambda m: m.get_per_process_memory_fraction(),
    "Stream": lambda m: m.Stream(), "Event": lambda m: m.Event(),
    "memory_allocated": lambda m: m.memory_allocated(), "max_memory_allocated": lambda m: m.max_memory_allocated(),
    "memory_reserved": lambda m: m.memory_reserved(), "max_memory_reserved": lambda m: m.max_memory_reserved(),
    "memory_stats": lambda m: dict(m.memory_stats()), "get_arch_list": lambda m: m.get_arch_list(),
    "is_tf32_supported": lambda m: m.is_tf32_supported(), "get_rng_state_all": lambda m: m.get_rng_state_all(),
    "default_generators": lambda m: tuple(m.default_generators), "empty_cache": lambda m: m.empty_cache(),
    "memory_summary": lambda m: m.memory_summary(),
    "memory_stats_as_nested_dict": lambda m: m.memory_stats_as_nested_dict(),
    "host_memory_stats": lambda m: m.host_memory_stats(),
    "host_memory_stats_as_nested_dict": lambda m: m.host_memory_stats_as_nested_dict(),
    "nvtx.range_push": lambda m: m.nvtx.range_push("a"), "nvtx.range_pop": lambda m: m.nvtx.range_pop(),
    "nvtx.mark": lambda m: m.nvtx.mark("a"),
    "profiler.start": lambda m: m.profiler.start(), "profiler.stop": lambda m: m.profiler.stop(),
    "profiler.profile": lambda m: m.profiler.profile().__enter__(),
    "get_sync_debug_mode": lambda m: m.get_sync_debug_mode(), "set_sync_debug_mode": lambda m: m.set_sync_debug_mode(1),
}


def _outcome(fn, module):
    try:
        return "ok", fn(module)
    except Exception as exc:  # the type is what is compared
        return "raises", type(exc)


@no_cuda
@pytest.mark.parametrize("name", sorted(_CALLS))
def test_without_cuda_as_pytorch_cpu_build(name):
    ours, theirs = _outcome(_CALLS[name], c), _outcome(_CALLS[name], torch.cuda)
    if name.startswith("nvtx."):  # the message says why too
        with pytest.raises(RuntimeError, match="NVTX functions not installed"):
            _CALLS[name](c)
    assert ours == theirs


@no_cuda
def test_without_cuda_messages():
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled.*cupy"):
        c.mem_get_info()
    with pytest.raises(RuntimeError, match="requires CUDA support"):
        c.Stream()
    assert c.list_gpu_processes() == torch.cuda.list_gpu_processes()
    for name in ("utilization", "temperature", "power_draw", "clock_rate", "device_memory_used", "memory_usage"):
        with pytest.raises(ModuleNotFoundError) as theirs:
            getattr(torch.cuda, name)()
        with pytest.raises(ModuleNotFoundError, match=str(theirs.value)):
            getattr(c, name)()


def test_deprecated_aliases_warn_as_pytorch():
    for name in ("memory_cached", "max_memory_cached"):
        with pytest.warns(FutureWarning, match="renamed to `torch.cuda.") as ours:
            getattr(c, name)()
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            getattr(torch.cuda, name)()
        assert str(ours[0].message) == str(theirs[0].message)


def test_out_of_memory_error_is_pytorch_s_kind():
    assert c.OutOfMemoryError is disttorch.OutOfMemoryError
    assert issubclass(c.OutOfMemoryError, RuntimeError) and issubclass(torch.cuda.OutOfMemoryError, RuntimeError)


@needs_cuda
def test_memory_allocated_follows_tensors():
    gc.collect()
    c.empty_cache()
    c.reset_peak_memory_stats()
    before = c.memory_allocated()
    x = disttorch.ones(1000, 1000, device="cuda")
    grown = c.memory_allocated()
    assert grown - before >= 4_000_000
    assert c.max_memory_allocated() >= grown and c.memory_reserved() >= grown
    stats = c.memory_stats()
    assert stats["allocated_bytes.all.current"] == grown and stats["num_alloc_retries"] == 0
    del x
    gc.collect()
    assert c.memory_allocated() == before
    assert c.max_memory_allocated() >= grown  # the peak stays
    assert c.memory_reserved() >= grown  # the freed block stays cached
    c.empty_cache()
    assert c.memory_reserved() == c.memory_allocated()
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == c.memory_allocated()
    summary = c.memory_summary()
    assert "Allocated memory" in summary and "Peak Usage" in summary


@needs_cuda
def test_memory_fraction_limits_the_pool():
    free, total = c.mem_get_info()
    assert 0 < free <= total
    assert c.get_per_process_memory_fraction() == 1.0
    try:
        c.set_per_process_memory_fraction(0.25)
        assert c.get_per_process_memory_fraction() == pytest.approx(0.25, rel=1e-6)
        with pytest.raises(ValueError):
            c.set_per_process_memory_fraction(1.5)
    finally:
        c.set_per_process_memory_fraction(1.0)


@needs_cuda
def test_device_properties():
    props = c.get_device_properties(0)
    for attr, kind in (("name", str), ("total_memory", int), ("major", int), ("minor", int),
                       ("multi_processor_count", int), ("warp_size", int)):
        assert isinstance(getattr(props, attr), kind)
    assert props.name == c.get_device_name(0)
    assert c.get_device_capability(0) == (props.major, props.minor)
    assert props.total_memory == c.mem_get_info(0)[1]
    assert f"sm_{props.major}{props.minor}" in c.get_arch_list()
    assert c.is_tf32_supported() == ((props.major, props.minor) >= (8, 0))
    assert isinstance(c.can_device_access_peer(0, 0), bool)
    with pytest.raises(AssertionError):
        c.get_device_properties(c.device_count())
    c.init()
    c.ipc_collect()


@needs_cuda
def test_streams_and_events():
    s = c.Stream()
    assert isinstance(s, disttorch.Stream) and s.device == disttorch.device("cuda", c.current_device())
    assert c.current_stream() == c.default_stream() and c.default_stream().cuda_stream == 0
    with c.stream(s):
        assert c.current_stream() == s
    assert c.current_stream() == c.default_stream()
    c.set_stream(s)
    try:
        assert c.current_stream() == s
    finally:
        c.set_stream(c.default_stream())
    start, end = c.Event(enable_timing=True), c.Event(enable_timing=True)
    start.record()
    disttorch.ones(100, device="cuda").sum()
    end.record(s)
    end.synchronize()
    assert start.query() and end.query() and end.elapsed_time(end) == 0.0 and start.elapsed_time(end) >= 0.0
    with pytest.raises(RuntimeError, match="enable_timing"):
        c.Event().elapsed_time(end)
    s.wait_event(end)
    s.wait_stream(c.default_stream())
    assert s.query()
    ext = c.ExternalStream(s.cuda_stream)
    assert ext.cuda_stream == s.cuda_stream


@needs_cuda
def test_stream_context_selects_its_device():
    if c.device_count() < 2:
        pytest.skip("needs two cuda devices")
    s1 = c.Stream(1)
    with c.stream(s1):
        assert c.current_device() == 1 and c.current_stream(1) == s1
    assert c.current_device() == 0 and c.current_stream(1) == c.default_stream(1)
    with c.device_of(disttorch.ones(1, device="cuda:1")):
        assert c.current_device() == 1
    with c.device_of(disttorch.ones(1)):
        assert c.current_device() == 0


@needs_cuda
def test_rng_state_round_trip():
    gens = c.default_generators
    assert len(gens) == c.device_count() and gens[0] is c.default_generators[0]
    c.manual_seed(7)
    assert c.initial_seed() == 7
    state = c.get_rng_state()
    a = disttorch.rand(5, device="cuda").cpu().numpy()
    c.set_rng_state(state)
    b = disttorch.rand(5, device="cuda").cpu().numpy()
    assert (a == b).all()
    states = c.get_rng_state_all()
    a = disttorch.rand(5, device="cuda").cpu().numpy()
    c.set_rng_state_all(states)
    assert (disttorch.rand(5, device="cuda").cpu().numpy() == a).all()


@needs_cuda
def test_out_of_memory_surfaces_as_pytorch_s_error():
    x = disttorch.ones(10000, device="cuda", requires_grad=True)
    gc.collect()
    c.set_per_process_memory_fraction(c.memory_allocated() * 1.5 / c.mem_get_info()[1])
    try:
        for make in (lambda: x * 2, lambda: (x.sum() * x).sum().backward(),
                     lambda: disttorch.zeros(100000, device="cuda"), lambda: disttorch.ones(100000).cuda()):
            with pytest.raises(c.OutOfMemoryError, match="CUDA out of memory"):
                make()
    finally:
        c.set_per_process_memory_fraction(1.0)
    assert (x * 2).sum().item() == 20000.0


@needs_cuda
def test_nested_stats_and_external_stream():
    x = disttorch.ones(100, device="cuda")
    nested, flat = c.memory_stats_as_nested_dict(), c.memory_stats()
    assert nested["allocated_bytes"]["all"]["current"] == flat["allocated_bytes.all.current"] >= x.nbytes
    assert nested["num_alloc_retries"] == 0
    s = c.Stream()
    assert c.get_stream_from_external(s.cuda_stream).cuda_stream == s.cuda_stream


@needs_cuda
def test_nvtx_ranges_reach_cupy():
    import cupy

    if not getattr(cupy, "_fake", False):
        pytest.skip("reads the stand-in's record of NVTX calls")
    events = cupy.cuda.nvtx.EVENTS
    del events[:]
    assert c.nvtx.range_push("outer") == 0
    with c.nvtx.range("inner {}", 1):
        c.nvtx.mark("here")
    assert c.nvtx.range_pop() == 0
    assert events == [("push", "outer"), ("push", "inner 1"), ("mark", "here"), ("pop", None), ("pop", None)]


@needs_cuda
def test_profiler_and_device_memory_used():
    import cupy

    if not getattr(cupy, "_fake", False):
        pytest.skip("reads the stand-in's record of profiler calls")
    import cupy.cuda.profiler

    events = cupy.cuda.profiler.EVENTS
    del events[:]
    with c.profiler.profile():
        c.profiler.stop()
        c.profiler.start()
    assert events == ["start", "stop", "start", "stop"]
    try:
        import pynvml  # noqa: F401
    except ImportError:  # without NVML: the runtime's figure, total minus free
        free, total = c.mem_get_info()
        assert c.device_memory_used() == total - free


@needs_cuda
def test_sync_debug_mode_warns_or_raises_where_the_host_waits():
    import warnings

    x = disttorch.arange(4.0, device="cuda")
    waits = {"item": lambda: x[1].item(), "bool": lambda: bool(x[1]), "tolist": lambda: x.tolist(),
             "cpu": lambda: x.cpu(), "float": lambda: float(x.sum())}
    try:
        for mode, warn_mode in ((1, "warn"), (2, "error")):
            for given in (mode, warn_mode):
                c.set_sync_debug_mode(given)
                assert c.get_sync_debug_mode() == mode
                for wait in waits.values():
                    if mode == 1:
                        with pytest.warns(UserWarning, match="called a synchronizing CUDA operation"):
                            wait()
                    else:
                        with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
                            wait()
                y = x * 2 + 1  # device work alone does not wait
                del y
        c.set_sync_debug_mode("default")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and x[2].item() == 2.0
        for bad in ("loud", 3):
            with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
                c.set_sync_debug_mode(bad)
        assert c.get_sync_debug_mode() == 0
    finally:
        c.set_sync_debug_mode(0)


@needs_cuda
def test_host_memory_stats_count_pinned_buffers():
    """PyTorch's keys; a pinned tensor is one allocation of its bytes while it lives, and freed when it dies."""
    gc.collect()
    c.reset_accumulated_host_memory_stats()
    c.reset_peak_host_memory_stats()
    before = c.host_memory_stats()
    x = disttorch.ones(1000).pin_memory()
    during = c.host_memory_stats()
    assert during["allocations.current"] == before["allocations.current"] + 1
    assert during["allocated_bytes.current"] - before["allocated_bytes.current"] == x.nbytes == 4000
    assert during["active_bytes.current"] == during["allocated_bytes.current"]
    assert during["num_host_alloc"] == during["allocations.allocated"] == 1 and during["host_alloc_time.count"] == 1
    assert during["allocated_bytes.peak"] >= during["allocated_bytes.current"]
    view = x[10:20]
    del x
    gc.collect()
    assert c.host_memory_stats()["allocations.current"] == during["allocations.current"]  # the view keeps it
    del view
    gc.collect()
    after = c.host_memory_stats()
    assert after["allocations.current"] == before["allocations.current"] and after["num_host_free"] == 1
    assert after["allocated_bytes.peak"] == during["allocated_bytes.peak"]
    c.reset_peak_host_memory_stats()
    assert c.host_memory_stats()["allocated_bytes.peak"] == after["allocated_bytes.current"]
    nested = c.host_memory_stats_as_nested_dict()
    assert set(nested) == {"allocations", "allocated_bytes", "active_requests", "active_bytes", "num_host_alloc",
                           "num_host_free", "host_alloc_time"}
    assert set(nested["active_requests"]) == {"current", "peak", "allocated", "freed"}
    assert list(c.host_memory_stats()) == sorted(c.host_memory_stats())
