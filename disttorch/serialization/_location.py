"""``map_location``: where loaded storages go (PyTorch's rules)."""
from __future__ import annotations

from typing import Any

from disttorch._device import device as Device
from disttorch._tensor import Tensor


def location_tag(t: Tensor) -> str:
    """The location string saved with a storage: ``'cpu'`` or ``'cuda:N'``."""
    dev = t.device
    return "cpu" if dev.type == "cpu" else f"{dev.type}:{dev.index or 0}"


class Placer:
    """Moves a loaded CPU storage (a 1-D tensor) where ``map_location`` says: None (back to its saved
    location), a device or device string, a dict mapping saved location strings to new ones, or a
    callable ``fn(storage, saved_location) -> Tensor | None`` (None: default placement)."""

    def __init__(self, map_location: Any) -> None:
        self.map_location = map_location

    def __call__(self, t: Tensor, location: str) -> Tensor:
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, Device, dict)):
            moved = ml(t, location)
            if moved is not None:
                if not isinstance(moved, Tensor):
                    raise TypeError(f"map_location should return a Tensor or None, got {type(moved).__name__}")
                return moved
            target: Any = location
        elif ml is None:
            target = location
        elif isinstance(ml, dict):
            target = ml.get(location, location)
        else:
            target = ml
        target = Device(target) if not isinstance(target, Device) else target
        if target.type == "cpu":
            return t
        if target.type == "cuda":
            from disttorch import cuda

            if not cuda.is_available():
                raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                                   "is False. If you are running on a CPU-only machine, please use torch.load with "
                                   "map_location=torch.device('cpu') to map your storages to the CPU.")
        return t.to(target)
