"""``cupy.cuda.memory`` of the stand-in: its ``OutOfMemoryError`` (a ``MemoryError``, as cupy's)."""
from __future__ import annotations


class OutOfMemoryError(MemoryError):
    def __init__(self, size: int, total: int, limit: int = 0) -> None:
        msg = f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes"
        msg += f", limit set to: {limit:,} bytes)." if limit else ")."
        super().__init__(msg)
