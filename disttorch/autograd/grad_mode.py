"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode.

The flag is process-wide and read on every op, so it lives in a one-element list (a fast read).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

_enabled = [True]
_inference = [False]


def is_grad_enabled() -> bool:
    return _enabled[0]


def is_inference_mode_enabled() -> bool:
    return _inference[0]


def _wrap(make_ctx: Callable[[], Any], func: Callable) -> Callable:
    """``func`` running under a fresh context from ``make_ctx`` (generators: around each step)."""
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            with make_ctx():
                gen = func(*args, **kwargs)
                request = None
            while True:
                try:
                    with make_ctx():
                        response = gen.send(request)
                except StopIteration as stop:
                    return stop.value
                try:
                    request = yield response
                except GeneratorExit:
                    with make_ctx():
                        gen.close()
                    raise
                except BaseException as exc:
                    with make_ctx():
                        response = gen.throw(exc)
                    request = yield response

        return gen_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with make_ctx():
            return func(*args, **kwargs)

    return wrapper


class _GradModeContext:
    """Context manager that is also a decorator (``@no_grad``, ``@no_grad()``)."""

    _mode: bool = True

    def __new__(cls, func: Callable | None = None) -> Any:
        if func is not None:  # used as @no_grad without parentheses
            return _wrap(cls, func)
        return super().__new__(cls)

    def __init__(self, func: Callable | None = None) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_enabled[0])
        _enabled[0] = self._mode

    def __exit__(self, *exc: Any) -> None:
        _enabled[0] = self._prev.pop()

    def __call__(self, func: Callable) -> Callable:
        return _wrap(self.clone, func)

    def clone(self) -> _GradModeContext:
        return type(self)()


class no_grad(_GradModeContext):
    """Disable gradient recording: ops inside produce tensors with requires_grad=False."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enable gradient recording (e.g. inside no_grad)."""

    _mode = True


class inference_mode:
    """``inference_mode(True)`` disables gradient recording like no_grad; ``inference_mode(False)``
    enables it. Tensors made inside are ordinary tensors here (no separate inference tensors)."""

    def __new__(cls, mode: Any = True) -> Any:
        if not isinstance(mode, bool):  # used as @inference_mode without parentheses
            return _wrap(cls, mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self._prev: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._prev.append((_enabled[0], _inference[0]))
        _enabled[0] = not self.mode
        _inference[0] = self.mode

    def __exit__(self, *exc: Any) -> None:
        _enabled[0], _inference[0] = self._prev.pop()

    def __call__(self, func: Callable) -> Callable:
        return _wrap(self.clone, func)

    def clone(self) -> inference_mode:
        return inference_mode(self.mode)


class set_grad_enabled:
    """set_grad_enabled(mode): takes effect at once; as a context manager it restores on exit, as a
    decorator it applies ``mode`` around each call of the function."""

    def __init__(self, mode: bool) -> None:
        self._prev = _enabled[0]
        self.mode = bool(mode)
        _enabled[0] = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _enabled[0] = self._prev

    def __call__(self, func: Callable) -> Callable:
        _enabled[0] = self._prev  # decorating must not change the mode
        mode = self.mode
        return _wrap(lambda: set_grad_enabled(mode), func)

    def clone(self) -> set_grad_enabled:
        prev = _enabled[0]
        new = set_grad_enabled(self.mode)
        _enabled[0] = prev
        new._prev = prev
        return new
