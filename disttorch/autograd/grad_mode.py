"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode.

The flag is process-wide and read on every op, so it lives in a one-element list (a fast read).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

_enabled = [True]


def is_grad_enabled() -> bool:
    return _enabled[0]


class _GradModeContext:
    """Context manager that is also a decorator (with or without parentheses)."""

    _mode: bool = True

    def __init__(self, func: Callable | None = None) -> None:
        self._prev: list[bool] = []
        self._func = func
        if func is not None:
            functools.update_wrapper(self, func)

    def __enter__(self) -> None:
        self._prev.append(_enabled[0])
        _enabled[0] = self._mode

    def __exit__(self, *exc: Any) -> None:
        _enabled[0] = self._prev.pop()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._func is None:  # used as @no_grad()
            (func,) = args
            return type(self)(func)
        with type(self)():
            return self._func(*args, **kwargs)

    def clone(self) -> _GradModeContext:
        return type(self)()


class no_grad(_GradModeContext):
    """Disable gradient recording: ops inside produce tensors with requires_grad=False."""

    _mode = False


class enable_grad(_GradModeContext):
    _mode = True


class inference_mode(_GradModeContext):
    """Like no_grad (disttorch does not track inference tensors separately)."""

    def __init__(self, mode: bool | Callable = True) -> None:
        if callable(mode):
            super().__init__(mode)
            self._mode = False
            return
        super().__init__()
        self._mode = not mode

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._func is None:
            (func,) = args
            wrapper = inference_mode(not self._mode)
            wrapper._func = func
            functools.update_wrapper(wrapper, func)
            return wrapper
        with inference_mode(not self._mode):
            return self._func(*args, **kwargs)


class set_grad_enabled:
    """set_grad_enabled(mode): takes effect at once, and as a context manager restores on exit."""

    def __init__(self, mode: bool) -> None:
        self._prev = _enabled[0]
        _enabled[0] = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _enabled[0] = self._prev

    def __call__(self, func: Callable) -> Callable:
        mode = _enabled[0]
        _enabled[0] = self._prev

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    return False
