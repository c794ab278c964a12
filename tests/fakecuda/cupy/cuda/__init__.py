"""``cupy.cuda`` of the stand-in: devices (two of them), streams, events, memory pools, pinned memory.
Names and signatures follow cupy's docs ("Low-level CUDA support", ``cupy.cuda.Device``/``Stream``/``Event``)."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import _core
from . import memory, nccl, nvtx, runtime  # noqa: F401  (``cupy.cuda.memory``, ``.nccl``, ``.nvtx``, ``.runtime``)
from .runtime import CUDARuntimeError


class Device:
    """A CUDA device; as a context manager it is the current device inside the block."""

    def __init__(self, device: Any = None) -> None:
        if device is None:
            device = _core.current_device()
        self.id = int(device)
        self._prev: list[int] = []

    def _check(self) -> None:
        if not 0 <= self.id < _core.DEVICE_COUNT:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def use(self) -> None:
        self._check()
        _core.set_current_device(self.id)

    def __enter__(self) -> Device:
        self._check()
        self._prev.append(_core.current_device())
        _core.set_current_device(self.id)
        return self

    def __exit__(self, *exc: Any) -> None:
        _core.set_current_device(self._prev.pop())

    def synchronize(self) -> None:
        _core._sync()  # the host waits for the device

    @property
    def compute_capability(self) -> str:
        return "80"

    @property
    def pci_bus_id(self) -> str:
        return f"0000:{0x17 + self.id:02X}:00.0"

    @property
    def mem_info(self) -> tuple[int, int]:
        return runtime.memGetInfo()

    def __int__(self) -> int:
        return self.id

    def __index__(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


def get_device_id() -> int:
    return _core.current_device()


class Event:
    """Work is synchronous here, so an event is done once recorded."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self._time: float | None = None
        self.ptr = id(self)

    def record(self, stream: Any = None) -> None:
        self._time = time.perf_counter()

    @property
    def done(self) -> bool:
        return True

    def synchronize(self) -> None:
        _core._sync()  # the host waits for the device


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    if start_event._time is None or end_event._time is None:
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: the events were not recorded")
    return (end_event._time - start_event._time) * 1000.0


class Stream:
    """A CUDA stream of the device current when it was made; ``with stream:`` makes it the current stream of
    that device (cupy keeps one current stream per device). ``waited`` lists the events ``wait_event`` was
    given, so tests can see which stream was made to wait."""

    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False) -> None:
        self.ptr = 0 if null else id(self)
        self.device_id = -1 if null else _core.current_device()
        self._prev: list[Stream] = []
        self.waited: list[Event] = []

    def synchronize(self) -> None:
        _core._sync()  # the host waits for the device

    @property
    def done(self) -> bool:
        return True

    def record(self, event: Event | None = None) -> Event:
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"expected a cupy.cuda.Event, got {type(event).__name__}")
        self.waited.append(event)

    def _device(self) -> int:
        return _core.current_device() if self.device_id < 0 else self.device_id

    def use(self) -> Stream:
        _CURRENT[self._device()] = self
        return self

    def __enter__(self) -> Stream:
        device = self._device()
        self._prev.append(_CURRENT.get(device, Stream.null))
        _CURRENT[device] = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _CURRENT[self._device()] = self._prev.pop()


Stream.null = Stream(null=True)
_CURRENT: dict[int, Stream] = {}


class ExternalStream(Stream):
    def __init__(self, ptr: int, device_id: int = -1) -> None:
        super().__init__()
        self.ptr = ptr


def get_current_stream(device_id: int = -1) -> Stream:
    """The current stream of ``device_id`` (-1: of the current device); the null stream until one is used."""
    return _CURRENT.get(_core.current_device() if device_id < 0 else device_id, Stream.null)


class MemoryPool:
    """cupy's default memory pool, counted: arrays that own their buffer add its size rounded up to 512 bytes
    (cupy's allocation unit) while they live; freed blocks stay held (``total_bytes``) until ``free_all_blocks``.
    One pool for both devices. ``set_limit`` makes a larger allocation raise ``OutOfMemoryError``."""

    def __init__(self) -> None:
        self._limit = 0
        self._used = 0
        self._held = 0  # bytes the pool holds: used plus freed blocks not yet returned

    def _malloc(self, nbytes: int) -> int:
        size = -(-int(nbytes) // 512) * 512
        if self._limit and self._used + size > self._limit:
            raise memory.OutOfMemoryError(size, self._used, self._limit)
        self._used += size
        self._held = max(self._held, self._used)
        return size

    def _free(self, size: int) -> None:
        self._used -= size

    def used_bytes(self) -> int:
        return self._used

    def total_bytes(self) -> int:
        return self._held

    def free_bytes(self) -> int:
        return self._held - self._used

    def free_all_blocks(self, stream: Any = None) -> None:
        self._held = self._used

    def n_free_blocks(self) -> int:
        return 0

    def set_limit(self, size: int | None = None, fraction: float | None = None) -> None:
        if size is not None and fraction is not None:
            raise ValueError("size and fraction cannot be specified at one time")
        if fraction is not None:
            if not 0 <= fraction <= 1:
                raise ValueError(f"memory limit fraction out of range: {fraction}")
            size = int(fraction * runtime.memGetInfo()[1])
        self._limit = int(size or 0)

    def get_limit(self) -> int:
        return self._limit


class PinnedMemoryPool:
    def free_all_blocks(self) -> None:
        return None

    def n_free_blocks(self) -> int:
        return 0


_MEMORY_POOL = MemoryPool()
_PINNED_POOL = PinnedMemoryPool()


class _PinnedBytes(bytearray):
    """What ``alloc_pinned_memory`` returns here: a bytearray (so ``np.frombuffer`` reads it) with ``ptr``."""

    @property
    def ptr(self) -> int:
        return np.frombuffer(self, np.uint8).__array_interface__["data"][0] if len(self) else 0

    @property
    def size(self) -> int:
        return len(self)


def alloc_pinned_memory(size: int) -> _PinnedBytes:
    return _PinnedBytes(int(size))


def is_available() -> bool:
    return True


class MemoryPointer(_core.MemoryPointer):
    pass
