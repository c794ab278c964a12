"""Arithmetic: + - * / ** and negation, their reflected and in-place forms.

The operators have a fast path: same dtype and device, and no graph needed, go straight to the
array library. Everything else goes through PyTorch's type promotion and the Op machinery.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op

from ._util import as_tensor_like, attach, promote_operands

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "neg",
           "negative", "pow", "rsub", "float_power"]

_from_array = Tensor._from_array
_enabled = grad_mode._enabled
_ndarray = np.ndarray


class Add(Op):
    def forward(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, grad: Tensor) -> tuple:
        return grad, grad


class Sub(Op):
    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, grad: Tensor) -> tuple:
        return grad, -grad


class Mul(Op):
    save_inputs = True
    saved_needs = ((1,), (0,))

    def forward(self, a: Any, b: Any) -> Any:
        return a * b

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        ga, gb = self.next_edges
        return (grad * _conj(b) if ga else None), (grad * _conj(a) if gb else None)


def _conj(t: Tensor) -> Tensor:
    return t.conj() if t._data.dtype.kind == "c" else t


class Div(Op):
    save_inputs = True
    saved_needs = ((1,), (0, 1))

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


class Pow(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return a ** b

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        ga, gb = self.next_edges
        grad_a = grad_b = None
        if ga:
            # d/da a**b = b * a**(b-1); where b == 0 the gradient is 0 (also at a == 0)
            grad_a = (grad * b * a ** (b - 1)).masked_fill(b == 0, 0)
        if gb:
            out = self.saved_output
            # d/db a**b = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0
            grad_b = (grad * out * a.log()).masked_fill((a == 0) & (b >= 0), 0)
        return grad_a, grad_b


# -- functional forms ---------------------------------------------------------------------------------
def _binary(op: type[Op], a: Any, b: Any, np_op: Any = None) -> Tensor:
    x, y, _ = promote_operands(a, b)
    return op.apply(x, y)


def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return _out(_binary(Add, input, other), out)


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
    return _out(_binary(Sub, input, other), out)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return sub(other, input, alpha=alpha)


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return _out(_binary(Mul, input, other), out)


def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    if rounding_mode is None:
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT:  # integer true division gives the default float dtype
            fdt = D.get_default_dtype()
            x, y = x.to(fdt), y.to(fdt)
        return _out(Div.apply(x, y), out)
    if rounding_mode == "floor":
        return _out(floor_divide(input, other), out)
    if rounding_mode == "trunc":
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT:
            _check_int_divisor(y)
            return _out(_from_array(_trunc_int_div(x._data, y._data)), out)
        return _out(div(x, y).trunc(), out)
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
        return _out(_from_array(x._data // y._data), out)
    return _out(div(x, y).floor(), out)


def true_divide(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    return div(input, other, out=out)


def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input.dtype is D.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _out(Neg.apply(input), out)


def pow(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    x, y, dt = promote_operands(input, exponent)
    if dt.category == D.INT and bool((y._data < 0).any()):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _out(Pow.apply(x, y), out)


def float_power(input: Any, exponent: Any) -> Tensor:
    dt = D.complex128 if any(isinstance(v, Tensor) and v.is_complex() for v in (input, exponent)) else D.float64
    x = input.to(dt) if isinstance(input, Tensor) else input
    y = exponent.to(dt) if isinstance(exponent, Tensor) else exponent
    return pow(x if isinstance(x, Tensor) else as_tensor_like(x, y, dt), y)


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    """Write into ``out=`` like PyTorch: resize if needed, keep out's dtype if the result casts to it."""
    if out is None:
        return result
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(f"result type {_type_word(result.dtype)} can't be cast to the desired output type "
                           f"{_type_word(out.dtype)}")
    if out._data.shape != result._data.shape:
        out._data = out._xp.empty(result._data.shape, out._data.dtype)
    out._data[...] = result._data
    out._version[0] += 1
    return out


subtract, multiply, divide, negative = sub, mul, div, neg


# -- operators with fast paths ---------------------------------------------------------------------
def _fast_binary(op: type[Op], slow: Any, fast_kinds: str = "biufcV", commutative: bool = False) -> tuple[Any, Any]:
    """Forward and reflected operator methods for a binary op; the fast path only takes dtype kinds in
    ``fast_kinds`` (integer ``/`` and bool ``-`` need the full function). A Python float or int with a
    floating tensor keeps the tensor's dtype (PyTorch's promotion), so it goes straight to the array too."""
    fwd = op.forward

    def method(self: Tensor, other: Any) -> Tensor:
        a = self._data
        if type(other) is Tensor:
            b = other._data
            if a.dtype is b.dtype and type(a) is type(b) and a.dtype.kind in fast_kinds:
                if _enabled[0] and (self._requires_grad or other._requires_grad):
                    return op.apply(self, other)
                return _from_array(fwd(None, a, b))
        elif (type(other) is float or type(other) is int) and a.dtype.kind == "f":
            if _enabled[0] and self._requires_grad:
                return op.apply(self, _scalar_like(other, a))
            return _from_array(fwd(None, a, other))
        return slow(self, other)

    def rmethod(self: Tensor, other: Any) -> Tensor:
        if commutative:
            return method(self, other)
        a = self._data
        if (type(other) is float or type(other) is int) and a.dtype.kind == "f":
            if _enabled[0] and self._requires_grad:
                return op.apply(_scalar_like(other, a), self)
            return _from_array(fwd(None, other, a))
        return slow(other, self)

    return method, rmethod


def _scalar_like(value: Any, arr: Any) -> Tensor:
    """A Python number as a 0-dim constant of ``arr``'s dtype and array type."""
    xp = np if type(arr) is _ndarray else Tensor._from_array(arr)._xp
    return _from_array(xp.asarray(value, dtype=arr.dtype))


Tensor.__add__, Tensor.__radd__ = _fast_binary(Add, add, commutative=True)
Tensor.__sub__, Tensor.__rsub__ = _fast_binary(Sub, sub, "iufcV")
Tensor.__mul__, Tensor.__rmul__ = _fast_binary(Mul, mul, commutative=True)
Tensor.__truediv__, _ = _fast_binary(Div, div, "fcV")
Tensor.__rtruediv__ = lambda self, other: div(1, self) * other  # PyTorch: reciprocal, then multiply
Tensor.__floordiv__ = lambda self, other: floor_divide(self, other)
Tensor.__rfloordiv__ = lambda self, other: floor_divide(other, self)
Tensor.__pow__ = lambda self, other: pow(self, other)
Tensor.__rpow__ = lambda self, other: pow(other, self)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self

for _name, _fn in (("add", add), ("sub", sub), ("subtract", sub), ("mul", mul), ("multiply", mul), ("div", div),
                   ("divide", div), ("true_divide", true_divide), ("floor_divide", floor_divide), ("neg", neg),
                   ("negative", neg), ("pow", pow), ("float_power", float_power)):
    attach(_name, _fn)


# -- in-place forms -------------------------------------------------------------------------------------
def _type_word(dt: D.dtype) -> str:
    return {D.float32: "Float", D.float64: "Double", D.float16: "Half", D.bfloat16: "BFloat16", D.int64: "Long",
            D.int32: "Int", D.int16: "Short", D.int8: "Char", D.uint8: "Byte", D.bool_: "Bool",
            D.complex64: "ComplexFloat", D.complex128: "ComplexDouble"}.get(dt, dt.name)


def inplace(fn: Any, ufunc: Any = None) -> Any:
    """The in-place method of a binary function ``fn(self, other, **kw)``.

    Without a graph the ufunc writes straight into this tensor's storage; with one, the op runs
    out of place and the tensor takes the result and its history (``Tensor._apply_inplace``).
    """

    def method(self: Tensor, other: Any = None, **kwargs: Any) -> Tensor:
        if self._needs_graph_for_inplace(other):
            return self._apply_inplace(lambda s: fn(s, other, **kwargs), other)
        rt = D.result_type(self, other) if other is not None else self.dtype
        if rt.category > self.dtype.category:
            raise RuntimeError(f"result type {_type_word(rt)} can't be cast to the desired output type "
                               f"{_type_word(self.dtype)}")
        if ufunc is not None and not kwargs:
            od = other._data if isinstance(other, Tensor) else other
            try:
                ufunc(self._data, od, out=self._data, casting="unsafe")
            except ValueError:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(np.broadcast_shapes(self.shape, np.shape(od)))}") from None
        else:
            result = fn(self, other, **kwargs) if other is not None else fn(self, **kwargs)
            if result._data.shape != self._data.shape:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(result.shape)}")
            self._data[...] = result._data
        self._version[0] += 1
        return self

    return method


def _add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _iadd(self, other if alpha == 1 else mul(other, alpha))


def _sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _isub(self, other if alpha == 1 else mul(other, alpha))


def _neg_(self: Tensor) -> Tensor:
    if self._needs_graph_for_inplace():
        return self._apply_inplace(neg)
    np.negative(self._data, out=self._data) if type(self._data) is _ndarray else \
        self._data.__imul__(-1)
    self._version[0] += 1
    return self


_iadd = inplace(add, np.add)
_isub = inplace(sub, np.subtract)
_imul = inplace(mul, np.multiply)
_idiv = inplace(div)
_ipow = inplace(pow)
Tensor.add_ = _add_
Tensor.sub_ = _sub_
Tensor.subtract_ = _sub_
Tensor.mul_ = _imul
Tensor.multiply_ = _imul
Tensor.div_ = _idiv
Tensor.divide_ = _idiv
Tensor.true_divide_ = _idiv
Tensor.floor_divide_ = inplace(floor_divide)
Tensor.pow_ = _ipow
Tensor.neg_ = _neg_
Tensor.negative_ = _neg_
Tensor.__iadd__ = _iadd
Tensor.__isub__ = _isub
Tensor.__imul__ = _imul
Tensor.__itruediv__ = _idiv
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__ipow__ = _ipow
