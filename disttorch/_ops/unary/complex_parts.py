"""Complex parts: conj, conj_physical, resolve_conj, resolve_neg, is_conj, real, imag, angle.
Conjugation is always physical here, so resolve_conj / resolve_neg are the identity."""
from __future__ import annotations

import math
from typing import Any

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import elementwise, inplace, methods, write_out
from ._common import floating, zeros_like

__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "real", "imag", "angle"]

Conj = elementwise("Conj", lambda xp, x: xp.conj(x), lambda g, x, out: g.conj(), save="")


class Real(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.real

    def backward(self, grad: Tensor) -> Tensor:
        return grad * (1 + 0j)

    def name(self) -> str:
        return "SelectBackward0"


class Imag(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.imag

    def backward(self, grad: Tensor) -> Tensor:
        return grad * 1j

    def name(self) -> str:
        return "SelectBackward0"


class Angle(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        if x.dtype.kind == "c":
            return xp.angle(x)
        return xp.where(xp.isnan(x), x, xp.where(x < 0, math.pi, 0).astype(x.dtype))  # angle(-0.0) = 0

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        if not x.is_complex():
            return zeros_like(grad)
        a2 = x.abs()
        a2 = a2 * a2
        return (grad * x * 1j / a2).masked_fill(a2 == 0, 0)


def conj(input: Tensor) -> Tensor:
    return Conj.apply(input) if input._data.dtype.kind == "c" else input


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(conj(input), out)


def resolve_conj(input: Tensor) -> Tensor:
    return input


resolve_neg = resolve_conj


def is_conj(input: Tensor) -> bool:
    return False


def real(input: Tensor) -> Tensor:
    return Real.apply(input) if input._data.dtype.kind == "c" else input


def imag(input: Tensor) -> Tensor:
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return write_out(Angle.apply(floating(input)), out)


methods({
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": inplace(conj_physical),
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj, "angle": angle,
    "real": property(real), "imag": property(imag),
})
