"""torch.cuda.nvtx: NVTX ranges and marks for profilers (Nsight Systems), through ``cupy.cuda.nvtx``."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_NOT_INSTALLED = "NVTX functions not installed. Are you sure you have a CUDA build?"
_depth = threading.local()  # NVTX's push/pop stack is per thread; cupy's calls do not report its depth


def _nvtx() -> Any:
    from ._common import backend

    nvtx = backend().cuda_module("nvtx")
    if nvtx is None:
        raise RuntimeError(f"{_NOT_INSTALLED} (disttorch needs cupy built with NVTX)")
    if not getattr(nvtx, "available", True):
        raise RuntimeError(f"{_NOT_INSTALLED} (this cupy was built without NVTX)")
    return nvtx


def range_push(msg: str) -> int:
    """Open a nested range; the zero-based depth of the range opened."""
    _nvtx().RangePush(msg)
    depth = getattr(_depth, "n", 0)
    _depth.n = depth + 1
    return depth


def range_pop() -> int:
    """Close the innermost range; the zero-based depth of the range closed (-1 when none was open)."""
    _nvtx().RangePop()
    depth = getattr(_depth, "n", 0) - 1
    _depth.n = max(depth, 0)
    return depth


def range_start(msg: str) -> int:
    raise RuntimeError("torch.cuda.nvtx.range_start: cupy's NVTX bindings have no cross-thread ranges "
                       "(nvtxRangeStartA); use range_push/range_pop")


def range_end(range_id: int) -> None:
    raise RuntimeError("torch.cuda.nvtx.range_end: cupy's NVTX bindings have no cross-thread ranges "
                       "(nvtxRangeEnd); use range_push/range_pop")


def mark(msg: str) -> None:
    """An instantaneous event."""
    _nvtx().Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args: Any, **kwargs: Any) -> Iterator[None]:
    """A range around the block (or the decorated function); ``args`` format ``msg``."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
