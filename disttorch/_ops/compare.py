"""Comparisons, logical and bitwise ops, float classification, and selection between two tensors
(maximum, minimum, where, masked_fill), plus remainder / fmod, atan2, hypot and copysign.

Comparisons, logical ops and classification return bool tensors outside the graph; maximum,
minimum, fmax, fmin, where, masked_fill and the arithmetic ones are differentiable.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._shapes import broadcast_shape
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module
from disttorch.backends.float8 import is_float8
from disttorch.backends.registry import off_device_guard

from ._register import inplace, methods, type_word, ufunc_writer, write_out
from ._util import as_tensor_like, cast, check_same_device, constant_like, promote_operands, to_device_of

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "isreal", "isclose", "allclose", "equal", "maximum", "minimum", "fmax", "fmin", "where",
    "masked_fill", "remainder", "fmod", "atan2", "arctan2", "hypot", "copysign",
]

_from_array = Tensor._from_array
_SCALARS = (bool, int, float, complex)


def _arrays(a: Any, b: Any) -> tuple[Any, Any]:
    """Raw arrays of both operands in their PyTorch result dtype (no graph: results carry no gradient)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        ad, bd = a._data, b._data
        if ad.dtype == bd.dtype and type(ad) is type(bd):
            if type(ad) is not np.ndarray:
                check_same_device(a, b)
            return ad, bd
        check_same_device(a, b)
    like = a if isinstance(a, Tensor) else b
    if like is a and isinstance(b, Tensor) and a._data.ndim == 0 and b._data.ndim > 0:
        like = b  # a 0-dim tensor joins the other operand's device (PyTorch's cpu scalars)
    if not isinstance(like, Tensor):
        raise TypeError(f"expected a Tensor, got {type(a).__name__} and {type(b).__name__}")
    dt = D.result_type(a, b)
    return _array_of(a, like, dt), _array_of(b, like, dt)


def _array_of(v: Any, like: Tensor, dt: D.dtype) -> Any:
    if isinstance(v, Tensor):
        arr = to_device_of(v, like)._data
        return arr if arr.dtype == dt.np else arr.astype(dt.np)
    return constant_like(v, like._data, dt.np)


def _check_type(v: Any) -> bool:
    return isinstance(v, (Tensor, *_SCALARS)) or isinstance(v, np.generic)


# -- comparisons, logical and bitwise ops: one ufunc on the promoted arrays, no graph ----------------------
_ALL, _REAL, _INTEGRAL = "biufcV", "biufV", "biu"


def _array_binary(name: str, ufunc: str, kinds: str = _ALL, kernel: str | None = None,
                  float8: bool = False) -> Callable[..., Tensor]:
    """``name(input, other, *, out=None)``: the array module's ``ufunc`` on both operands in their result dtype,
    for result dtypes of the kinds ``kinds`` (else PyTorch's error naming ``kernel``); float8 operands only
    where ``float8`` (PyTorch's CPU kernels compare them for equality only)."""

    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        a, b = _arrays(input, other)
        if a.dtype.kind not in kinds or (not float8 and is_float8(a.dtype)):
            raise NotImplementedError(f"\"{kernel or name}_cpu\" not implemented for '{type_word(D.from_np[a.dtype])}'")
        guard = None if type(a) is np.ndarray else off_device_guard(a)
        if guard is None:
            return write_out(_from_array(getattr(array_module(a), ufunc)(a, b)), out)
        with guard:  # on the operands' device, which is not the current one
            return write_out(_from_array(getattr(array_module(a), ufunc)(a, b)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


eq = _array_binary("eq", "equal", float8=True)
ne = not_equal = _array_binary("ne", "not_equal", float8=True)
lt = less = _array_binary("lt", "less", _REAL)
le = less_equal = _array_binary("le", "less_equal", _REAL)
gt = greater = _array_binary("gt", "greater", _REAL)
ge = greater_equal = _array_binary("ge", "greater_equal", _REAL)
logical_and = _array_binary("logical_and", "logical_and")
logical_or = _array_binary("logical_or", "logical_or")
logical_xor = _array_binary("logical_xor", "logical_xor")
bitwise_and = _array_binary("bitwise_and", "bitwise_and", _INTEGRAL)
bitwise_or = _array_binary("bitwise_or", "bitwise_or", _INTEGRAL)
bitwise_xor = _array_binary("bitwise_xor", "bitwise_xor", _INTEGRAL)
bitwise_left_shift = _array_binary("bitwise_left_shift", "left_shift", _INTEGRAL, kernel="lshift")
bitwise_right_shift = _array_binary("bitwise_right_shift", "right_shift", _INTEGRAL, kernel="rshift")


def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    if is_float8(input._data.dtype):
        raise NotImplementedError(f"\"logical_not_cpu\" not implemented for '{type_word(input.dtype)}'")
    return write_out(_from_array(input._xp.logical_not(input._data)), out)


def bitwise_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    x = input._data
    if x.dtype.kind not in _INTEGRAL:
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{type_word(input.dtype)}'")
    return write_out(_from_array(input._xp.invert(x)), out)


def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind not in _INTEGRAL:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


def _fast_compare(slow: Callable[..., Tensor], ufunc: Any) -> Callable[..., Any]:
    """An operator method: same-dtype numpy tensors and real scalars of the tensor's category go straight
    to ``ufunc``; other operands go through ``slow`` (anything not a tensor or number: NotImplemented)."""

    def method(self: Tensor, other: Any) -> Any:
        a = self._data
        if type(other) is Tensor:
            b = other._data
            if a.dtype is b.dtype and type(a) is np.ndarray and type(b) is np.ndarray and a.dtype.kind != "c" and (
                    a.itemsize != 1 or a.dtype.kind not in "fV"):  # float8: the full function decides
                return _from_array(ufunc(a, b))
        elif type(other) is float and a.dtype.kind == "f" and a.itemsize != 1 and type(a) is np.ndarray:
            return _from_array(ufunc(a, other))
        elif type(other) is int and a.dtype.kind in "iuf" and type(a) is np.ndarray:
            if (a.dtype.kind == "f" and a.itemsize != 1) or a.dtype.itemsize == 8:
                return _from_array(ufunc(a, other))
        if not _check_type(other):
            return NotImplemented
        return slow(self, other)

    return method


# -- classification ----------------------------------------------------------------------------------
# the float8 types PyTorch's CPU isinf / isfinite take (the others raise)
_F8_INF_KERNELS = {"isinf": ("float8_e5m2",), "isfinite": ("float8_e5m2", "float8_e8m0fnu")}


def _classify(name: str, test: Callable[[Any, Any], Any]) -> Callable[[Tensor], Tensor]:
    def fn(input: Tensor) -> Tensor:
        x = input._data
        xp = input._xp
        if x.dtype.kind in "biu":
            return _from_array(xp.full(x.shape, name == "isfinite", dtype=bool))
        if name in ("isinf", "isfinite") and is_float8(x.dtype) and x.dtype.name not in _F8_INF_KERNELS[name]:
            raise NotImplementedError(f"\"{name}\" not implemented for '{type_word(input.dtype)}'")
        return _from_array(test(xp, x))

    fn.__name__ = fn.__qualname__ = name
    return fn


isnan = _classify("isnan", lambda xp, x: xp.isnan(x))
isinf = _classify("isinf", lambda xp, x: xp.isinf(x))
isfinite = _classify("isfinite", lambda xp, x: xp.isfinite(x))
isposinf = _classify("isposinf", lambda xp, x: x == np.inf)
isneginf = _classify("isneginf", lambda xp, x: x == -np.inf)


def isreal(input: Tensor) -> Tensor:
    x = input._data
    if x.dtype.kind != "c":
        return _from_array(input._xp.ones(x.shape, dtype=bool))
    return _from_array(x.imag == 0)


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    if not isinstance(other, Tensor):
        raise TypeError(f"isclose(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{type_word(input.dtype)} did not match {type_word(other.dtype)}")
    a, b = _arrays(input, other)
    xp = array_module(a)
    close = a == b
    if equal_nan and a.dtype.kind in "fc":
        close = close | (xp.isnan(a) & xp.isnan(b))
    if a.dtype.kind != "b":
        if a.dtype.kind in "iu":
            a, b = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(invalid="ignore"):
            diff = xp.abs(a - b)
            close = close | (xp.isfinite(diff) & (diff <= atol + rtol * xp.abs(b)))
    return _from_array(close)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all().item())  # item(): meta tensors raise


def equal(input: Tensor, other: Tensor) -> bool:
    if not input._backend.has_data:
        raise NotImplementedError(f"aten::equal: attempted to run this operator with {input.device.type.capitalize()} "
                                  "tensors, but there was no fake impl or Meta kernel registered.")
    if input._data.shape != other._data.shape:
        return False
    a, b = _arrays(input, other)
    return bool((a == b).all())


# -- maximum / minimum ----------------------------------------------------------------------------------
class Maximum(Op):
    """Ties split the gradient in half; a nan sends the full gradient to both inputs (as in PyTorch)."""

    broadcasts = True
    save_inputs = True
    saved_names = {"other": 1, "self": 0}

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).maximum(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        shared = where(a == b, grad / 2, grad)
        ga, gb = self.next_edges
        return (shared.masked_fill(a < b, 0) if ga else None), (shared.masked_fill(a > b, 0) if gb else None)


class Minimum(Op):
    broadcasts = True
    save_inputs = True
    saved_names = {"other": 1, "self": 0}

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).minimum(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        shared = where(a == b, grad / 2, grad)
        ga, gb = self.next_edges
        return (shared.masked_fill(a > b, 0) if ga else None), (shared.masked_fill(a < b, 0) if gb else None)


class Fmax(Op):
    """Like maximum but a nan loses; ties and nans in ``b`` send the gradient to ``a``."""

    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).fmax(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        to_a = (a >= b) | b.isnan()
        return where(to_a, grad, 0), where(to_a, 0, grad)


class Fmin(Op):
    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).fmin(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        to_a = (a <= b) | b.isnan()
        return where(to_a, grad, 0), where(to_a, 0, grad)


def _select_op(op: type[Op], name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        if dt.category == D.COMPLEX:
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return write_out(op.apply(x, y), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


maximum = _select_op(Maximum, "maximum")
minimum = _select_op(Minimum, "minimum")
fmax = _select_op(Fmax, "fmax")
fmin = _select_op(Fmin, "fmin")


# -- where / masked_fill --------------------------------------------------------------------------------
class Where(Op):
    broadcasts = True
    def forward(self, cond: Any, x: Any, y: Any) -> Any:
        self.cond = cond
        return array_module(x).where(cond, x, y)

    def backward(self, grad: Tensor) -> tuple:
        cond = _from_array(self.cond)
        _, gx, gy = self.next_edges
        return None, (where(cond, grad, 0) if gx else None), (where(cond, 0, grad) if gy else None)


def where(condition: Tensor, input: Any = None, other: Any = None, *, out: Tensor | None = None) -> Any:
    if input is None and other is None:
        return tuple(_from_array(i.astype(np.int64, copy=False)) for i in condition._xp.nonzero(condition._data))
    if condition._data.dtype.kind != "b":
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{type_word(condition.dtype)}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = D.result_type(input, other)
        input = as_tensor_like(input, condition, dt)
    x, y, _ = promote_operands(input, other)
    return write_out(Where.apply(to_device_of(condition, x), x, y), out)


class MaskedFill(Op):
    def forward(self, x: Any, mask: Any, value: Any = None) -> Any:
        self.mask = mask
        xp = array_module(x)
        fill = self.value if value is None else value.astype(x.dtype)
        return xp.where(mask, xp.asarray(fill, dtype=x.dtype), x)

    def backward(self, grad: Tensor) -> tuple:
        mask = _from_array(self.mask)
        gx, _, gv = self.next_edges
        return ((grad.masked_fill(mask, 0) if gx else None), None,
                (where(mask, grad, 0).sum() if gv else None))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_c_name(mask.dtype)}")
    broadcast_shape(mask._data.shape, input._data.shape)  # PyTorch's message when they do not broadcast
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        if input._data.dtype.kind != "c" and value._data.dtype.kind == "c":
            raise RuntimeError(f"value cannot be converted to type {_c_name(input.dtype)} without overflow")
        return MaskedFill.apply(input, to_device_of(mask, input), to_device_of(value, input), value=None)
    if isinstance(value, complex) and input._data.dtype.kind != "c":
        raise RuntimeError(f"value cannot be converted to type {_c_name(input.dtype)} without overflow")
    return MaskedFill.apply(input, to_device_of(mask, input), None, value=value)


def _masked_fill_into(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """masked_fill_: the mask broadcasts to this tensor (named first in the message when it cannot)."""
    if mask._data.dtype.kind == "b":
        broadcast_shape(self._data.shape, mask._data.shape)
    return masked_fill(self, mask, value)


def _c_name(dt: D.dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int", "bool": "bool",
            "float16": "c10::Half"}.get(dt.name, dt.name)


# -- remainder, fmod, atan2, hypot, copysign -------------------------------------------------------------
class Remainder(Op):
    """Python's sign convention: the result takes the sign of the divisor."""

    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).remainder(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        return grad, (-grad * (a / b).floor() if self.next_edges[1] else None)

    def name(self) -> str:  # PyTorch numbers the tensor-tensor and tensor-scalar overloads
        return "RemainderBackward" + ("0" if self.scalar else "1")


class Fmod(Op):
    """C's sign convention: the result takes the sign of the dividend."""

    broadcasts = True
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).fmod(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        return grad, (-grad * (a / b).trunc() if self.next_edges[1] else None)

    def name(self) -> str:  # PyTorch numbers the tensor-tensor and tensor-scalar overloads
        return "FmodBackward" + ("0" if self.scalar else "1")


def _int_division(op: type[Op]) -> Callable[..., Tensor]:
    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        # PyTorch's cpu kernels raise on an integer zero divisor; its cuda kernels do not check (no host sync)
        if dt.category < D.FLOAT and type(y._data) is np.ndarray and bool((y._data == 0).any()):
            raise RuntimeError("ZeroDivisionError")
        if dt.category == D.COMPLEX:
            raise NotImplementedError(f"\"{op.__name__.lower()}_cpu\" not implemented for '{type_word(dt)}'")
        return write_out(op.apply(x, y, scalar=not isinstance(other, Tensor)), out)

    fn.__name__ = fn.__qualname__ = op.__name__.lower()
    return fn


remainder = _int_division(Remainder)
fmod = _int_division(Fmod)


class Atan2(Op):
    broadcasts = True
    save_inputs = True
    saved_names = {"other": 1, "self": 0}

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).arctan2(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        r = grad / (a * a + b * b)
        ga, gb = self.next_edges
        return (r * b if ga else None), (-r * a if gb else None)


class Hypot(Op):
    broadcasts = True
    save_inputs = True
    save_output = True
    saved_names = {"other": 1, "self": 0, "result": -1}

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).hypot(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        r = grad / self.saved_output
        ga, gb = self.next_edges
        return (r * a if ga else None), (r * b if gb else None)


class Copysign(Op):
    broadcasts = True
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).copysign(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, _ = self.saved_inputs
        ga, gb = self.next_edges
        grad_a = (grad * (self.saved_output / a)).masked_fill(a == 0, 0) if ga else None
        return grad_a, (grad * 0 if gb else None)

    def name(self) -> str:  # PyTorch numbers the tensor-tensor and tensor-scalar overloads
        return "CopysignBackward" + ("1" if self.scalar else "0")


def _float_binary(op: type[Op], name: str, ints: bool = True) -> Callable[..., Tensor]:
    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT:
            if not ints:
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_word(dt)}'")
            fdt = D.get_default_dtype()
            x, y = cast(x, fdt), cast(y, fdt)
        return write_out(op.apply(x, y, scalar=not isinstance(other, Tensor)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


atan2 = arctan2 = autocast_op("atan2")(_float_binary(Atan2, "atan2"))
hypot = _float_binary(Hypot, "hypot", ints=False)
copysign = _float_binary(Copysign, "copysign")


# -- methods and in-place forms ---------------------------------------------------------------------------
# an in-place comparison or logical op writes its bool result in the tensor's own dtype (x.lt_(y) on floats)
_eq_, _ne_, _lt_, _le_, _gt_, _ge_ = (inplace(f) for f in (eq, ne, lt, le, gt, ge))
_remainder_, _atan2_ = inplace(remainder), inplace(atan2)

methods({
    "eq": eq, "ne": ne, "not_equal": ne, "lt": lt, "less": lt, "le": le, "less_equal": le, "gt": gt,
    "greater": gt, "ge": ge, "greater_equal": ge,
    "eq_": _eq_, "ne_": _ne_, "not_equal_": _ne_, "lt_": _lt_, "less_": _lt_, "le_": _le_, "less_equal_": _le_,
    "gt_": _gt_, "greater_": _gt_, "ge_": _ge_, "greater_equal_": _ge_,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor, "logical_not": logical_not,
    "logical_and_": inplace(logical_and, tracked=False), "logical_or_": inplace(logical_or, tracked=False),
    "logical_xor_": inplace(logical_xor, tracked=False), "logical_not_": inplace(logical_not, tracked=False),
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "bitwise_and_": inplace(bitwise_and), "bitwise_or_": inplace(bitwise_or), "bitwise_xor_": inplace(bitwise_xor),
    "bitwise_not_": inplace(bitwise_not), "bitwise_left_shift_": inplace(bitwise_left_shift),
    "bitwise_right_shift_": inplace(bitwise_right_shift),
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf, "isneginf": isneginf,
    "isreal": isreal, "isclose": isclose, "allclose": allclose, "equal": equal,
    "maximum": maximum, "minimum": minimum, "fmax": fmax, "fmin": fmin,
    "masked_fill": masked_fill,
    "masked_fill_": inplace(_masked_fill_into, name="masked_fill_", on_expanded="deprecated"),
    "where": lambda self, condition, other: where(condition, self, other),
    "remainder": remainder, "fmod": fmod, "atan2": atan2, "arctan2": atan2, "hypot": hypot, "copysign": copysign,
    "remainder_": _remainder_, "fmod_": inplace(fmod), "atan2_": _atan2_, "arctan2_": _atan2_,
    "hypot_": inplace(hypot), "copysign_": inplace(copysign),
    # operators
    "__eq__": _fast_compare(eq, np.equal), "__ne__": _fast_compare(ne, np.not_equal),
    "__lt__": _fast_compare(lt, np.less), "__le__": _fast_compare(le, np.less_equal),
    "__gt__": _fast_compare(gt, np.greater), "__ge__": _fast_compare(ge, np.greater_equal),
    "__and__": bitwise_and, "__rand__": bitwise_and, "__or__": bitwise_or, "__ror__": bitwise_or,
    "__xor__": bitwise_xor, "__rxor__": bitwise_xor, "__lshift__": bitwise_left_shift,
    "__rlshift__": lambda self, other: bitwise_left_shift(other, self), "__rshift__": bitwise_right_shift,
    "__rrshift__": lambda self, other: bitwise_right_shift(other, self), "__invert__": _invert,
    # the in-place operators write through the ufunc when the operand allows (the methods always promote)
    "__iand__": inplace(bitwise_and, ufunc_writer("bitwise_and")),
    "__ior__": inplace(bitwise_or, ufunc_writer("bitwise_or")),
    "__ixor__": inplace(bitwise_xor, ufunc_writer("bitwise_xor")),
    "__ilshift__": inplace(bitwise_left_shift, ufunc_writer("left_shift")),
    "__irshift__": inplace(bitwise_right_shift, ufunc_writer("right_shift")),
    "__mod__": remainder, "__rmod__": lambda self, other: remainder(other, self), "__imod__": _remainder_,
})
