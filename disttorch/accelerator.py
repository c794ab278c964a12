"""``torch.accelerator``: the current accelerator (cuda when a GPU is usable, else none)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from . import cuda
from ._device import device as _device

__all__ = ["current_accelerator", "current_device_index", "current_device_idx", "device_count", "device_index",
           "is_available", "set_device_index", "set_device_idx", "synchronize"]


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> _device | None:
    """``device('cuda')`` when cuda is usable; None otherwise (the cpu is not an accelerator)."""
    return _device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count() if cuda.is_available() else 0


def _require() -> None:
    if not is_available():
        raise RuntimeError("No available accelerator found (cuda needs cupy and a visible GPU).")


def current_device_index() -> int:
    _require()
    return cuda.current_device()


def set_device_index(device: Any) -> None:
    _require()
    cuda.set_device(device)


current_device_idx, set_device_idx = current_device_index, set_device_index


def synchronize(device: Any = None) -> None:
    _require()
    cuda.synchronize(device)


@contextlib.contextmanager
def device_index(device: int | None) -> Iterator[None]:
    """Make ``device`` the current accelerator index for the block (None: change nothing)."""
    if device is None:
        yield
        return
    previous = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(previous)
