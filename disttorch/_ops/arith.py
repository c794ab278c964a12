"""Arithmetic: + - * / ** and negation, their reflected and in-place forms.

The operators have a fast path: same dtype and device, and no graph needed, go straight to the
array library. Everything else goes through PyTorch's type promotion and the Op machinery.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from disttorch import _autocast
from disttorch import _dtype as D
from disttorch._shapes import broadcast_shape
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op, plain_backward, record_binary
from disttorch.backends import backend_for_array
from disttorch.backends.registry import off_device_guard

from ._register import inplace, methods, type_word, ufunc_writer, write_out
from ._util import as_tensor_like, promote_operands

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "neg",
           "negative", "pow", "rsub", "float_power"]

_from_array = Tensor._from_array
_ndarray = np.ndarray
_new = object.__new__
_enabled = grad_mode._enabled


class Add(Op):
    broadcasts = True
    def forward(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, grad: Tensor) -> tuple:
        return grad, grad


class Sub(Op):
    broadcasts = True
    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, grad: Tensor) -> tuple:
        if plain_backward(grad) and grad._data.dtype.kind != "b":
            return grad, _from_array(-grad._data)
        return grad, -grad


class RsubScalar(Sub):
    """``number - tensor``: PyTorch records it as rsub of the tensor and the number."""

    def name(self) -> str:
        return "RsubBackward1"


class Mul(Op):
    broadcasts = True
    save_inputs = True
    saved_needs = ((1,), (0,))
    saved_names = {"other": 1, "self": 0}  # (PyTorch's pack order)

    def forward(self, a: Any, b: Any) -> Any:
        return a * b

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        ga, gb = self.next_edges
        g = grad._data
        if g.dtype.kind == "f" and plain_backward(grad):  # real, on numpy, no graph wanted: on the arrays
            return (_from_array(g * b._data) if ga else None), (_from_array(g * a._data) if gb else None)
        return (grad * _conj(b) if ga else None), (grad * _conj(a) if gb else None)


def _conj(t: Tensor) -> Tensor:
    return t.conj() if t._data.dtype.kind == "c" else t


class Div(Op):
    broadcasts = True
    save_inputs = True
    saved_needs = ((1,), (0, 1))
    saved_names = {"other": 1, "self": 0}  # (PyTorch's pack order)

    def forward(self, a: Any, b: Any) -> Any:
        return a / b

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        ga, gb = self.next_edges
        return (grad / b if ga else None), (-grad * a / (b * b) if gb else None)


class Neg(Op):
    def forward(self, a: Any) -> Any:
        return -a

    def backward(self, grad: Tensor) -> Tensor:
        return -grad


# Python-number exponents that PyTorch's kernel computes by multiplication (x*x, x*x*x, 1/x, 1/(x*x)), done the
# same way here: libm's pow is ~40x slower on negative
# float bases, and x ** 3 is the core of the tanh-approximated GELU
_MUL_POWERS = frozenset((2, 3, -1, -2))


def _mul_power(a: Any, n: int) -> Any:
    """``a ** n`` for 1 <= |n| <= 4 by multiplication (arrays or Tensors, so the backward stays differentiable)."""
    r = a
    for _ in range(abs(n) - 1):
        r = r * a
    return 1 / r if n < 0 else r


class Pow(Op):
    broadcasts = True
    save_inputs = True
    save_output = True
    int_exponent = None  # set when the exponent is a Python number in _MUL_POWERS and the base is floating

    def _scalar_exponent(self) -> bool:
        """PyTorch's PowBackward0 (a number exponent) rather than PowBackward1 (a tensor exponent)."""
        if self.int_exponent is not None:
            return True
        return self.__dict__.get("exponent_0d", False) and self.next_edges[1] is None

    def saved_spec(self) -> dict:
        if self._scalar_exponent():
            return {"self": 0, "exponent": lambda n: n._exponent_number()}
        if self.name() == "PowBackward2":  # the base is a number
            return {"exponent": 1, "self": lambda n: n.saved_inputs[0].item(), "result": -1}
        return {"exponent": 1, "self": 0, "result": -1}  # (PyTorch's pack order)

    def _exponent_number(self) -> Any:
        if self.int_exponent is not None:
            return self.int_exponent
        return self.saved_inputs[1].item()

    def name(self) -> str:
        if self._scalar_exponent():
            return "PowBackward0"
        if self.__dict__.get("base_0d") and self.next_edges[0] is None:  # a number to a tensor's power
            return "PowBackward2"
        return "PowBackward1"

    def forward(self, a: Any, b: Any) -> Any:
        if self.int_exponent is not None:
            return _mul_power(a, self.int_exponent)
        self.exponent_0d = not b.ndim  # (a number exponent comes as a 0-d array)
        self.base_0d = not a.ndim
        return a ** b

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        ga, gb = self.next_edges
        grad_a = grad_b = None
        n = self.int_exponent
        if ga and n is not None:
            grad_a = grad * n * (a if n == 2 else _mul_power(a, n - 1) if n - 1 in _MUL_POWERS else a ** (n - 1))
            ga = False
        if ga:
            # d/da a**b = b * a**(b-1); where b == 0 the gradient is 0 (also at a == 0)
            grad_a = (grad * b * a ** (b - 1)).masked_fill(b == 0, 0)
        if gb:
            out = self.saved_output
            # d/db a**b = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0
            grad_b = (grad * out * a.log()).masked_fill((a == 0) & (b >= 0), 0)
        return grad_a, grad_b


# -- functional forms ---------------------------------------------------------------------------------
def _binary(op: type[Op], a: Any, b: Any) -> Tensor:
    x, y, _ = promote_operands(a, b)
    return op.apply(x, y)


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return write_out(_binary(Add, input, other), out)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    a_bool, b_bool = (isinstance(v, bool) or (isinstance(v, Tensor) and v.dtype is D.bool_) for v in (input, other))
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        other = mul(other, alpha)
    return write_out(_binary(Sub, input, other), out)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return sub(other, input, alpha=alpha)


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return write_out(_binary(Mul, input, other), out)


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    if rounding_mode is None:
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT:  # integer true division gives the default float dtype
            fdt = D.get_default_dtype()
            x, y = x.to(fdt), y.to(fdt)
        return write_out(Div.apply(x, y), out)
    if rounding_mode == "floor":
        return write_out(floor_divide(input, other), out)
    if rounding_mode == "trunc":
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT:
            _check_int_divisor(y)
            return write_out(_from_array(_trunc_int_div(x._data, y._data)), out)
        return write_out(div(x, y).trunc(), out)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                     f"'{rounding_mode}'")


def _check_int_divisor(y: Tensor) -> None:
    if bool((y._data == 0).any()):
        raise RuntimeError("ZeroDivisionError")


def _trunc_int_div(a: Any, b: Any) -> Any:
    q = a // b
    return q + ((q < 0) & (q * b != a))


def floor_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, other)
    if dt.category < D.FLOAT:
        _check_int_divisor(y)
        return write_out(_from_array(x._data // y._data), out)
    return write_out(div(x, y).floor(), out)


def true_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return div(input, other, out=out)


def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is D.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return write_out(Neg.apply(input), out)


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    if _autocast.on:
        input, exponent = _autocast.cast_input("pow", input), _autocast.cast_input("pow", exponent)
    x, y, dt = promote_operands(input, exponent)
    if dt.category == D.INT and bool((y._data < 0).any()):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if type(exponent) in (int, float) and exponent in _MUL_POWERS and dt.category == D.FLOAT:
        return write_out(Pow.apply(x, y, int_exponent=int(exponent)), out)
    return write_out(Pow.apply(x, y), out)


def float_power(input: Any, exponent: Any) -> Tensor:
    dt = D.complex128 if any(isinstance(v, Tensor) and v.is_complex() for v in (input, exponent)) else D.float64
    x = input.to(dt) if isinstance(input, Tensor) else input
    y = exponent.to(dt) if isinstance(exponent, Tensor) else exponent
    return pow(x if isinstance(x, Tensor) else as_tensor_like(x, y, dt), y)


subtract, multiply, divide, negative = sub, mul, div, neg


# -- operators with fast paths ---------------------------------------------------------------------
def _fast_binary(op: type[Op], raw: Any, slow: Any, fast_kinds: str = "biufcV", commutative: bool = False,
                 rop: type[Op] | None = None) -> tuple[Any, Any]:
    """Forward and reflected operator methods for a binary op. Same dtype and array type, or a Python
    float or int with a floating tensor (which keeps the tensor's dtype under PyTorch's promotion), go
    straight to ``raw`` on the arrays (or to ``op`` when a graph is needed); the rest goes through ``slow``,
    the full function. The fast path only takes dtype kinds in ``fast_kinds`` (integer ``/`` and bool ``-``
    need the full function). ``rop``: the node of ``number op tensor`` when it is not ``op``'s."""
    rop = rop or op

    host = np.ndarray  # a closure cell: the cheapest lookup on the hot path

    def method(self: Tensor, other: Any) -> Tensor:
        a = self._data
        if type(other) is Tensor:
            b = other._data
            ta = type(a)
            if a.dtype is b.dtype and ta is type(b) and a.dtype.kind in fast_kinds and (
                    a.itemsize != 1 or a.dtype.kind not in "fV"):  # float8: the full function decides
                if ta is not host and _off_device(a, b):
                    return slow(self, other)
                if _enabled[0] and (self._requires_grad or other._requires_grad):
                    if type(a) is not _ndarray:
                        return op.apply(self, other)  # (which runs on the arrays' device)
                    try:
                        out = raw(a, b)  # (the op's forward)
                    except ValueError:
                        broadcast_shape(a.shape, b.shape)
                        raise
                    return record_binary(_new(op), self, other, out)
                try:
                    return _from_array(raw(a, b))
                except ValueError:
                    broadcast_shape(a.shape, b.shape)  # raises PyTorch's error when that is the cause
                    raise
        elif (type(other) is float or type(other) is int) and a.dtype.kind == "f" and a.itemsize != 1:
            if type(a) is not host and _off_device(a):
                return slow(self, other)
            if _enabled[0] and self._requires_grad:
                c = _scalar_like(other, a)
                if type(a) is _ndarray:
                    return record_binary(_new(op), self, c, raw(a, c._data))
                return op.apply(self, c)
            return _from_array(raw(a, other))
        return slow(self, other)

    def rmethod(self: Tensor, other: Any) -> Tensor:
        if commutative:
            return method(self, other)
        a = self._data
        if (type(other) is float or type(other) is int) and a.dtype.kind == "f" and a.itemsize != 1 and (
                type(a) is host or not _off_device(a)):
            if _enabled[0] and self._requires_grad:
                c = _scalar_like(other, a)
                if type(a) is _ndarray:
                    return record_binary(_new(rop), c, self, raw(c._data, a))
                return rop.apply(c, self)
            return _from_array(raw(other, a))
        return slow(other, self)

    return method, rmethod


def _off_device(a: Any, b: Any = None) -> bool:
    """Device arrays: whether ``a`` is off the current device or ``b`` on another device than ``a`` (the full
    path then runs the op on its inputs' device, or raises PyTorch's error for mixed devices)."""
    return off_device_guard(a) is not None or (b is not None and off_device_guard(b) is not None)


def _scalar_like(value: Any, arr: Any) -> Tensor:
    """A Python number as a 0-dim constant of ``arr``'s dtype and array type, on ``arr``'s device."""
    if type(arr) is np.ndarray:
        return _from_array(np.asarray(value, dtype=arr.dtype))
    backend = backend_for_array(arr)
    return _from_array(backend.asarray(value, dtype=arr.dtype, device_index=backend.device_index(arr)))


def _add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _iadd(self, other if alpha == 1 else mul(other, alpha))


def _sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _isub(self, other if alpha == 1 else mul(other, alpha))


def _float_power_(self: Tensor, exponent: Any) -> Tensor:
    wanted = D.complex128 if self.is_complex() or (isinstance(exponent, Tensor) and exponent.is_complex()) \
        else D.float64
    if self.dtype is not wanted:
        raise RuntimeError(f"the base given to float_power_ has dtype {type_word(self.dtype)} but the operation's "
                           f"result requires dtype {type_word(wanted)}")
    return _ifloat_power(self, exponent)


_ifloat_power = inplace(float_power)
_iadd = inplace(add, ufunc_writer("add"))
_isub = inplace(sub, ufunc_writer("subtract"))
_imul = inplace(mul, ufunc_writer("multiply"))
_idiv = inplace(div)
_ipow = inplace(pow)
_ineg = inplace(neg, ufunc_writer("negative"))
_ifloordiv = inplace(floor_divide)
_add, _radd = _fast_binary(Add, operator.add, add, commutative=True)
_sub, _rsub = _fast_binary(Sub, operator.sub, sub, "iufcV", rop=RsubScalar)
_mul, _rmul = _fast_binary(Mul, operator.mul, mul, commutative=True)
_truediv, _ = _fast_binary(Div, operator.truediv, div, "fcV")

methods({
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div, "divide": div,
    "true_divide": true_divide, "floor_divide": floor_divide, "neg": neg, "negative": neg, "pow": pow,
    "float_power": float_power, "float_power_": _float_power_,
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _imul, "multiply_": _imul, "div_": _idiv,
    "divide_": _idiv, "true_divide_": _idiv, "floor_divide_": _ifloordiv, "pow_": _ipow, "neg_": _ineg,
    "negative_": _ineg,
    "__add__": _add, "__radd__": _radd, "__sub__": _sub, "__rsub__": _rsub, "__mul__": _mul, "__rmul__": _rmul,
    "__truediv__": _truediv,
    "__rtruediv__": lambda self, other: div(1, self) * other,  # PyTorch: reciprocal, then multiply
    "__floordiv__": lambda self, other: floor_divide(self, other),
    "__rfloordiv__": lambda self, other: floor_divide(other, self),
    "__pow__": lambda self, other: pow(self, other), "__rpow__": lambda self, other: pow(other, self),
    "__neg__": neg, "__pos__": lambda self: self,
    "__iadd__": _iadd, "__isub__": _isub, "__imul__": _imul, "__itruediv__": _idiv,
    "__ifloordiv__": _ifloordiv, "__ipow__": _ipow,
})

