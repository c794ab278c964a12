"""torch.cuda.Stream and torch.cuda.Event: disttorch's torch.Stream/torch.Event on a cuda device, over cupy's
streams and events, and the current-stream functions (cupy keeps one current stream per device)."""
from __future__ import annotations

from typing import Any

from disttorch import _streams
from disttorch._device import device as _device

from . import _common

__all__ = ["Stream", "Event", "ExternalStream", "StreamContext", "get_stream_from_external",
           "current_stream", "default_stream",
           "set_stream", "stream"]


class Stream(_streams.Stream):
    """A cupy stream on a cuda device (the current one by default)."""

    def __init__(self, device: Any = None, priority: int = 0, **kwargs: Any) -> None:
        try:
            _common.require()
        except AssertionError:
            raise RuntimeError("torch.cuda.Stream requires CUDA support (disttorch needs cupy)") from None
        super().__init__(_device("cuda", _common.index(device)), priority=priority)

    @classmethod
    def _of(cls, native: Any, index: int) -> Stream:
        """A Stream wrapping an existing cupy stream of device ``index``."""
        self = object.__new__(cls)
        self.device, self.priority, self._native = _device("cuda", index), 0, native
        return self

    @property
    def cuda_stream(self) -> int:
        return self.stream_id

    def __repr__(self) -> str:
        return f"<torch.cuda.Stream device={self.device} cuda_stream={self.stream_id:#x}>"


class ExternalStream(Stream):
    """A stream made elsewhere (a ``cudaStream_t`` address), wrapped without taking ownership."""

    def __new__(cls, stream_ptr: int, device: Any = None, **kwargs: Any) -> ExternalStream:
        cp = _common.cupy()
        index = _common.index(device)
        return cls._of(cp.cuda.ExternalStream(int(stream_ptr), index), index)

    def __init__(self, stream_ptr: int, device: Any = None, **kwargs: Any) -> None:
        pass


class Event(_streams.Event):
    """A cupy event of the current cuda device, made on first ``record``."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                 external: bool = False) -> None:
        try:
            _common.require()
        except AssertionError:
            raise RuntimeError("torch.cuda.Event requires CUDA support (disttorch needs cupy)") from None
        super().__init__(_device("cuda", _common.index()), enable_timing=enable_timing, blocking=blocking,
                         interprocess=interprocess)

    @property
    def cuda_event(self) -> int:
        return self.event_id

    def __repr__(self) -> str:
        if self._native is None:
            return "<torch.cuda.Event uninitialized>"
        return f"<torch.cuda.Event {self.event_id:#x}>"


def get_stream_from_external(data_ptr: int, device: Any = None) -> Stream:
    """A stream made elsewhere (a ``cudaStream_t`` address), as an ``ExternalStream``."""
    return ExternalStream(data_ptr, device)


def current_stream(device: Any = None) -> Stream:
    """The current stream of the device (the default stream until ``set_stream`` or ``with stream``)."""
    cp = _common.cupy()
    index = _common.index(device)
    return Stream._of(cp.cuda.get_current_stream(index), index)


def default_stream(device: Any = None) -> Stream:
    cp = _common.cupy()
    return Stream._of(cp.cuda.Stream.null, _common.index(device))


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` the current stream of its device (None: nothing changes, as in PyTorch)."""
    if stream is None:
        return
    cp = _common.cupy()
    with cp.cuda.Device(stream.device.index):
        stream._native.use()


class StreamContext:
    """Within the block, ``stream`` is the current stream of its device (and that device the current one)."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self._prev: list[tuple[int, Stream]] = []

    def __enter__(self) -> Stream | None:
        if self.stream is None:
            return None
        from disttorch.cuda import current_device

        before = current_device()
        self._prev.append((before, current_stream(self.stream.device.index)))
        _common.backend().set_device(self.stream.device.index)
        set_stream(self.stream)
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        if self.stream is None:
            return
        before, prev_stream = self._prev.pop()
        set_stream(prev_stream)
        _common.backend().set_device(before)


def stream(stream: Stream | None) -> StreamContext:
    return StreamContext(stream)
