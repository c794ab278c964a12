"""torch.nn.utils.skip_init against PyTorch's: the module is built on meta, then given memory uninitialised."""
from __future__ import annotations

import pytest

import disttorch

torch = pytest.importorskip("torch")


def describe(t) -> tuple:
    return (tuple(t.shape), str(t.dtype).split(".")[-1], str(t.device), t.requires_grad)


def outcome(fn):
    try:
        return ("ok", repr(fn()))
    except Exception as exc:  # the error type and message are part of the behaviour compared
        return (type(exc).__name__, str(exc))


def test_skip_init() -> None:
    def program(lib):
        class NoDevice(lib.nn.Module):
            pass

        lin = lib.nn.utils.skip_init(lib.nn.Linear, 3, 2)
        res = [describe(lin.weight), describe(lin.bias), type(lin.weight).__name__,
               describe(lib.nn.utils.skip_init(lib.nn.Conv2d, 1, 4, 3, device="meta", bias=False).weight)]
        return res + [outcome(lambda: lib.nn.utils.skip_init(int)),
                      outcome(lambda: lib.nn.utils.skip_init(NoDevice))]

    assert program(torch) == program(disttorch)
