"""``cupy.cuda.runtime`` of the stand-in (cupy docs, "Runtime API": the functions disttorch calls)."""
from __future__ import annotations

from typing import Any

from .. import _core

is_hip = False


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount() -> int:
    return _core.DEVICE_COUNT


def getDevice() -> int:
    return _core.current_device()


def setDevice(device: int) -> None:
    if not 0 <= device < _core.DEVICE_COUNT:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    _core.set_current_device(int(device))


def deviceSynchronize() -> None:
    _core._sync()  # the host waits for the device


def getDeviceProperties(device: int) -> dict[str, Any]:
    if not 0 <= device < _core.DEVICE_COUNT:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    return {"name": b"disttorch fake cuda device", "totalGlobalMem": 16 * 2**30, "major": 8, "minor": 0,
            "multiProcessorCount": 108, "warpSize": 32}


def memGetInfo() -> tuple[int, int]:
    return (16 * 2**30, 16 * 2**30)


def runtimeGetVersion() -> int:
    return 12040


def driverGetVersion() -> int:
    return 12040


def deviceCanAccessPeer(device: int, peer: int) -> int:
    return 0
