"""torch.overrides: helpers of the ``__torch_function__`` protocol (see ``disttorch/_torch_function.py``).

Importing this module puts the dispatching functions into the torch namespaces, so that Tensor-like classes
that are not Tensor subclasses (the "ScalarTensor" of PyTorch's docs) take over ``torch.*`` and
``torch.nn.functional.*`` calls; a Tensor subclass with an active ``__torch_function__`` does the same when it
is defined.
"""
from __future__ import annotations

import sys
import types as _types
from typing import Any, Callable

from disttorch import _torch_function as _tf
from disttorch import _torch_function_modes as _modes
from disttorch._tensor import Tensor
from disttorch._torch_function import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    handle_torch_function,
    has_torch_function,
    has_torch_function_unary,
    has_torch_function_variadic,
)
from disttorch._torch_function_modes import TorchFunctionMode

__all__ = ["get_ignored_functions", "get_overridable_functions", "handle_torch_function", "has_torch_function",
           "has_torch_function_unary", "has_torch_function_variadic", "is_tensor_like",
           "is_tensor_method_or_property", "wrap_torch_function", "DisableTorchFunction",
           "DisableTorchFunctionSubclass", "TorchFunctionMode"]

_tf.activate()


def is_tensor_like(inp: Any) -> bool:
    """A Tensor, or an object whose type defines ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func: Callable) -> bool:
    """Whether ``func`` is a Tensor method or a property getter (``Tensor.add``, ``Tensor.T.__get__``)."""
    name = getattr(func, "__name__", None)
    if name == "__get__":
        return isinstance(getattr(func, "__self__", None), property)
    return name is not None and getattr(Tensor, name, None) is func


def wrap_torch_function(dispatcher: Callable) -> Callable:
    """Decorator: ``fn`` takes part in the protocol, with ``dispatcher(*args, **kwargs)`` naming the relevant
    arguments."""

    def decorate(fn: Callable) -> Callable:
        import functools

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return fn(*args, **kwargs)

        return wrapped

    return decorate


def _namespaces() -> dict:
    return {name: sys.modules[name] for name in _tf._NAMESPACES if name in sys.modules}


def get_overridable_functions() -> dict:
    """The functions that take part in the protocol, by namespace (module or ``Tensor``)."""
    out: dict = {}
    for ns in _namespaces().values():
        out[ns] = sorted((v for k, v in vars(ns).items() if getattr(v, "__torch_function_dispatch__", False)),
                         key=lambda f: f.__name__)
    out[Tensor] = [v.__get__ if isinstance(v, property) else v for v in _tf._tensor_attributes().values()]
    return out


def get_ignored_functions() -> set:
    """The public functions of the torch namespaces that ignore ``__torch_function__``."""
    found = set()
    for name, ns in _namespaces().items():
        for fn_name in _tf._IGNORED.get(name, ()):
            fn = getattr(ns, fn_name, None)
            if isinstance(fn, _types.FunctionType):
                found.add(fn)  # (the factories among them: as TorchFunctionModes see them)
    return found


def _get_current_function_mode() -> Any:
    return _modes.current_mode()


def _len_torch_function_stack() -> int:
    return _modes.mode_stack_depth()


def _push_mode(mode: Any) -> None:
    _modes.push_mode(mode)


def _pop_mode() -> Any:
    return _modes.pop_mode()
