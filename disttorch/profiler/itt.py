"""torch.profiler.itt: Intel ITT annotations, which this build does not have (every call is a no-op)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


def is_available() -> bool:
    return False


def range_push(msg: str) -> int:
    return -1


def range_pop() -> int:
    return -1


def mark(msg: str) -> None:
    return None


@contextmanager
def range(msg: str, *args: Any, **kwargs: Any) -> Iterator[None]:
    yield
