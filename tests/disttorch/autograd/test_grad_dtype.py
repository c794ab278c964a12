"""Tensor.grad_dtype against PyTorch: default, a cast on accumulation, None (any dtype), leaf-only errors."""
from __future__ import annotations

import pytest

import disttorch

torch = pytest.importorskip("torch")


def _run(lib):
    out = []
    x = lib.ones(2, requires_grad=True)
    out.append(str(x.grad_dtype))
    x.grad_dtype = lib.float16
    (x * 2).sum().backward()
    (x * 3).sum().backward()  # a second accumulation, in float16 too
    out += [str(x.grad.dtype), x.grad.tolist(), str(x.grad_dtype)]
    z = lib.ones(2, requires_grad=True)
    z.grad_dtype = None
    (z * 2).sum().backward()
    out += [str(z.grad.dtype), z.grad_dtype]
    w = lib.ones(2, requires_grad=True)
    w.grad_dtype = lib.float64
    (w.double() * 2).sum().backward()
    out.append(str(w.grad.dtype))
    y = x * 2
    for action in (lambda: y.grad_dtype, lambda: setattr(y, "grad_dtype", lib.float16)):
        with pytest.raises(RuntimeError, match="grad_dtype can only be"):
            action()
    return out


def test_grad_dtype_as_pytorch():
    assert _run(disttorch) == _run(torch)
