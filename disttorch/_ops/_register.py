"""The one way an op is defined and made public.

- ``elementwise(...)``: an Op class from one line (forward on arrays, backward on Tensors), for the many
  elementwise ops whose backward is a formula.
- ``method(name, fn)`` / ``methods({...})``: make functions Tensor methods.
- ``inplace(fn, raw)``: the in-place method of ``fn`` (``x.exp_()``, ``x.add_(y)``), with autograd.

An op with more state than a formula (reductions, indexing, linear algebra) subclasses ``Op`` directly:
``forward(self, *arrays)`` on raw arrays with ``xp = array_module(x)``, ``backward(self, grad)`` with Tensor
ops. See docs/autograd.md.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._shapes import broadcast_shape
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends import MetaArray, array_module, writable
from disttorch.backends.float8 import is_float8, to_float8
from disttorch.backends.registry import off_device_guard

__all__ = ["elementwise", "method", "methods", "inplace", "inplace_view", "ufunc_writer", "type_word", "write_result",
           "write_out"]


# -- Op classes from a formula ------------------------------------------------------------------------
class Elementwise(Op):
    """Base of table-defined ops: ``rule_forward(xp, *arrays, **attrs)`` and ``rule_backward(grad, x, out)``
    where ``x`` is the saved first input (or None) and ``out`` the saved output (or None)."""

    broadcasts = True

    def forward(self, *arrays: Any) -> Any:
        return self.rule_forward(array_module(arrays[0]), *arrays)

    def backward(self, grad: Tensor) -> Any:
        x = self.saved_inputs[0] if self.save_inputs else None
        out = self.saved_output if self.save_output else None
        return self.rule_backward(grad, x, out)


def elementwise(cls_name: str, forward: Callable[..., Any], backward: Callable[[Tensor, Any, Any], Any],
                save: str = "x", node_name: str | None = None) -> type[Op]:
    """An Op class named ``cls_name`` from one rule.

    ``forward(xp, x)`` computes on arrays; ``backward(grad, x, out)`` returns the input's gradient with
    Tensor ops (so that double backward works). ``save`` says what backward reads: ``"x"`` (the input),
    ``"out"`` (the output), ``"x,out"`` (both) or ``""`` (nothing). The node prints as ``<cls_name>Backward0``
    unless ``node_name`` says otherwise (PyTorch's spelling, e.g. ``Log1PBackward0``).
    """
    parts = {p.strip() for p in save.split(",") if p.strip()}
    if not parts <= {"x", "out"}:
        raise ValueError(f"save must name 'x' and/or 'out', got {save!r}")
    body: dict[str, Any] = {
        "rule_forward": staticmethod(forward), "rule_backward": staticmethod(backward),
        "save_inputs": "x" in parts, "save_output": "out" in parts, "__module__": _caller_module(),
    }
    if node_name is not None:
        body["name"] = lambda self: node_name
    return type(cls_name, (Elementwise,), body)


def _caller_module() -> str:
    import sys

    return sys._getframe(2).f_globals.get("__name__", __name__)


# -- Tensor methods ---------------------------------------------------------------------------------------
def method(name: str, fn: Any) -> Any:
    """Make ``fn`` the Tensor method (or property, or operator) ``name``; returns ``fn``."""
    setattr(Tensor, name, fn)
    return fn


def methods(table: dict[str, Any]) -> None:
    """``method(name, fn)`` for every entry."""
    for name, fn in table.items():
        setattr(Tensor, name, fn)


# -- in-place forms ---------------------------------------------------------------------------------------
def inplace(fn: Callable[..., Tensor], raw: Callable[..., Any] | None = None, name: str | None = None,
            cast: bool = False, tracked: bool = True, on_expanded: str = "refuse") -> Callable[..., Tensor]:
    """The in-place method of ``fn(self, *args, **kwargs)``.

    When autograd is involved, ``fn`` runs out of place and the tensor takes the result and its history
    (``Tensor._apply_inplace``). Otherwise ``raw(array, *operands)``, where given, writes into the storage
    directly: for a unary op (no operands) when the tensor is floating point, for a binary op when the
    operand is a number or a tensor of the same array type. Else ``fn``'s result is copied in. A result
    whose dtype category is wider than the tensor's is refused, as PyTorch refuses it (``cast=True``: written
    in the tensor's dtype whatever it is, as ``copy_`` and ``fill_`` do), and a refused or failed operation
    leaves the tensor as it was. ``tracked=False`` is for ops autograd does not know (``logical_and_``...): as in
    PyTorch, the values change and the tensor keeps its history. ``on_expanded``: what a tensor whose elements
    share memory (an expanded one) gets: ``"refuse"`` PyTorch's overlap error, ``"allow"`` the write (``fill_``,
    ``zero_``: every aliased element takes one value), ``"deprecated"`` the write after PyTorch's warning
    (``masked_fill_``, ``index_fill_``).
    """
    op_name = name or (getattr(fn, "__name__", "op") + "_")
    host = np.ndarray  # a closure cell: the cheapest lookup on the hot path

    def inplace_method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if type(self._data) is not host:
            guard = off_device_guard(self._data)
            if guard is not None:  # a tensor off the current device: write it on its own device
                with guard:
                    return inplace_method(self, *args, **kwargs)
        if on_expanded == "refuse" or self._needs_graph_for_inplace(*args, *kwargs.values()):
            check_no_overlap(self)
        elif overlaps(self._data):
            if on_expanded == "deprecated":
                warn_expanded(op_name)
            self._data = writable(self._data)
        if self._needs_graph_for_inplace(*args, *kwargs.values()):
            if tracked:
                return self._apply_inplace(lambda s: fn(s, *args, **kwargs), *args, *kwargs.values())
            with grad_mode.no_grad():  # (PyTorch allows this even on a leaf that requires grad)
                write_result(self, fn(self.detach(), *args, **kwargs), cast)
            self._vc[0] += 1
            return self
        if raw is not None and not kwargs and _raw_applies(self, args, cast):
            try:
                if args:
                    other = args[0]
                    raw(self._data, other._data if isinstance(other, Tensor) else other)
                else:
                    raw(self._data)
            except ValueError:  # the operand broadcasts to a bigger shape than this tensor's
                raise RuntimeError(_shape_message(self, _broadcast_shape(self, args[0]))) from None
        else:
            write_result(self, fn(self, *args, **kwargs), cast)
        self._vc[0] += 1
        return self

    inplace_method.__name__ = inplace_method.__qualname__ = op_name
    return inplace_method


def inplace_view(view: Callable[..., Tensor], name: str | None = None) -> Callable[..., Tensor]:
    """The in-place form of a view op (``x.unsqueeze_(0)``, ``x.t_()``): the tensor itself becomes the view,
    on the same storage, and takes the view's history."""

    def inplace_view_method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        self._check_inplace()
        new = view(self, *args, **kwargs)
        self._data = new._data
        if new._grad_fn is not None:
            self._grad_fn, self._output_nr = new._grad_fn, new._output_nr
        self._vc[0] += 1
        return self

    inplace_view_method.__name__ = inplace_view_method.__qualname__ = name or (getattr(view, "__name__", "op") + "_")
    return inplace_view_method


_HOST = np.ndarray
_SCALAR_CATEGORY = {bool: D.BOOL, int: D.INT, float: D.FLOAT, complex: D.COMPLEX}


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


def overlaps(arr: Any) -> bool:
    """Whether several elements of ``arr`` share one memory location (stride 0 along a dimension above 1)."""
    strides = arr.strides
    if 0 in strides and isinstance(arr, MetaArray):
        return False  # a meta array's zero strides stand for a layout it does not keep, not for an expansion
    return 0 in strides and any(stride == 0 and size > 1 for stride, size in zip(strides, arr.shape))


def check_no_overlap(target: Tensor) -> None:
    """Refuse, as PyTorch does, to write into a tensor of which several elements share one memory location
    (an expanded tensor)."""
    if overlaps(target._data):
        raise RuntimeError(_OVERLAP)


def warn_expanded(op_name: str) -> None:
    warnings.warn(f"Use of {op_name} on expanded tensors is deprecated. Please clone() the tensor before "
                  f"performing this operation. This also applies to advanced indexing e.g. tensor[mask] = scalar",
                  UserWarning, stacklevel=3)


def _raw_applies(self: Tensor, args: tuple, cast: bool = False) -> bool:
    if not args:
        return cast or self._data.dtype.kind == "f"
    if len(args) != 1:
        return False
    other = args[0]
    if isinstance(other, Tensor):
        kind = type(other._data)
        if kind is not type(self._data):
            return False
        if kind is not _HOST and off_device_guard(other._data) is not None:
            return False  # another device index: the full op raises PyTorch's error
        if other._data.dtype is self._data.dtype:  # the common case: nothing to promote
            return True
    elif type(other) in _SCALAR_CATEGORY:
        # a Python number widens the result only when it brings a higher category than the tensor's
        if cast or _SCALAR_CATEGORY[type(other)] <= D.from_np[self._data.dtype].category:
            return True
    else:
        return False
    if cast:
        return True
    rt = D.result_type(self, other)
    if rt.category > self.dtype.category:
        raise RuntimeError(f"result type {type_word(rt)} can't be cast to the desired output type "
                           f"{type_word(self.dtype)}")
    return True


def write_result(self: Tensor, result: Tensor, cast: bool = False) -> None:
    """Copy an out-of-place result into ``self``'s storage (dtype category, unless ``cast``, and shape checked
    first)."""
    if not cast and result.dtype.category > self.dtype.category:
        raise RuntimeError(f"result type {type_word(result.dtype)} can't be cast to the desired output type "
                           f"{type_word(self.dtype)}")
    if result._data.shape != self._data.shape:
        raise RuntimeError(_shape_message(self, result._data.shape))
    if is_float8(self._data.dtype):
        self._data[...] = to_float8(result._data, self._data.dtype)  # PyTorch's float8 rounding
    else:
        self._data[...] = result._data


def write_out(result: Tensor, out: Tensor | None) -> Tensor:
    """Honour ``out=`` like PyTorch: resize ``out`` if needed, keep its dtype if the result casts to it."""
    if out is None:
        return result
    check_no_overlap(out)
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(f"result type {type_word(result.dtype)} can't be cast to the desired output type "
                           f"{type_word(out.dtype)}")
    if out._data.shape != result._data.shape:
        out._data = array_module(out._data).empty(result._data.shape, out._data.dtype)
    out._data[...] = result._data
    out._vc[0] += 1
    return out


def _broadcast_shape(self: Tensor, other: Any) -> tuple:
    return broadcast_shape(self._data.shape, getattr(other, "shape", ()))


def _shape_message(self: Tensor, shape: tuple) -> str:
    return f"output with shape {list(self._data.shape)} doesn't match the broadcast shape {list(shape)}"


def ufunc_writer(name: str) -> Callable[..., Any]:
    """``raw`` for ``inplace``: the array module's ufunc ``name`` writing into its first operand."""

    by_array_type: dict[type, Any] = {}  # the ufunc of each array library, looked up once

    def write(arr: Any, *operands: Any) -> Any:
        ufunc = by_array_type.get(type(arr))
        if ufunc is None:
            ufunc = by_array_type[type(arr)] = getattr(array_module(arr), name)
        return ufunc(arr, *operands, out=arr, casting="unsafe")

    write.__name__ = name
    return write


_TYPE_WORDS = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
               "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def type_word(dt: D.dtype) -> str:
    """PyTorch's scalar type name in messages: Float, Long, ComplexDouble..."""
    return _TYPE_WORDS.get(dt.name) or D._SCALAR_NAMES.get(dt, dt.name)
