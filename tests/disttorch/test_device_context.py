"""``with torch.device(...)`` as PyTorch's device context: factories and nn parameters default to the block's
device, blocks nest, exceptions restore, and the state is per thread. PyTorch (cpu build) runs the same
scenarios with the ``meta`` device standing in for cuda; the device types seen must match."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _torch_name(device: str) -> str:
    return "meta" if device == "cuda" else device  # the installed PyTorch has no cuda


def _types(lib, device: str) -> list[str]:
    """Device types of what the factories and an nn module create inside ``with lib.device(device)``."""
    with lib.device(device) as d:
        assert isinstance(d, lib.device) and str(d) == device
        made = [lib.empty(2), lib.zeros(2, 3), lib.ones(2), lib.rand(2), lib.randn(2), lib.randint(0, 4, (3,)),
                lib.randperm(4), lib.arange(3), lib.full((2,), 1.5), lib.tensor([1.0, 2.0]), lib.as_tensor([1, 2]),
                lib.asarray([1.0]), lib.eye(2), lib.linspace(0, 1, 3), lib.logspace(0, 1, 3), lib.scalar_tensor(2.0),
                lib.empty_strided((2,), (1,)), lib.tril_indices(3, 3), lib.hann_window(4), lib.fft.fftfreq(4)]
        lin = lib.nn.Linear(3, 2)
        made += [lin.weight, lin.bias, lib.nn.BatchNorm1d(2).running_mean, lib.nn.Embedding(4, 2).weight]
        made.append(lib.zeros(2, device="cpu"))  # an explicit device wins
    made.append(lib.zeros(2))  # back to cpu after the block
    return [t.device.type for t in made]


def test_factories_and_parameters_follow_the_block(device):
    got = _types(disttorch, device)
    want = [t.replace("meta", "cuda") for t in _types(torch, _torch_name(device))]
    assert got == want
    assert got[:-2] == [device] * (len(got) - 2) and got[-2:] == ["cpu", "cpu"]


def _nesting(lib, outer: str, inner: str) -> list[str]:
    seen = [lib.get_default_device().type]
    with lib.device(outer):
        seen.append(lib.zeros(1).device.type)
        with lib.device(inner):
            seen += [lib.get_default_device().type, lib.ones(1).device.type]
        seen += [lib.get_default_device().type, lib.randn(1).device.type]
        try:
            with lib.device(inner):
                raise KeyError("leaves the block")
        except KeyError:
            pass
        seen.append(lib.arange(2).device.type)  # the exception restored the outer device
    seen += [lib.get_default_device().type, lib.full((1,), 2).device.type]
    return seen


def test_blocks_nest_and_restore(device):
    other = "cpu" if device == "cuda" else "cuda"
    if other == "cuda" and not disttorch.cuda.is_available():
        other = "cpu"
    got = _nesting(disttorch, device, other)
    want = _nesting(torch, _torch_name(device), _torch_name(other))
    assert got == [s.replace("meta", "cuda") for s in want]


def test_same_device_object_reentered(device):
    d = disttorch.device(device)
    with d:
        with d:
            assert disttorch.zeros(1).device.type == device
        assert disttorch.zeros(1).device.type == device
    assert disttorch.zeros(1).device.type == "cpu"


def test_block_inside_set_default_device(device):
    """A block overrides ``set_default_device`` and hands it back on exit (as PyTorch)."""
    def run(lib, dev):
        lib.set_default_device(dev)
        try:
            with lib.device("cpu"):
                inside = lib.zeros(1).device.type
            return [inside, lib.zeros(1).device.type, lib.get_default_device().type]
        finally:
            lib.set_default_device(None)
    got = run(disttorch, device)
    assert got == [s.replace("meta", "cuda") for s in run(torch, _torch_name(device))]
    assert disttorch.get_default_device() == disttorch.device("cpu")


def test_get_default_device_fills_the_cuda_index(device):
    with disttorch.device(device):
        d = disttorch.get_default_device()
    if device == "cuda":
        assert d == disttorch.device("cuda", disttorch.cuda.current_device())
    else:
        assert d == disttorch.device("cpu") and str(d) == str(torch.get_default_device())


def test_the_block_is_per_thread(device):
    def run(lib, dev):
        seen = []
        with lib.device(dev):
            worker = threading.Thread(target=lambda: seen.append(lib.zeros(1).device.type))
            worker.start()
            worker.join()
            seen.append(lib.zeros(1).device.type)
        return seen
    assert run(disttorch, device) == [s.replace("meta", "cuda") for s in run(torch, _torch_name(device))]


def test_values_inside_the_block_match_torch(device):
    with disttorch.device(device):
        a = disttorch.arange(6, dtype=disttorch.float32).reshape(2, 3)
        b = disttorch.full((2, 3), 0.5)
        y = (a * b).sum()
    want = (torch.arange(6, dtype=torch.float32).reshape(2, 3) * torch.full((2, 3), 0.5)).sum()
    assert y.device.type == device
    np.testing.assert_allclose(y.cpu().numpy(), want.numpy())
