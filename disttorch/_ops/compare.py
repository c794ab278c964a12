"""Comparisons, logical and bitwise ops, float classification, and selection between two tensors
(maximum, minimum, where, masked_fill), plus remainder / fmod, atan2, hypot and copysign.

Comparisons, logical ops and classification return bool tensors outside the graph; maximum,
minimum, fmax, fmin, where, masked_fill and the arithmetic ones are differentiable.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op

from ._register import inplace, ufunc_writer
from ._util import as_tensor_like, attach, cast, check_same_device, promote_operands, self_xp, to_device_of
from .arith import _out, _type_word

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf", "isfinite", "isposinf",
    "isneginf", "isreal", "isclose", "allclose", "equal", "maximum", "minimum", "fmax", "fmin", "where",
    "masked_fill", "remainder", "fmod", "atan2", "arctan2", "hypot", "copysign",
]

_from_array = Tensor._from_array
_enabled = grad_mode._enabled
_SCALARS = (bool, int, float, complex)


def _arrays(a: Any, b: Any) -> tuple[Any, Any]:
    """Raw arrays of both operands in their PyTorch result dtype (no graph: results carry no gradient)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        ad, bd = a._data, b._data
        if ad.dtype == bd.dtype and type(ad) is type(bd):
            return ad, bd
        check_same_device(a, b)
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError(f"expected a Tensor, got {type(a).__name__} and {type(b).__name__}")
    dt = D.result_type(a, b)
    return _array_of(a, like, dt), _array_of(b, like, dt)


def _array_of(v: Any, like: Tensor, dt: D.dtype) -> Any:
    if isinstance(v, Tensor):
        arr = to_device_of(v, like)._data
        return arr if arr.dtype == dt.np else arr.astype(dt.np)
    return like._xp.asarray(v, dtype=dt.np)


def _check_type(v: Any) -> bool:
    return isinstance(v, (Tensor, *_SCALARS)) or isinstance(v, np.generic)


# -- comparisons ---------------------------------------------------------------------------------------
def _comparison(name: str, ufunc_name: str, ordered: bool) -> Callable[..., Tensor]:
    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        a, b = _arrays(input, other)
        if ordered and a.dtype.kind == "c":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_type_word(D.from_np[a.dtype])}'")
        return _out(_from_array(getattr(self_xp(a), ufunc_name)(a, b)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


eq = _comparison("eq", "equal", False)
ne = not_equal = _comparison("ne", "not_equal", False)
lt = less = _comparison("lt", "less", True)
le = less_equal = _comparison("le", "less_equal", True)
gt = greater = _comparison("gt", "greater", True)
ge = greater_equal = _comparison("ge", "greater_equal", True)


def _fast_compare(slow: Callable[..., Tensor], ufunc: Any, reflected: Callable[..., Tensor]) -> tuple:
    """Operator methods: same-dtype tensors and real scalars of the tensor's category go straight to numpy."""

    def method(self: Tensor, other: Any) -> Any:
        a = self._data
        if type(other) is Tensor:
            b = other._data
            if a.dtype is b.dtype and type(a) is np.ndarray and type(b) is np.ndarray and a.dtype.kind != "c":
                return _from_array(ufunc(a, b))
        elif type(other) is float and a.dtype.kind == "f" and type(a) is np.ndarray:
            return _from_array(ufunc(a, other))
        elif type(other) is int and a.dtype.kind in "iuf" and type(a) is np.ndarray:
            if a.dtype.kind == "f" or a.dtype.itemsize == 8:
                return _from_array(ufunc(a, other))
        if not _check_type(other):
            return NotImplemented
        return slow(self, other)

    def rmethod(self: Tensor, other: Any) -> Any:
        if not _check_type(other):
            return NotImplemented
        return reflected(self, other)

    return method, rmethod


Tensor.__eq__, _ = _fast_compare(eq, np.equal, eq)  # type: ignore[assignment]
Tensor.__ne__, _ = _fast_compare(ne, np.not_equal, ne)  # type: ignore[assignment]
Tensor.__lt__, _ = _fast_compare(lt, np.less, gt)
Tensor.__le__, _ = _fast_compare(le, np.less_equal, ge)
Tensor.__gt__, _ = _fast_compare(gt, np.greater, lt)
Tensor.__ge__, _ = _fast_compare(ge, np.greater_equal, le)


def _compare_inplace(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """x.lt_(y): the bool result written into x's dtype."""

    def method(self: Tensor, other: Any) -> Tensor:
        result = fn(self, other)
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        self._check_inplace()
        self._data[...] = result._data
        self._version[0] += 1
        return self

    return method


# -- logical and bitwise ------------------------------------------------------------------------------
def logical_and(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    a, b = _arrays(input, other)
    return _out(_from_array(self_xp(a).logical_and(a, b)), out)


def logical_or(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    a, b = _arrays(input, other)
    return _out(_from_array(self_xp(a).logical_or(a, b)), out)


def logical_xor(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    a, b = _arrays(input, other)
    return _out(_from_array(self_xp(a).logical_xor(a, b)), out)


def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    return _out(_from_array(input._xp.logical_not(input._data)), out)


def _bitwise(name: str, ufunc_name: str) -> Callable[..., Tensor]:
    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        a, b = _arrays(input, other)
        if a.dtype.kind not in "biu":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_type_word(D.from_np[a.dtype])}'")
        return _out(_from_array(getattr(self_xp(a), ufunc_name)(a, b)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")
bitwise_left_shift = _bitwise("lshift", "left_shift")
bitwise_right_shift = _bitwise("rshift", "right_shift")


def bitwise_not(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    x = input._data
    if x.dtype.kind not in "biu":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{_type_word(input.dtype)}'")
    return _out(_from_array(input._xp.invert(x)), out)


def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)


# -- classification ----------------------------------------------------------------------------------
def _classify(name: str, test: Callable[[Any, Any], Any]) -> Callable[[Tensor], Tensor]:
    def fn(input: Tensor) -> Tensor:
        x = input._data
        xp = input._xp
        if x.dtype.kind in "biu":
            return _from_array(xp.full(x.shape, name == "isfinite", dtype=bool))
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
        raise RuntimeError(f"{_type_word(input.dtype)} did not match {_type_word(other.dtype)}")
    a, b = _arrays(input, other)
    xp = self_xp(a)
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
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    if input._data.shape != other._data.shape:
        return False
    a, b = _arrays(input, other)
    return bool((a == b).all())


# -- maximum / minimum ----------------------------------------------------------------------------------
class Maximum(Op):
    """Ties split the gradient in half; a nan sends the full gradient to both inputs (as in PyTorch)."""

    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).maximum(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        shared = where(a == b, grad / 2, grad)
        ga, gb = self.next_edges
        return (shared.masked_fill(a < b, 0) if ga else None), (shared.masked_fill(a > b, 0) if gb else None)


class Minimum(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).minimum(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        shared = where(a == b, grad / 2, grad)
        ga, gb = self.next_edges
        return (shared.masked_fill(a > b, 0) if ga else None), (shared.masked_fill(a < b, 0) if gb else None)


class Fmax(Op):
    """Like maximum but a nan loses; ties and nans in ``b`` send the gradient to ``a``."""

    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).fmax(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        to_a = (a >= b) | b.isnan()
        return where(to_a, grad, 0), where(to_a, 0, grad)


class Fmin(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).fmin(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        to_a = (a <= b) | b.isnan()
        return where(to_a, grad, 0), where(to_a, 0, grad)


def _select_op(op: type[Op], name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        if dt.category == D.COMPLEX:
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return _out(op.apply(x, y), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


maximum = _select_op(Maximum, "maximum")
minimum = _select_op(Minimum, "minimum")
fmax = _select_op(Fmax, "fmax")
fmin = _select_op(Fmin, "fmin")


# -- where / masked_fill --------------------------------------------------------------------------------
class Where(Op):
    def forward(self, cond: Any, x: Any, y: Any) -> Any:
        self.cond = cond
        return self_xp(x).where(cond, x, y)

    def backward(self, grad: Tensor) -> tuple:
        cond = _from_array(self.cond)
        _, gx, gy = self.next_edges
        return None, (where(cond, grad, 0) if gx else None), (where(cond, 0, grad) if gy else None)


def where(condition: Tensor, input: Any = None, other: Any = None, *, out: Tensor | None = None) -> Any:
    if input is None and other is None:
        return tuple(_from_array(i.astype(np.int64, copy=False)) for i in condition._xp.nonzero(condition._data))
    if condition._data.dtype.kind != "b":
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_type_word(condition.dtype)}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = D.result_type(input, other)
        input = as_tensor_like(input, condition, dt)
    x, y, _ = promote_operands(input, other)
    return _out(Where.apply(to_device_of(condition, x), x, y), out)


class MaskedFill(Op):
    def forward(self, x: Any, mask: Any, value: Any = None) -> Any:
        self.mask = mask
        xp = self_xp(x)
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


def _c_name(dt: D.dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int", "bool": "bool",
            "float16": "c10::Half"}.get(dt.name, dt.name)


def _masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    if mask._data.shape != self._data.shape and np.broadcast_shapes(mask._data.shape, self._data.shape) != \
            self._data.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(mask._data.shape, self._data.shape))}")
    if self._needs_graph_for_inplace(value):
        return self._apply_inplace(lambda s: masked_fill(s, mask, value), value)
    result = masked_fill(self, mask, value)  # checks the arguments
    self._data[...] = result._data
    self._version[0] += 1
    return self


# -- remainder, fmod, atan2, hypot, copysign -------------------------------------------------------------
class Remainder(Op):
    """Python's sign convention: the result takes the sign of the divisor."""

    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).remainder(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        return grad, (-grad * (a / b).floor() if self.next_edges[1] else None)

    def name(self) -> str:  # PyTorch numbers the tensor-tensor and tensor-scalar overloads
        return "RemainderBackward" + ("0" if self.scalar else "1")


class Fmod(Op):
    """C's sign convention: the result takes the sign of the dividend."""

    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).fmod(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        return grad, (-grad * (a / b).trunc() if self.next_edges[1] else None)

    def name(self) -> str:  # PyTorch numbers the tensor-tensor and tensor-scalar overloads
        return "FmodBackward" + ("0" if self.scalar else "1")


def _int_division(op: type[Op]) -> Callable[..., Tensor]:
    def fn(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
        x, y, dt = promote_operands(input, other)
        if dt.category < D.FLOAT and bool((y._data == 0).any()):
            raise RuntimeError("ZeroDivisionError")
        if dt.category == D.COMPLEX:
            raise NotImplementedError(f"\"{op.__name__.lower()}_cpu\" not implemented for '{_type_word(dt)}'")
        return _out(op.apply(x, y, scalar=not isinstance(other, Tensor)), out)

    fn.__name__ = fn.__qualname__ = op.__name__.lower()
    return fn


remainder = _int_division(Remainder)
fmod = _int_division(Fmod)


class Atan2(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).arctan2(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        r = grad / (a * a + b * b)
        ga, gb = self.next_edges
        return (r * b if ga else None), (-r * a if gb else None)


class Hypot(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).hypot(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        r = grad / self.saved_output
        ga, gb = self.next_edges
        return (r * a if ga else None), (r * b if gb else None)


class Copysign(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).copysign(a, b)

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
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_type_word(dt)}'")
            fdt = D.get_default_dtype()
            x, y = cast(x, fdt), cast(y, fdt)
        return _out(op.apply(x, y, scalar=not isinstance(other, Tensor)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


atan2 = arctan2 = _float_binary(Atan2, "atan2")
hypot = _float_binary(Hypot, "hypot", ints=False)
copysign = _float_binary(Copysign, "copysign")


# -- methods ------------------------------------------------------------------------------------------
for _name, _fn in (("eq", eq), ("ne", ne), ("not_equal", ne), ("lt", lt), ("less", lt), ("le", le),
                   ("less_equal", le), ("gt", gt), ("greater", gt), ("ge", ge), ("greater_equal", ge)):
    attach(_name, _fn)
    attach(_name + "_", _compare_inplace(_fn))

for _name, _fn in (("logical_and", logical_and), ("logical_or", logical_or), ("logical_xor", logical_xor)):
    attach(_name, _fn)
    attach(_name + "_", _compare_inplace(_fn))
Tensor.logical_not = logical_not
Tensor.logical_not_ = lambda self: _compare_inplace(lambda s, _: logical_not(s))(self, None)

for _name, _fn in (("bitwise_and", bitwise_and), ("bitwise_or", bitwise_or), ("bitwise_xor", bitwise_xor),
                   ("bitwise_left_shift", bitwise_left_shift), ("bitwise_right_shift", bitwise_right_shift)):
    attach(_name, _fn)
    attach(_name + "_", inplace(_fn))
Tensor.bitwise_not = bitwise_not
Tensor.bitwise_not_ = lambda self: _compare_inplace(lambda s, _: bitwise_not(s))(self, None)

Tensor.__and__ = Tensor.__rand__ = lambda self, other: bitwise_and(self, other)
Tensor.__or__ = Tensor.__ror__ = lambda self, other: bitwise_or(self, other)
Tensor.__xor__ = Tensor.__rxor__ = lambda self, other: bitwise_xor(self, other)
Tensor.__lshift__ = lambda self, other: bitwise_left_shift(self, other)
Tensor.__rlshift__ = lambda self, other: bitwise_left_shift(other, self)
Tensor.__rshift__ = lambda self, other: bitwise_right_shift(self, other)
Tensor.__rrshift__ = lambda self, other: bitwise_right_shift(other, self)
Tensor.__iand__ = inplace(bitwise_and, ufunc_writer("bitwise_and"))
Tensor.__ior__ = inplace(bitwise_or, ufunc_writer("bitwise_or"))
Tensor.__ixor__ = inplace(bitwise_xor, ufunc_writer("bitwise_xor"))
Tensor.__ilshift__ = inplace(bitwise_left_shift, ufunc_writer("left_shift"))
Tensor.__irshift__ = inplace(bitwise_right_shift, ufunc_writer("right_shift"))
Tensor.__invert__ = _invert

for _name, _fn in (("isnan", isnan), ("isinf", isinf), ("isfinite", isfinite), ("isposinf", isposinf),
                   ("isneginf", isneginf), ("isreal", isreal), ("isclose", isclose), ("allclose", allclose),
                   ("equal", equal), ("maximum", maximum), ("minimum", minimum), ("fmax", fmax), ("fmin", fmin),
                   ("masked_fill", masked_fill), ("remainder", remainder), ("fmod", fmod), ("atan2", atan2),
                   ("arctan2", atan2), ("hypot", hypot), ("copysign", copysign)):
    attach(_name, _fn)

for _name, _fn in (("remainder", remainder), ("fmod", fmod), ("atan2", atan2), ("arctan2", atan2),
                   ("hypot", hypot), ("copysign", copysign)):
    attach(_name + "_", inplace(_fn))
Tensor.masked_fill_ = _masked_fill_
Tensor.where = lambda self, condition, other: where(condition, self, other)
Tensor.__mod__ = lambda self, other: remainder(self, other)
Tensor.__rmod__ = lambda self, other: remainder(other, self)
Tensor.__imod__ = Tensor.remainder_
