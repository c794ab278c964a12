"""Pointwise ops with extra operands or settings: nan_to_num, lerp, addcmul, addcdiv, xlogy, heaviside,
with their in-place forms."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import inplace, methods, type_word, write_out
from .._util import cast, promote_operands
from ._common import cj, copy_of, floating

__all__ = ["nan_to_num", "lerp", "addcmul", "addcdiv", "xlogy", "heaviside", "nan_to_num_", "xlogy_"]

_from_array = Tensor._from_array


class NanToNum(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        return array_module(x).nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, grad: Tensor) -> Tensor:
        return grad * self.saved_inputs[0].isfinite()


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None, *,
               out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind in "biu":
        return write_out(copy_of(input), out)
    return write_out(NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf), out)


class Lerp(Op):
    """start + weight * (end - start), computed from the nearer end as PyTorch does."""

    broadcasts = True
    save_inputs = True
    saved_needs = ((2,), (2,), (0, 1))

    def forward(self, start: Any, end: Any, weight: Any = None) -> Any:
        xp = array_module(start)
        w = self.weight if weight is None else weight
        d = end - start
        return xp.where(xp.abs(w) < 0.5, start + w * d, end - d * (1 - w))

    def backward(self, grad: Tensor) -> tuple:
        start, end, w_t = self.saved_inputs
        w = self.weight if w_t is None else w_t
        gs, ge, gw = self.next_edges
        return (grad * cj(1 - w) if gs else None, grad * cj(w) if ge else None,
                grad * cj(end - start) if gw and w_t is not None else None)

    def name(self) -> str:
        return "LerpBackward0" if self.weight is not None else "LerpBackward1"

    def saved_spec(self) -> dict:  # a number weight: PyTorch saves no tensor
        if self.weight is not None:
            return {"weight": lambda n: n.weight}
        return {"end": 1, "self": 0, "weight": 2}


def lerp(input: Tensor, end: Tensor, weight: Any, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is not end.dtype:
        raise RuntimeError(f"expected dtype {_c_name(input.dtype)} for `end` but got dtype {_c_name(end.dtype)}")
    if input._data.dtype.kind not in "fcV":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for '{type_word(input.dtype)}'")
    if isinstance(weight, Tensor):
        return write_out(Lerp.apply(input, end, cast(weight, input.dtype), weight=None), out)
    return write_out(Lerp.apply(input, end, None, weight=weight), out)


def _c_name(dt: D.dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int"}.get(dt.name, dt.name)


class Addcmul(Op):
    broadcasts = True
    save_inputs = True

    saved_needs = ((), (2,), (1,))
    saved_names = {"tensor1": 1, "tensor2": 2, "value": lambda n: n.value}

    def forward(self, x: Any, t1: Any, t2: Any) -> Any:
        return x + self.value * (t1 * t2)

    def backward(self, grad: Tensor) -> tuple:
        _, t1, t2 = self.saved_inputs
        _, g1, g2 = self.next_edges
        return grad, (grad * cj(t2 * self.value) if g1 else None), (grad * cj(t1 * self.value) if g2 else None)


class Addcdiv(Op):
    broadcasts = True
    save_inputs = True

    saved_needs = ((), (2,), (1, 2))
    saved_names = {"tensor1": 1, "tensor2": 2, "value": lambda n: n.value}

    def forward(self, x: Any, t1: Any, t2: Any) -> Any:
        return x + self.value * (t1 / t2)

    def backward(self, grad: Tensor) -> tuple:
        _, t1, t2 = self.saved_inputs
        _, g1, g2 = self.next_edges
        return (grad, (grad * cj(self.value / t2) if g1 else None),
                (-grad * cj(t1 * self.value / (t2 * t2)) if g2 else None))


def _three(input: Tensor, t1: Tensor, t2: Tensor) -> tuple[Tensor, Tensor, Tensor, D.dtype]:
    dt = D.result_type(input, t1, t2)
    return cast(input, dt), cast(t1, dt), cast(t2, dt), dt


@autocast_op("addcmul")
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Tensor | None = None) -> Tensor:
    x, a, b, dt = _three(input, tensor1, tensor2)
    if dt.category < D.FLOAT:
        value = int(value)
    return write_out(Addcmul.apply(x, a, b, value=value), out)


@autocast_op("addcdiv")
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Tensor | None = None) -> Tensor:
    if tensor1.dtype.category < D.FLOAT and tensor2.dtype.category < D.FLOAT:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    x, a, b, _ = _three(input, tensor1, tensor2)
    return write_out(Addcdiv.apply(x, a, b, value=value), out)


class Xlogy(Op):
    """x * log(y), defined as 0 where x == 0 (unless y is nan)."""

    broadcasts = True
    save_inputs = True

    def forward(self, x: Any, y: Any) -> Any:
        xp = array_module(x)
        return xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y)).astype(x.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        x, y = self.saved_inputs
        gx, gy = self.next_edges
        grad_x = (grad * y.log()).masked_fill((x == 0) & (y <= 0), 0) if gx else None
        return grad_x, (grad * x / y if gy else None)


def xlogy(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        x, y = floating(x), floating(y)
    return write_out(Xlogy.apply(x, y), out)


def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    xp = input._xp
    x, v = input._data, values._data
    if x.dtype.kind == "b":
        return write_out(_from_array(x | (~x & v)), out)
    zero = xp.zeros((), x.dtype)
    return write_out(_from_array(xp.where(x == 0, v, (x > zero).astype(x.dtype))), out)


nan_to_num_ = inplace(nan_to_num)
xlogy_ = inplace(xlogy)

methods({
    "nan_to_num": nan_to_num, "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv, "xlogy": xlogy,
    "heaviside": heaviside, "nan_to_num_": nan_to_num_, "xlogy_": xlogy_, "lerp_": inplace(lerp),
    "addcmul_": inplace(addcmul), "addcdiv_": inplace(addcdiv), "heaviside_": inplace(heaviside),
})
