"""User-defined autograd functions: ``class F(torch.autograd.Function)`` with static
``forward(ctx, ...)`` and ``backward(ctx, ...)``, called through ``F.apply(...)``."""
from __future__ import annotations

from typing import Any

from . import grad_mode
from .graph import FREED_MESSAGE, Node, _raise_modified, _seq


class FunctionCtx:
    """What ``ctx`` offers inside forward and backward."""

    def save_for_backward(self, *tensors: Any) -> None:
        self._to_save = tensors

    def mark_dirty(self, *tensors: Any) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class BackwardCFunction(Node, FunctionCtx):
    """The graph node of one call of a user Function; it is also that call's ``ctx``."""

    def name(self) -> str:
        return self._cls.__name__ + "Backward"

    @property
    def saved_tensors(self) -> tuple:
        saved = self.__dict__.get("_saved")
        if saved is None:
            if "_saved" in self.__dict__:
                raise RuntimeError(FREED_MESSAGE)
            return ()
        for t, version in saved:
            if t is not None and t._version[0] != version:
                _raise_modified(t, version, self)
        return tuple(t for t, _ in saved)

    @property
    def saved_variables(self) -> tuple:
        return self.saved_tensors

    def release(self) -> None:
        if "_saved" in self.__dict__:
            self._saved = None

    def backward(self, *grads: Any) -> Any:
        if not getattr(self, "materialize_grads", True):
            pass
        out = self._cls.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        n_in = len(self.next_edges)
        if len(out) > n_in and all(g is None for g in out[n_in:]):
            out = out[:n_in]
        if len(out) != n_in:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected "
                               f"{n_in}, got {len(out)})")
        return tuple(g if e is not None else None for g, e in zip(out, self.next_edges))


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        super().__init__(name, bases, attrs)


class Function(FunctionCtx, metaclass=_FunctionMeta):
    """Base class for custom differentiable operations (PyTorch's API)."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from disttorch._tensor import Tensor

        node = BackwardCFunction.__new__(BackwardCFunction)
        node._cls = cls
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = grad_mode._enabled[0] and any(node.needs_input_grad)
        uses_setup = "setup_context" in _own_attrs(cls)
        with grad_mode.no_grad():
            if uses_setup:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, output)
            else:
                output = cls.forward(node, *args, **kwargs)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        dirty = {id(t) for t in getattr(node, "_dirty", ())}
        non_diff = {id(t) for t in getattr(node, "_non_diff", ())}
        results = []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            if id(o) in dirty:
                o._version[0] += 1
                wrapped = o
            elif any(o is a for a in tensor_args):
                wrapped = o.view_as(o)  # an input returned as is becomes a new output of this node
            else:
                wrapped = o
            if record and id(o) not in non_diff and wrapped.is_floating_point() or (
                    record and wrapped.is_complex() and id(o) not in non_diff):
                wrapped._grad_fn, wrapped._output_nr, wrapped._requires_grad = node, i, True
            results.append(wrapped)
        if record:
            node.next_edges = tuple(a._edge() if isinstance(a, Tensor) else None for a in args)
            node.seq = next(_seq)
            node.pre_hooks = node.post_hooks = None
            node.trace = None
            node._out_meta = tuple((r._data.shape, r._data.dtype) if isinstance(r, Tensor) else ((), None)
                                   for r in results)
            to_save = getattr(node, "_to_save", None)
            if to_save is not None:
                node._saved = [(t, t._version[0]) if t is not None else (None, 0) for t in to_save]
        return tuple(results) if is_tuple else results[0]


def _own_attrs(cls: type) -> set:
    names: set = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(vars(klass))
    return names


def once_differentiable(fn: Any) -> Any:
    return fn


class InplaceFunction(Function):
    pass


class NestedIOFunction(Function):
    pass
