"""torch.UntypedStorage / TypedStorage, torch.Stream / torch.Event and torch.futures against PyTorch's."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _storages(lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch: "TypedStorage is deprecated"
        t = lib.tensor(np.arange(6.0, dtype=np.float32)).view(2, 3)[1:]
        return t, t.untyped_storage(), t.storage()


def test_storage_classes_as_pytorch():
    (t, u, s), (tt, tu, ts) = _storages(disttorch), _storages(torch)
    assert isinstance(u, disttorch.UntypedStorage) and isinstance(s, disttorch.TypedStorage)
    assert disttorch.storage.UntypedStorage is disttorch.UntypedStorage
    assert (u.nbytes(), u.size(), u.element_size(), len(u)) == (tu.nbytes(), tu.size(), tu.element_size(), len(tu))
    assert (s.size(), s.element_size(), str(s.dtype)) == (ts.size(), ts.element_size(), str(ts.dtype))
    assert s.tolist() == ts.tolist() and u.tolist() == tu.tolist()
    assert repr(s) == repr(ts) and repr(u) == repr(tu)
    assert u.data_ptr() == t.data_ptr() - 12 and tu.data_ptr() == tt.data_ptr() - 12  # the base, before row 1
    assert u.device.type == "cpu" and not u.is_cuda and s.untyped().nbytes() == u.nbytes()


def test_storage_writes_show_in_the_tensor():
    t = disttorch.zeros(4)
    t.storage()[2] = 5.0
    assert t.tolist() == [0.0, 0.0, 5.0, 0.0]
    c = t.storage().clone()
    c[0] = 7.0
    assert t[0].item() == 0.0 and c[0] == 7.0


@pytest.mark.parametrize("args", [(5,), ([1, 2, 250],), ()])
def test_storage_constructors_as_pytorch(args):
    ours, theirs = disttorch.UntypedStorage(*args), torch.UntypedStorage(*args)
    assert ours.size() == theirs.size()
    if args and not isinstance(args[0], int):
        assert ours.tolist() == theirs.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = disttorch.TypedStorage([1, 2, 3], dtype=disttorch.float64)
        t = torch.TypedStorage([1, 2, 3], dtype=torch.float64)
    assert o.tolist() == t.tolist() and repr(o) == repr(t) and o.nbytes() == t.nbytes()
    o2 = disttorch.UntypedStorage(o.nbytes()).copy_(o.untyped())
    assert o2.tolist() == o.untyped().tolist()
    with pytest.raises(RuntimeError, match="size does not match"):
        disttorch.UntypedStorage(3).copy_(o.untyped())


def test_cpu_stream_and_event_as_pytorch():
    for lib in (disttorch, torch):
        s = lib.Stream("cpu")
        assert (s.device.type, s.device_type, s.device_index, s.stream_id, s.query()) == ("cpu", 0, -1, 0, True)
        s.synchronize()
        assert repr(s) == "torch.Stream device_type=cpu, device_index=-1, stream_id=0"
        e = lib.Event("cpu")
        assert repr(e) == "torch.Event device_type=cpu, device_index=-1, event_flag=0, event_id=0"
        with pytest.raises(RuntimeError, match="cpu backend doesn't support events"):
            e.record()
        assert e.query() is True and e.synchronize() is None and e.wait() is None


def test_cuda_stream_and_event(device):
    if device != "cuda":
        return
    s = disttorch.Stream("cuda")
    assert s.device.type == "cuda" and s.device_type == 1 and s.stream_id != 0
    with s:
        x = disttorch.ones(3, device="cuda") * 2
    start, end = disttorch.Event("cuda", enable_timing=True), disttorch.Event("cuda", enable_timing=True)
    start.record(s)
    end.record(s)
    end.synchronize()
    assert start.query() and end.elapsed_time(end) >= 0 and start.elapsed_time(end) >= 0
    s.wait_event(start)
    disttorch.Stream("cuda").wait_stream(s)
    assert x.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        disttorch.Event("cuda").elapsed_time(end)


def test_future_as_pytorch():
    for lib in (disttorch, torch):
        f = lib.futures.Future()
        assert isinstance(f, lib.Future) and not f.done()
        chained = f.then(lambda fut: fut.value() * 10)
        f.set_result(4)
        assert f.done() and f.wait() == 4 and f.value() == 4 and chained.wait() == 40
        with pytest.raises(RuntimeError):
            f.set_result(5)
        g = lib.futures.Future()
        g.set_exception(ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            g.wait()
        bad = f.then(lambda fut: 1 / 0)
        with pytest.raises(RuntimeError, match="error when running the callback: ZeroDivisionError: division by"):
            bad.wait()
        h = lib.futures.Future()
        both = lib.futures.collect_all([f, h])
        assert not both.done()
        h.set_result("x")
        assert [x.value() for x in both.wait()] == [4, "x"]
        assert lib.futures.wait_all([f, h]) == [4, "x"]


def test_future_waits_across_threads():
    f = disttorch.futures.Future()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(f.wait()))
    worker.start()
    f.set_result("ready")
    worker.join(timeout=10)
    assert seen == ["ready"]
    calls = []
    f.add_done_callback(lambda fut: calls.append(fut.value()))
    assert calls == ["ready"]
