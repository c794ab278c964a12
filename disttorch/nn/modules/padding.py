"""Padding layers: zero, constant, reflection, replication and circular padding of 1, 2 or 3 dims."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.nn import functional as F
from disttorch.nn.modules.module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _amounts(padding: Any, nd: int) -> tuple:
    if isinstance(padding, int):
        return (padding,) * (2 * nd)
    t = tuple(int(p) for p in padding)
    if len(t) != 2 * nd:
        raise ValueError(f"Padding length must be {2 * nd}, got {len(t)}")  # pragma: no cover - torch asserts
    return t


class _PadNd(Module):
    __constants__ = ["padding", "mode", "value"]
    _nd = 1
    _mode = "constant"

    def __init__(self, padding: Any, value: float | None = None) -> None:
        super().__init__()
        self.padding = _amounts(padding, self._nd)
        if self._mode == "constant":
            self.value = 0.0 if value is None else float(value)

    def forward(self, input: Tensor) -> Tensor:
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        if self._mode == "constant" and not isinstance(self, _ZeroPadNd):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class _ZeroPadNd(_PadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


def _make(name: str, base: type, nd: int, mode: str) -> type:
    cls = type(name, (base,), {"_nd": nd, "_mode": mode, "__doc__": f"Pads the last {nd} dim(s) ({mode})."})
    cls.__module__ = __name__
    return cls


ZeroPad1d = _make("ZeroPad1d", _ZeroPadNd, 1, "constant")
ZeroPad2d = _make("ZeroPad2d", _ZeroPadNd, 2, "constant")
ZeroPad3d = _make("ZeroPad3d", _ZeroPadNd, 3, "constant")
ConstantPad1d = _make("ConstantPad1d", _ConstantPadNd, 1, "constant")
ConstantPad2d = _make("ConstantPad2d", _ConstantPadNd, 2, "constant")
ConstantPad3d = _make("ConstantPad3d", _ConstantPadNd, 3, "constant")
ReflectionPad1d = _make("ReflectionPad1d", _PadNd, 1, "reflect")
ReflectionPad2d = _make("ReflectionPad2d", _PadNd, 2, "reflect")
ReflectionPad3d = _make("ReflectionPad3d", _PadNd, 3, "reflect")
ReplicationPad1d = _make("ReplicationPad1d", _PadNd, 1, "replicate")
ReplicationPad2d = _make("ReplicationPad2d", _PadNd, 2, "replicate")
ReplicationPad3d = _make("ReplicationPad3d", _PadNd, 3, "replicate")
CircularPad1d = _make("CircularPad1d", _PadNd, 1, "circular")
CircularPad2d = _make("CircularPad2d", _PadNd, 2, "circular")
CircularPad3d = _make("CircularPad3d", _PadNd, 3, "circular")
