"""torch.device parsing and tensors' devices; cuda without cupy (or without a GPU) fails clearly."""
from __future__ import annotations

import importlib.util
import pickle
import sys

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def outcome(lib, expr: str):
    try:
        out = eval(expr, {"L": lib, "pickle": pickle})
    except Exception as exc:  # noqa: BLE001  (compared with PyTorch's exception)
        return type(exc).__name__, str(exc).split("\n")[0]
    return repr(out), str(out)


@pytest.mark.parametrize("expr", [
    "L.device('cpu')", "L.device('cuda')", "L.device('cuda:1')", "L.device('cuda', 1)", "L.device('cpu:0')",
    "L.device('cpu', 0)", "L.device(L.device('cuda:2'))", "L.device('cuda:12')",
    "L.device('cuda:1') == L.device('cuda', 1)", "L.device('cuda') == L.device('cuda:0')",
    "L.device('cpu') == 'cpu'", "L.device('cpu') != L.device('cuda')", "L.device('cuda:0').type",
    "L.device('cuda:0').index", "L.device('cpu').index", "hash(L.device('cuda:1')) == hash(L.device('cuda', 1))",
    "pickle.loads(pickle.dumps(L.device('cuda:1')))", "{L.device('cpu'): 1}[L.device('cpu')]",
    "L.zeros(2).device", "L.zeros(2).is_cuda", "L.zeros(2).is_cpu", "L.zeros(2).get_device()",
    "L.zeros(2, device='cpu').device", "L.zeros(2, device=L.device('cpu')).device", "L.zeros(2).cpu().device",
    "L.zeros(2).to('cpu').device", "L.tensor([1], device='cpu:0').device", "L.arange(3, device='cpu').device",
    "L.ones(2).to(L.device('cpu'), L.float64).dtype", "L.zeros(2).new_ones(2).device",
    # errors
    "L.device('cuda:x')", "L.device('cuda:01')", "L.device(' cuda')", "L.device('cuda:')", "L.device('cuda:1:2')",
    "L.device('cuda:-1')", "L.device('cuda:1', 0)", "L.device('cuda', -1)", "L.device('')",
    "L.device('cuda', 'a')",
])
def test_matches_torch(expr: str) -> None:
    assert outcome(disttorch, expr) == outcome(torch, expr), expr


@pytest.mark.parametrize("bad", ["xyz", "CUDA", "gpu:0"])
def test_unknown_device_type(bad: str) -> None:
    with pytest.raises(RuntimeError, match=f"device type at start of device string: {bad}"):
        disttorch.device(bad)
    with pytest.raises(RuntimeError, match=f"device type at start of device string: {bad}"):
        disttorch.zeros(2, device=bad)


def test_device_argument_types() -> None:
    with pytest.raises(TypeError):
        disttorch.device(None)
    with pytest.raises(TypeError):
        disttorch.device(1.5)
    assert disttorch.device(1) == disttorch.device("cuda:1")  # an int names a cuda device
    assert str(disttorch.device("cuda", 0)) == "cuda:0"


def test_to_same_device_is_a_no_op() -> None:
    t = disttorch.ones(3)
    assert t.to("cpu") is t and t.cpu() is t and t.to(disttorch.device("cpu")) is t
    assert t.to("cpu", copy=True) is not t


@pytest.fixture
def no_cupy(monkeypatch):
    """Make ``import cupy`` fail and forget any loaded cupy, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    backend = disttorch.backends.get_backend("cuda")
    monkeypatch.setattr(backend, "_cupy", None)
    return backend


def test_cuda_unavailable_without_cupy(no_cupy) -> None:
    assert disttorch.cuda.is_available() is False
    assert disttorch.cuda.device_count() == 0
    disttorch.cuda.synchronize()  # nothing to wait for
    assert disttorch.device("cuda:0").type == "cuda"  # naming cuda needs no cupy


def test_cuda_seeding_without_cupy_is_silently_ignored(no_cupy) -> None:
    # PyTorch's CPU build: cuda seeding returns None and leaves the CPU stream alone (sample scripts call it
    # unconditionally); the answers are read from real torch, which has no cuda here either
    torch = pytest.importorskip("torch")
    assert not torch.cuda.is_available()
    for name in ("manual_seed", "manual_seed_all", "seed", "seed_all"):
        args = (5,) if name.startswith("manual") else ()
        for lib in (torch, disttorch):
            lib.manual_seed(1)
            first = lib.rand(3).tolist()
            lib.manual_seed(1)
            assert getattr(lib.cuda, name)(*args) is None
            assert lib.rand(3).tolist() == first, (lib.__name__, name)


@pytest.mark.parametrize("make", [
    lambda: disttorch.zeros(2, device="cuda"), lambda: disttorch.tensor([1.0], device="cuda:0"),
    lambda: disttorch.ones(2).cuda(), lambda: disttorch.ones(2).to("cuda"), lambda: disttorch.randn(2, device="cuda"),
    lambda: disttorch.arange(3, device="cuda"), lambda: disttorch.eye(2, device="cuda:1"),
    lambda: disttorch.cuda.current_device(),
])
def test_cuda_request_without_cupy_says_what_to_install(no_cupy, make) -> None:
    with pytest.raises(RuntimeError, match="cupy is not installed.*install"):
        make()


def test_this_machine() -> None:
    if importlib.util.find_spec("cupy") is None:
        assert not disttorch.cuda.is_available()
        with pytest.raises(RuntimeError, match="pip install"):
            disttorch.zeros(1, device="cuda")
    elif not disttorch.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            disttorch.zeros(1, device="cuda")
    else:
        t = disttorch.ones(2, device="cuda")
        assert t.device == disttorch.device("cuda", disttorch.cuda.current_device()) and t.is_cuda
        assert t.get_device() == disttorch.cuda.current_device()
        assert repr(t) == f"tensor([1., 1.], device='{t.device}')"
        np.testing.assert_array_equal(t.cpu().numpy(), [1.0, 1.0])
