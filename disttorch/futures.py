"""torch.futures: ``Future`` (a value that arrives later, thread-safe), ``collect_all`` and ``wait_all``."""
from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """A result set once (``set_result`` / ``set_exception``); ``wait()`` blocks for it, ``then(cb)`` chains."""

    def __init__(self, *, devices: list | None = None) -> None:
        self._cond = threading.Condition()
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []

    def done(self) -> bool:
        return self._done

    def wait(self) -> T:
        with self._cond:
            self._cond.wait_for(lambda: self._done)
        return self.value()

    def value(self) -> T:
        if not self._done:
            raise RuntimeError("Future hasn't completed yet")  # PyTorch asserts completion here
        if self._error is not None:
            raise self._error
        return self._value

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._cond:
            if self._done:
                raise RuntimeError("Future can only be marked completed once.")
            self._value, self._error, self._done = value, error, True
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            cb(self)

    def set_result(self, result: T) -> None:
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` once the result is set (at once when it already is)."""
        with self._cond:
            if not self._done:
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new Future completed with ``callback(self)`` (or its exception) once this one completes."""
        nxt: Future = Future()

        def run(fut: Future) -> None:
            try:
                nxt.set_result(callback(fut))
            except Exception as exc:  # the chained future carries the callback's error, worded as PyTorch's
                nxt.set_exception(RuntimeError(f"Got the following error when running the callback: "
                                               f"{type(exc).__name__}: {exc}"))

        self.add_done_callback(run)
        return nxt


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A Future completed with the list of ``futures`` once all of them are complete."""
    out: Future = Future()
    futures = list(futures)
    remaining = [len(futures)]
    lock = threading.Lock()
    if not futures:
        out.set_result([])
        return out

    def one_done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out.set_result(futures)

    for f in futures:
        f.add_done_callback(one_done)
    return out


def wait_all(futures: list[Future]) -> list:
    """The values of ``futures``, waiting for each (the first error is raised)."""
    return [f.wait() for f in collect_all(futures).wait()]
