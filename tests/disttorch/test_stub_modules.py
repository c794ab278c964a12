"""torch.accelerator, torch.jit, torch.onnx and torch.fx: what scripts call works as in PyTorch (or says
clearly that it is not supported)."""
from __future__ import annotations

import pytest

import disttorch

torch = pytest.importorskip("torch")


def test_accelerator_agrees_with_cuda():
    acc = disttorch.accelerator
    assert acc.is_available() == disttorch.cuda.is_available()
    if not acc.is_available():
        assert acc.current_accelerator() is None and acc.device_count() == 0
        assert acc.is_available() == torch.accelerator.is_available()  # no GPU for either here
        with pytest.raises(RuntimeError, match="No available accelerator"):
            acc.current_device_index()
        with acc.device_index(None):
            pass
    else:
        assert acc.current_accelerator() == disttorch.device("cuda")
        assert acc.device_count() == disttorch.cuda.device_count()


def test_jit_hands_back_what_it_gets():
    def f(x):
        return x * 2

    m = disttorch.nn.Linear(2, 2)
    assert disttorch.jit.script(f) is f and disttorch.jit.script(m) is m
    assert disttorch.jit.trace(f, disttorch.ones(2)) is f
    assert disttorch.jit.ignore(f) is f and disttorch.jit.ignore(drop=True)(f) is f
    assert disttorch.jit.unused(f) is f and disttorch.jit.export(f) is f
    assert disttorch.jit.is_scripting() is False and torch.jit.is_scripting() is False
    assert disttorch.jit.wait(disttorch.jit.fork(f, 3)) == 6
    with pytest.raises(NotImplementedError, match="TorchScript"):
        disttorch.jit.save(m, "m.pt")


def test_onnx_and_fx_say_they_are_not_supported():
    with pytest.raises(NotImplementedError, match="ONNX"):
        disttorch.onnx.export(disttorch.nn.Linear(2, 2), disttorch.ones(1, 2), "m.onnx")
    assert disttorch.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match="torch.fx"):
        disttorch.fx.symbolic_trace(disttorch.nn.Linear(2, 2))
    g = disttorch.fx.wrap("len")
    assert g == "len"
    with pytest.raises(NotImplementedError):
        disttorch.fx.GraphModule(None, None)


def test_compile_is_a_pass_through():
    m = disttorch.nn.Linear(2, 2)
    assert disttorch.compile(m) is m
    assert disttorch.compile(mode="max-autotune")(m) is m
