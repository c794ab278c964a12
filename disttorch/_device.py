"""torch.device: a device type plus an optional index (``cpu``, ``cuda``, ``cuda:1``)."""
from __future__ import annotations

import re
import threading
from typing import Any

from disttorch.backends import device_types, get_backend

# a type name, then optionally ':' and an index without leading zeros (PyTorch rejects "cuda:01", " cuda")
_DEVICE_RE = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?\Z")


class device:
    __slots__ = ("type", "index")

    def __init__(self, type_or_str: Any, index: int | None = None) -> None:
        if isinstance(type_or_str, device):
            if index is not None:
                raise ValueError("device(device, index) is not allowed; pass a string or a type and an index")
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            type_or_str, index = "cuda", type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(f"device() expects a string, an int or a device, got {type(type_or_str).__name__}")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not {type(index).__name__}")
        if not type_or_str:
            raise RuntimeError("Device string must not be empty")
        match = _DEVICE_RE.match(type_or_str)
        if match is None:
            raise RuntimeError(f"Invalid device string: '{type_or_str}'")
        text, idx = match.group(1), match.group(2)
        if idx is not None:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed "
                                   f"explicitly: {type_or_str}")
            index = int(idx)
        if text not in _known_types():
            raise RuntimeError(
                f"Expected one of {', '.join(_known_types())} device type at start of device string: {type_or_str}")
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = text
        self.index = index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented  # as in PyTorch, device("cpu") != "cpu"
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self) -> tuple:
        return (device, (str(self),))

    @property
    def backend(self) -> Any:
        return get_backend(self.type)

    # ``with torch.device("cuda"):`` makes factory functions default to this device inside the block
    def __enter__(self) -> device:
        _state.saved.append(_state.device)
        _state.device = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.device = _state.saved.pop()


def _known_types() -> list[str]:
    return device_types()


_cpu = device("cpu")
_cache: dict[Any, device] = {"cpu": _cpu}


def to_device(d: Any) -> device:
    """Normalise a device argument (str, int, device) to a device object, cached for speed."""
    if isinstance(d, device):
        return d
    hit = _cache.get(d)
    if hit is None:
        hit = device(d)
        if hit.type == "cuda" and hit.index is None:
            pass  # resolved to the current device when an array is placed
        _cache[d] = hit
    return hit


class _DefaultDeviceState(threading.local):
    """Per thread, as PyTorch's default device and device contexts: ``device`` is None for cpu (no lookup
    on the hot path); ``saved`` holds what each open ``with torch.device(...)`` block restores on exit."""

    def __init__(self) -> None:
        self.device: device | None = None
        self.saved: list[device | None] = []


_state = default_state = _DefaultDeviceState()  # factories read ``default_state.device`` directly (hot path)


def set_default_device(d: Any) -> None:
    """Where factory functions (``torch.zeros``, ``torch.tensor``, ``torch.randn``...) put new tensors
    when no ``device=`` is given, in this thread; ``None`` restores cpu."""
    _state.device = None if d is None else to_device(d)


def get_default_device() -> device:
    """The default device; a cuda one without an index reads as the current cuda device, as in PyTorch."""
    d = _state.device
    if d is None:
        return _cpu
    if d.index is None and d.type not in ("cpu", "meta"):
        return device(d.type, get_backend(d.type).current_device())
    return d
