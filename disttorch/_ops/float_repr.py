"""The binary representation of floats: frexp (mantissa and exponent), ldexp (x * 2**e), nextafter."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from ._register import inplace, methods, type_word, ufunc_writer, write_out
from ._util import promote_operands
from .arith import pow

__all__ = ["frexp", "ldexp", "nextafter"]


class Frexp(Op):
    """x = mantissa * 2**exponent with |mantissa| in [0.5, 1); only the mantissa carries gradient."""

    nondiff_outputs = (1,)

    def forward(self, x: Any) -> tuple:
        mantissa, exponent = array_module(x).frexp(x)
        self.exponent = exponent
        return mantissa, exponent.astype(np.int32)

    def backward(self, grad: Tensor, _: Any = None) -> Tensor:
        return grad / Tensor._from_array(self.exponent.astype(grad._data.dtype)).exp2()


def frexp(input: Tensor, *, out: Any = None) -> Any:
    if input.dtype.category != D.FLOAT:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = Frexp.apply(input)
    if out is not None:
        mantissa, exponent = write_out(mantissa, out[0]), write_out(exponent, out[1])
    return return_types.frexp((mantissa, exponent))


def ldexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input * 2**other, in floating point whatever the dtypes."""
    return write_out(input * pow(2.0, other), out)


class Nextafter(Op):
    """The next float after ``a`` towards ``b``: as PyTorch, gradient 1 for ``a`` (0 where ``a == b``) and 0
    for ``b``."""

    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).nextafter(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        return grad.masked_fill(a == b, 0), (grad * 0 if self.next_edges[1] else None)


def nextafter(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, other)
    if dt.category != D.FLOAT:
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{type_word(dt)}'")
    return write_out(Nextafter.apply(x, y), out)


methods({
    "frexp": frexp, "ldexp": ldexp, "ldexp_": inplace(ldexp), "nextafter": nextafter,
    "nextafter_": inplace(nextafter, ufunc_writer("nextafter")),
})
