"""cupy's out-of-memory error raised as PyTorch's ``torch.OutOfMemoryError``."""
from __future__ import annotations


def raise_if_cupy_oom(exc: MemoryError) -> None:
    """Raise ``torch.OutOfMemoryError`` (cupy's error as its cause) when ``exc`` is cupy's OutOfMemoryError."""
    if type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.startswith("cupy"):
        from ._runtime_objects import OutOfMemoryError

        raise OutOfMemoryError(f"CUDA out of memory. {exc}") from exc
