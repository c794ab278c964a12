"""torch.overrides.TorchFunctionMode: a mode sees every torch function, Tensor method, operator and property call
of its thread (plain tensors too), as in PyTorch.

While a mode is entered (in any thread), Tensor's methods, operators and properties are swapped for stand-ins that
consult this thread's mode stack; the last exit puts Tensor's own back, so that without a mode nothing is swapped
and the plain Tensor pays nothing.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from disttorch._tensor import Tensor
from disttorch._torch_function import (
    _BINARY_OPERATORS,
    _NOWRAP,
    _OPERATOR_FUNCS,
    _active,
    _lock,
    _modes_on,
    _state,
    _swapped,
    _tensor_attributes,
    activate,
    handle,
)


class TorchFunctionMode:
    """``torch.overrides.TorchFunctionMode``: inside ``with mode:``, every torch function, Tensor method and
    property call of this thread goes to ``mode.__torch_function__(func, types, args, kwargs)`` (the mode is off
    while its own ``__torch_function__`` runs, so ``func(*args, **kwargs)`` there runs the call)."""

    def __torch_function__(self, func: Any, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        raise NotImplementedError

    def __enter__(self) -> TorchFunctionMode:
        push_mode(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        pop_mode()


def push_mode(mode: Any) -> None:
    stack = getattr(_state, "modes", None)
    if stack is None:
        stack = _state.modes = []
    stack.append(mode)
    with _lock:
        _modes_on[0] += 1
        if _modes_on[0] == 1:
            activate()
            _swap_in()


def pop_mode() -> Any:
    mode = _state.modes.pop()
    with _lock:
        _modes_on[0] -= 1
        if _modes_on[0] == 0:
            _swap_out()
    return mode


def current_mode() -> Any:
    stack = getattr(_state, "modes", None)
    return stack[-1] if stack else None


def mode_stack_depth() -> int:
    return len(getattr(_state, "modes", None) or ())


def _mode_method(name: str, original: Callable, operator: bool) -> Callable:
    mapped = _OPERATOR_FUNCS.get(name, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "off", 0) or (not getattr(_state, "modes", None) and not _active(type(self))):
            return original(self, *args, **kwargs)
        return handle(getattr(Tensor, mapped), (self, *args, *kwargs.values()), (self, *args), kwargs)

    def binary_operator(self: Any, other: Any) -> Any:
        try:
            return method(self, other)
        except TypeError:
            return NotImplemented

    wrapper = binary_operator if operator else method
    functools.update_wrapper(wrapper, original)
    wrapper.__name__ = name
    wrapper.__torch_name__ = f"torch.Tensor.{mapped}"
    return wrapper


def _mode_property(name: str, prop: property) -> property:
    getter = prop.fget
    stand_in: list = []

    def get(self: Any) -> Any:
        if getattr(_state, "off", 0) or (not getattr(_state, "modes", None) and not _active(type(self))):
            return getter(self)
        return handle(stand_in[0].__get__, (self,), (self,), {})

    stand_in.append(property(get, prop.fset, prop.fdel, prop.__doc__))
    if prop in _NOWRAP:
        _NOWRAP.add(stand_in[0])
    return stand_in[0]


def _swap_in() -> None:
    for name, value in _tensor_attributes().items():
        if isinstance(value, property):
            stand_in = _mode_property(name, value)
        else:
            stand_in = _mode_method(name, value, name in _BINARY_OPERATORS)
        _swapped[name] = (name in Tensor.__dict__, value)
        setattr(Tensor, name, stand_in)


def _swap_out() -> None:
    for name, (own, original) in list(_swapped.items()):
        if own:
            setattr(Tensor, name, original)
        else:
            delattr(Tensor, name)
    _swapped.clear()
