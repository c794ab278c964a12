"""``torch.Stream`` and ``torch.Event``, PyTorch's device-generic stream and event.

On cpu a stream is the one synchronous queue (``query()`` is always true) and recording an event is refused, as
PyTorch's cpu backend refuses it. On cuda they wrap cupy's streams and events, found through the cuda backend."""
from __future__ import annotations

from typing import Any

from ._device import device as _device
from ._device import to_device

__all__ = ["Stream", "Event"]

_DEVICE_TYPE_IDS = {"cpu": 0, "cuda": 1}


def _resolve(device: Any) -> _device:
    """The given device, else the current accelerator's current device, else cpu."""
    if device is None:
        from . import cuda

        return _device("cuda", cuda.current_device()) if cuda.is_available() else _device("cpu")
    dev = to_device(device)
    if dev.type not in _DEVICE_TYPE_IDS:
        raise RuntimeError(f"Unsupported device type for streams and events: {dev.type}")
    if dev.type == "cuda":
        from . import cuda

        if not cuda.is_available():
            raise RuntimeError("PyTorch is not linked with support for cuda devices")
        if dev.index is None:
            dev = _device("cuda", cuda.current_device())
    return dev


def _cupy_cuda() -> Any:
    from .backends import get_backend

    return get_backend("cuda").xp.cuda


class Stream:
    """A queue of work on a device: ``with stream:`` makes it current (cuda), ``synchronize()`` waits for it,
    ``query()`` says whether its work is done."""

    def __init__(self, device: Any = None, *, priority: int = 0) -> None:
        self.device = _resolve(device)
        self.priority = priority
        self._native = None
        if self.device.type == "cuda":
            cc = _cupy_cuda()
            with cc.Device(self.device.index):
                self._native = cc.Stream(non_blocking=False)

    @property
    def device_type(self) -> int:
        return _DEVICE_TYPE_IDS[self.device.type]

    @property
    def device_index(self) -> int:
        return -1 if self.device.index is None else self.device.index

    @property
    def stream_id(self) -> int:
        return 0 if self._native is None else int(self._native.ptr)

    @property
    def native_handle(self) -> int:
        return self.stream_id

    def query(self) -> bool:
        return True if self._native is None else bool(self._native.done)

    def synchronize(self) -> None:
        if self._native is not None:
            self._native.synchronize()

    def wait_event(self, event: Event) -> None:
        """Make future work on this stream wait for ``event``."""
        if self._native is not None:
            self._native.wait_event(event._recorded())

    def wait_stream(self, stream: Stream) -> None:
        """Make future work on this stream wait for the work queued so far on ``stream``."""
        if self._native is not None and stream._native is not None:
            self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = Event(self.device) if event is None else event
        event.record(self)
        return event

    def is_capturing(self) -> bool:
        return False

    def __enter__(self) -> Stream:
        if self._native is not None:
            self._native.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._native is not None:
            self._native.__exit__(*exc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and (self.device, self.stream_id) == (other.device, other.stream_id)

    def __hash__(self) -> int:
        return hash((self.device, self.stream_id))

    def __repr__(self) -> str:
        return (f"torch.Stream device_type={self.device.type}, device_index={self.device_index}, "
                f"stream_id={self.stream_id}")


class Event:
    """A marker in a stream's work: ``record()``, ``query()``, ``synchronize()``, ``wait()``, and
    ``elapsed_time(end)`` in milliseconds when made with ``enable_timing=True``."""

    def __init__(self, device: Any = None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        self.device = _resolve(device)
        self.enable_timing, self.blocking, self.interprocess = enable_timing, blocking, interprocess
        self._native = None
        self._was_recorded = False

    def _check_device(self) -> Any:
        if self.device.type == "cpu":
            raise RuntimeError("cpu backend doesn't support events.")
        if self._native is None:
            cc = _cupy_cuda()
            with cc.Device(self.device.index):
                self._native = cc.Event(block=self.blocking, disable_timing=not self.enable_timing,
                                        interprocess=self.interprocess)
        return self._native

    def _recorded(self) -> Any:
        native = self._check_device()
        return native

    @property
    def event_id(self) -> int:
        return 0 if self._native is None else int(self._native.ptr)

    def record(self, stream: Stream | None = None) -> None:
        native = self._check_device()
        native.record(None if stream is None else stream._native)
        self._was_recorded = True

    def query(self) -> bool:
        if self.device.type == "cpu" or self._native is None:  # nothing recorded: nothing to wait for
            return True
        return bool(self._native.done)

    def synchronize(self) -> None:
        if self._native is not None:
            self._native.synchronize()

    def wait(self, stream: Stream | None = None) -> None:
        """Make future work on ``stream`` (the current one by default) wait for this event."""
        if self.device.type == "cpu" or self._native is None:
            return
        native = self._native
        target = _cupy_cuda().get_current_stream() if stream is None else stream._native
        target.wait_event(native)

    def elapsed_time(self, end_event: Event) -> float:
        start = self._check_device()
        end = end_event._check_device()
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._was_recorded and end_event._was_recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return float(_cupy_cuda().get_elapsed_time(start, end))

    def __repr__(self) -> str:
        flag = int(self.enable_timing) | (int(self.blocking) << 1) | (int(self.interprocess) << 2)
        index = -1 if self.device.index is None else self.device.index
        return (f"torch.Event device_type={self.device.type}, device_index={index}, event_flag={flag}, "
                f"event_id={self.event_id}")
