"""User-defined autograd functions: ``class F(torch.autograd.Function)`` with static
``forward(ctx, ...)`` and ``backward(ctx, ...)``, called through ``F.apply(...)``."""
from __future__ import annotations

import functools
import traceback
import warnings
from typing import Any

from . import forward_ad, grad_mode
from .graph import (
    FREED_MESSAGE,
    Node,
    Op,
    SavedOutput,
    _raise_modified,
    _raise_modified_output,
    _seq,
    _tensor_from_saved,
    anomaly,
    saved_hooks,
)
from .saved_tensors import _PACKED, unpack_entry

_DIFF_KINDS = frozenset("fcV")


class FunctionCtx:
    """What ``ctx`` offers inside forward and backward."""

    def save_for_backward(self, *tensors: Any) -> None:
        self._to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Tensors ``jvp`` reads back as ``ctx.saved_tensors`` (forward-mode AD)."""
        self._to_save_fwd = tensors

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

    def __repr__(self) -> str:
        return f"<torch.autograd.function.{self.name()} object at {id(self):#x}>"

    @property
    def saved_tensors(self) -> tuple:
        jvp_saved = self.__dict__.get("_jvp_saved")
        if jvp_saved is not None:  # inside jvp: what save_for_forward kept
            return jvp_saved
        saved = self.__dict__.get("_saved")
        if saved is None:
            if "_saved" in self.__dict__:
                raise RuntimeError(FREED_MESSAGE)
            return ()
        out = []
        for t, version in saved:
            if version is _PACKED:  # packed by saved-tensors hooks
                out.append(unpack_entry(t, self))
                continue
            if isinstance(t, SavedOutput):  # an output of this node, kept without a reference cycle
                if t.version[0] != t.expected:
                    _raise_modified_output(t, self)
                out.append(_tensor_from_saved(t, self))
                continue
            if t is not None and t._vc[0] != version:
                _raise_modified(t, version, self)
            out.append(t)
        return tuple(out)

    @property
    def saved_variables(self) -> tuple:
        return self.saved_tensors

    def release(self) -> None:
        if "_saved" in self.__dict__:
            self._saved = None

    def backward(self, *grads: Any) -> Any:
        if forward_ad._cut and forward_ad.is_cut(self):  # its jvp gave the tangents: forward AD stops here
            return (None,) * len(self.next_edges)
        out = self._cls.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        n_in = len(self.needs_input_grad)
        if len(out) > n_in and all(g is None for g in out[n_in:]):
            out = out[:n_in]
        if len(out) != n_in:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected "
                               f"{n_in}, got {len(out)})")
        # one gradient per Tensor argument (the graph's inputs), None where no gradient is needed
        return tuple(out[i] if e is not None else None for i, e in zip(self._tensor_args, self.next_edges))


class Function(FunctionCtx):
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
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it with "
                                  "forward mode AD.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions are all static, "
                      "so you should invoke them on the class itself. Instantiating an autograd function will raise "
                      "an error in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # the pre-1.3 style ``F()(x)`` with an instance-method forward: PyTorch removed it, with this message
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from disttorch._tensor import Tensor

        node = BackwardCFunction.__new__(BackwardCFunction)
        node._cls = cls
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = grad_mode._enabled[0] and any(node.needs_input_grad)
        if record:  # the inputs' edges, taken before a dirty input takes this node as its history
            node._tensor_args = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
            node.next_edges = tuple(args[i]._edge() for i in node._tensor_args)
        with grad_mode.no_grad():
            if "setup_context" in _own_attrs(cls):
                output = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, output)
            else:
                output = cls.forward(node, *args, **kwargs)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        dirty = {id(t) for t in getattr(node, "_dirty", ())}
        non_diff = {id(t) for t in getattr(node, "_non_diff", ())}
        input_ids = {id(a) for a in args if isinstance(a, Tensor)}
        results = []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                results.append(o)
                continue
            if id(o) in dirty:
                if record and o._grad_fn is None and o._requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                                       "operation.")
                o._vc[0] += 1
                wrapped = o
            elif id(o) in input_ids:
                wrapped = _alias(o)  # an input returned as is becomes a new output of this node
            else:
                wrapped = o
            if record and id(o) not in non_diff and o._data.dtype.kind in _DIFF_KINDS:
                wrapped._grad_fn, wrapped._output_nr, wrapped._requires_grad = node, i, True
            results.append(wrapped)
        d = node.__dict__  # drop the ctx's references to outputs: they would make node <-> output cycles
        d.pop("_dirty", None)
        d.pop("_non_diff", None)
        to_save = d.pop("_to_save", None)
        if record:
            node.seq = next(_seq)
            node.pre_hooks = node.post_hooks = None
            node.trace = traceback.format_stack()[:-2] if anomaly[0] else None
            node._out_meta = tuple((r._data.shape, r._data.dtype) if isinstance(r, Tensor) else ((), None)
                                   for r in results)
            if to_save is not None:
                node._saved = [_save(t, node, outputs, results) for t in to_save]
                if saved_hooks:
                    from .saved_tensors import pack_function_saved

                    pack_function_saved(node, results)
        if forward_ad._levels and forward_ad._levels[-1]:  # a dual level with tangents is open
            forward_ad.run_jvp(cls, node, args, results)
        d.pop("_to_save_fwd", None)
        return tuple(results) if is_tuple else results[0]


def _alias(t: Any) -> Any:
    """A new tensor on ``t``'s storage and version counter (a view of all of it)."""
    from disttorch._tensor import Tensor

    out = Tensor._from_array(t._data)
    out._vc = t._vc
    out._base = t if t._base is None else t._base
    return out


def _save(t: Any, node: Any, outputs: tuple, results: list) -> tuple:
    """Saved entry for ``t``: an output of ``node`` is kept as data (no node <-> tensor cycle)."""
    if t is None:
        return (None, 0)
    for i, (o, r) in enumerate(zip(outputs, results)):
        if (t is o or t is r) and r._grad_fn is node:
            return (SavedOutput(r, i), 0)
    return (t, t._vc[0])


def _own_attrs(cls: type) -> set:
    names: set = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(vars(klass))
    return names


def once_differentiable(fn: Any) -> Any:
    """Decorator for a Function's backward that is not itself differentiable: it runs without
    recording, and differentiating its results (create_graph=True) raises."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        from disttorch._tensor import Tensor

        with grad_mode.no_grad():
            outputs = fn(ctx, *args)
        if not grad_mode._enabled[0] or not any(isinstance(a, Tensor) and a._requires_grad for a in args):
            return outputs
        is_tuple = isinstance(outputs, tuple)
        wrapped = tuple(_DelayedError.apply(o.detach().requires_grad_()) if isinstance(o, Tensor) else o
                        for o in (outputs if is_tuple else (outputs,)))
        return wrapped if is_tuple else wrapped[0]

    return wrapper


class _DelayedError(Op):
    """Stands for a backward that cannot be differentiated; raises only if reached."""

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, grad: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")

    def name(self) -> str:
        return "DelayedError"


class InplaceFunction(Function):
    pass


from .nested_io import NestedIOFunction  # noqa: E402 (it subclasses Function)

__all__ = ["Function", "FunctionCtx", "InplaceFunction", "NestedIOFunction", "once_differentiable"]
