"""``Work`` (the handle of an asynchronous collective on Tensors) and the small Future it gives."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from disttorch._tensor import Tensor
from disttorch.collectives.base import Work as _RawWork

from .process_group import _seconds


class Work:
    """Handle of an asynchronous collective (``async_op=True``): ``wait()``, ``is_completed()``."""

    __slots__ = ("_raw", "_post", "_source", "_result")

    def __init__(self, raw: _RawWork | None, post: Callable[[], None] | None = None, source: Any = None,
                 result: list | None = None) -> None:
        self._raw, self._post, self._source, self._result = raw, post, source, result

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        if self._raw is not None:
            self._raw.wait(_seconds(timeout))
        self._finish()
        return True

    def is_completed(self) -> bool:
        """Whether the operation is done (drives MPI's progress); the result is in place once True."""
        if self._raw is not None and not self._raw.is_completed():
            return False
        self._finish()
        return True

    def is_success(self) -> bool:
        return self.exception() is None and self.is_completed()

    def exception(self) -> BaseException | None:
        """The error that ended the operation (a timeout, a peer that left the job), or None."""
        get = getattr(self._raw, "exception", None)
        return get() if get is not None else None

    def synchronize(self) -> None:
        self.wait()

    def source_rank(self) -> int:
        """The global rank a ``irecv`` received from (after ``wait``)."""
        self.wait()
        src = self._source
        if callable(src):
            src = src()
        if src is None:
            raise RuntimeError("source_rank() is only defined for a completed recv")
        return int(src)

    def result(self) -> list:
        self.wait()
        return list(self._result or [])

    def get_future(self) -> _Future:
        return _Future(self)

    def _finish(self) -> None:
        if self._post is not None:
            post, self._post = self._post, None
            post()


class _Future:
    """The small part of torch.futures.Future that collective users need: ``wait``, ``value``, ``done``,
    ``then`` (the callback runs when the chained future is waited for)."""

    def __init__(self, work: Work | None, compute: Callable[[], Any] | None = None) -> None:
        self._work, self._compute, self._value, self._has_value = work, compute, None, False

    def wait(self) -> Any:
        if not self._has_value:
            self._value = self._compute() if self._compute is not None else self._work.result()  # type: ignore
            self._has_value = True
        return self._value

    value = wait

    def done(self) -> bool:
        return self._has_value or self._work is None or self._work.is_completed()

    def then(self, callback: Callable[[_Future], Any]) -> _Future:
        def compute() -> Any:
            self.wait()
            return callback(self)
        return _Future(None, compute)


def _done(raw: _RawWork | None, async_op: bool, post: Callable[[], None] | None = None,
          result: list | None = None) -> Work | None:
    if async_op:
        return Work(raw, post, result=result)
    if post is not None:
        post()
    return None


def _in_place(tensor: Tensor, raw: _RawWork | None, async_op: bool, post: Callable[[], None] | None = None,
              ) -> Work | None:
    """Finish a collective that writes into ``tensor``: bump its version, wrap ``raw`` when ``async_op``."""
    tensor._vc[0] += 1
    return _done(raw, async_op, post, [tensor])
