"""``torch.profiler.profile``: a CPU profiler that times every op, ``record_function`` range and backward node,
with PyTorch's schedule (wait / warmup / active / repeat), ``on_trace_ready`` and ``step()``."""
from __future__ import annotations

import os
import socket
import time
import warnings
from enum import Enum
from typing import Any, Callable, Iterable

from ._events import EventList
from ._recorder import Session, record_function


class ProfilerActivity(Enum):
    """What a profiler collects. Only ``CPU`` is recorded here: device kernels are not traced."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5

    @property
    def name(self) -> str:  # PyTorch's enum prints as ProfilerActivity.CPU
        return self._name_


class ProfilerAction(Enum):
    """What the profiler does at a step, as a schedule returns it."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities() -> set:
    """The activities this build can collect."""
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """Whether PyTorch's Kineto tracer is present: it is not (this profiler is disttorch's own)."""
    return False


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """The step -> action function of PyTorch's schedule: skip ``skip_first`` steps, then cycles of ``wait``
    idle, ``warmup`` and ``active`` recorded steps (the last one saves), ``repeat`` times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} (need >= 0), "
            f"active={active} (need > 0), repeat={repeat} (need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait  # the first cycle starts without its wait
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        phase = step % cycle
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if phase < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False) -> Callable[[Any], None]:
    """An ``on_trace_ready`` that writes each trace as ``<worker>.<ns>.pt.trace.json[.gz]`` into ``dir_name``
    (TensorBoard's profile plugin reads that folder); the worker defaults to ``<hostname>_<pid>``."""

    def handler_fn(prof: Any) -> None:
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except Exception as exc:
            raise RuntimeError("Can't create directory: " + dir_name) from exc
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler_fn


class _KinetoProfile:
    """Start/stop recording and the views of what was recorded (shared by both profilers)."""

    def __init__(self, *, activities: Iterable | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, custom_trace_id_callback: Callable | None = None) -> None:
        self.activities = set(activities) if activities else supported_activities()
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.with_flops, self.with_modules, self.acc_events = with_flops, with_modules, acc_events
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.custom_trace_id_callback = custom_trace_id_callback
        self._session: Session | None = None
        self._events: list = []
        self._metadata: dict = {}

    def prepare_trace(self) -> None:
        self._session = Session(self.record_shapes, self.profile_memory, self.with_stack)

    def start_trace(self) -> None:
        if self._session is None:
            self.prepare_trace()
        if not self.acc_events:
            self._events = []
        self._session.start()

    def stop_trace(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._events.extend(self._session.events)
            self._session = None

    def events(self) -> EventList:
        """Every recorded event, in the order they ended."""
        return EventList(self._events, profile_memory=self.profile_memory, with_flops=self.with_flops)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        if group_by_input_shape and not self.record_shapes:
            raise AssertionError("Input shapes must be recorded with record_shapes=True to group by them")
        return self.events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path: str, use_python_export: bool = False) -> None:
        self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        self.events().export_stacks(path, metric)

    def add_metadata(self, key: str, value: str) -> None:
        self._metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        self._metadata[key] = value

    def preset_metadata_json(self, key: str, value: str) -> None:
        self._metadata[key] = value

    def toggle_collection_dynamic(self, enable: bool, activities: Iterable) -> None:
        if ProfilerActivity.CPU in set(activities) and self._session is not None:
            (self._session.start if enable else self._session.stop)()

    def export_memory_timeline(self, path: str, device: str | None = None) -> None:
        raise NotImplementedError("export_memory_timeline is not supported by disttorch's profiler")

    def get_trace_id(self) -> str | None:
        return None

    def set_custom_trace_id_callback(self, callback: Callable) -> None:
        self.custom_trace_id_callback = callback


# (previous action, next action) -> what to do; next None means the profiler stops
_A = ProfilerAction
_TRANSITIONS: dict = {
    (_A.NONE, _A.WARMUP): ("prepare",), (_A.NONE, _A.RECORD): ("prepare", "start"),
    (_A.NONE, _A.RECORD_AND_SAVE): ("prepare", "start"),
    (_A.WARMUP, _A.NONE): ("warn", "start", "stop"), (_A.WARMUP, _A.RECORD): ("start",),
    (_A.WARMUP, _A.RECORD_AND_SAVE): ("start",),
    (_A.RECORD, _A.NONE): ("warn", "stop"), (_A.RECORD, _A.WARMUP): ("warn", "stop"),
    (_A.RECORD_AND_SAVE, _A.NONE): ("stop", "ready"), (_A.RECORD_AND_SAVE, _A.WARMUP): ("stop", "ready", "prepare"),
    (_A.RECORD_AND_SAVE, _A.RECORD): ("stop", "ready", "prepare", "start"),
    (_A.RECORD_AND_SAVE, _A.RECORD_AND_SAVE): ("stop", "ready", "prepare", "start"),
    (_A.WARMUP, None): ("start", "stop"), (_A.RECORD, None): ("stop", "ready"),
    (_A.RECORD_AND_SAVE, None): ("stop", "ready"),
}


class profile(_KinetoProfile):
    """``with torch.profiler.profile(...) as prof:`` records CPU time of ops, ``record_function`` ranges and
    backward nodes; ``prof.step()`` advances the ``schedule``; ``on_trace_ready(prof)`` runs when a window
    ends. CUDA activity is accepted but no device kernels are traced."""

    def __init__(self, *, activities: Iterable | None = None, schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable | None = None, record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, execution_trace_observer: Any = None, acc_events: bool = False,
                 use_cuda: bool | None = None, custom_trace_id_callback: Callable | None = None) -> None:
        activities = set(activities) if activities else supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning,
                          stacklevel=2)
            if use_cuda:
                activities.add(ProfilerActivity.CUDA)
        if not activities:
            raise AssertionError("No valid profiler activities found")
        super().__init__(activities=activities, record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, with_modules=with_modules,
                         experimental_config=experimental_config, execution_trace_observer=execution_trace_observer,
                         acc_events=acc_events, custom_trace_id_callback=custom_trace_id_callback)
        self.record_steps = schedule is not None
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self.step_rec_fn: record_function | None = None

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """The next training step begins: move along the schedule."""
        self._close_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._open_step()

    def _open_step(self) -> None:
        if self.record_steps:
            self.step_rec_fn = record_function(f"ProfilerStep#{self.step_num}")
            self.step_rec_fn.__enter__()

    def _close_step(self) -> None:
        if self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None

    def _transit(self, prev: ProfilerAction, new: ProfilerAction | None) -> None:
        for action in _TRANSITIONS.get((prev, new), ()):
            if action == "warn":
                warnings.warn(f"Incorrect schedule: {prev.name} followed by {new.name}", stacklevel=3)
            elif action == "prepare":
                self.prepare_trace()
            elif action == "start":
                self.start_trace()
            elif action == "stop":
                self.stop_trace()
            elif self.on_trace_ready is not None:
                self.on_trace_ready(self)
