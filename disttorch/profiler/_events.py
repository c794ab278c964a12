"""What a profiler run recorded: ``FunctionEvent`` (one timed range), ``FunctionEventAvg`` (events of one key
summed) and ``EventList`` with ``key_averages``, ``table`` and ``export_chrome_trace``, laid out as PyTorch's."""
from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from typing import Any

_NAME_WIDTH_MAX = 55
_SHAPES_WIDTH_MAX = 80
_SORT_KEYS = ("cpu_time", "cuda_time", "xpu_time", "device_time", "cpu_time_total", "cuda_time_total",
              "xpu_time_total", "device_time_total", "cpu_memory_usage", "cuda_memory_usage", "device_memory_usage",
              "self_cpu_memory_usage", "self_cuda_memory_usage", "self_device_memory_usage", "self_cpu_time_total",
              "self_cuda_time_total", "self_device_time_total", "count")


def _format_time(us: float) -> str:
    if abs(us) >= 1e6:
        return f"{us / 1e6:.3f}s"
    if abs(us) >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_memory(nbytes: float) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{int(nbytes)} B"


class _Stats:
    """The fields events and averages share; times in microseconds, memory in bytes."""

    device_time_total = self_device_time_total = 0.0
    device_memory_usage = self_device_memory_usage = 0
    is_async = is_remote = is_legacy = False
    node_id = -1
    scope = 0
    flops = 0
    overload_name = ""

    @property
    def cuda_time_total(self) -> float:
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total

    @property
    def cuda_memory_usage(self) -> int:
        return self.device_memory_usage

    @property
    def self_cuda_memory_usage(self) -> int:
        return self.self_device_memory_usage

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    @property
    def device_time(self) -> float:
        return self.device_time_total / max(self.count, 1)

    cuda_time = device_time

    @property
    def cpu_time_str(self) -> str:
        return _format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self) -> str:
        return _format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self) -> str:
        return _format_time(self.self_cpu_time_total)

    @property
    def device_time_str(self) -> str:
        return _format_time(self.device_time)

    @property
    def device_time_total_str(self) -> str:
        return _format_time(self.device_time_total)

    @property
    def self_device_time_total_str(self) -> str:
        return _format_time(self.self_device_time_total)


class FunctionEvent(_Stats):
    """One recorded range: an op, a ``record_function`` block or a backward node's evaluation."""

    def __init__(self, id: int, name: str, thread: int, start_us: float, end_us: float,
                 input_shapes: list | None = None, cpu_memory_usage: int = 0, stack: list | None = None,
                 is_user_annotation: bool = False, sequence_nr: int = -1) -> None:
        # the ranges of profiler steps are summed as one key, as PyTorch does; traces keep their numbers
        self.trace_name = name
        self.id, self.name, self.thread = id, "ProfilerStep*" if name.startswith("ProfilerStep#") else name, thread
        self.start_us, self.end_us = start_us, end_us
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.cpu_memory_usage = cpu_memory_usage
        self.stack = stack if stack is not None else []
        self.is_user_annotation = is_user_annotation
        self.sequence_nr = sequence_nr
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.count = 1
        self.kernels: list = []
        self.device_type = "CPU"
        self.device_index = 0
        self.fwd_thread = thread

    @property
    def key(self) -> str:
        return self.name

    @property
    def time_range(self) -> tuple:
        return (self.start_us, self.end_us)

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    def append_cpu_child(self, child: FunctionEvent) -> None:
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: FunctionEvent) -> None:
        self.cpu_parent = parent

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
                f"cpu_time={self.cpu_time_total_str} start_us={self.start_us:.3f} end_us={self.end_us:.3f} "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg(_Stats):
    """Events of one key (and input shapes or stack, when grouped so) summed together."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.input_shapes: list | None = None
        self.stack: list | None = None
        self.cpu_children: list | None = None
        self.cpu_parent = None
        self.is_user_annotation = False
        self.device_type = "CPU"

    def add(self, other: Any) -> FunctionEventAvg:
        if self.key is None:
            self.key, self.input_shapes, self.stack = other.key, other.input_shapes, other.stack
            self.is_user_annotation = other.is_user_annotation
        elif other.key != self.key:
            raise AssertionError(f"Expected keys to be the same for both: {self.key} != {other.key}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        return self

    def __iadd__(self, other: Any) -> FunctionEventAvg:
        return self.add(other)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


class EventList(list):
    """A list of events with PyTorch's summaries."""

    def __init__(self, *args: Any, profile_memory: bool = False, with_flops: bool = False, **kwargs: Any) -> None:
        super().__init__(*args)
        self._profile_memory = profile_memory
        self._with_flops = with_flops

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """One ``FunctionEventAvg`` per key (per key and input shapes / top stack frames when asked), in the
        order each key was first seen."""
        groups: dict = defaultdict(FunctionEventAvg)
        for evt in self:
            key = [evt.key]
            if group_by_input_shapes:
                key.append(str(evt.input_shapes))
            if group_by_stack_n > 0:
                key += list(evt.stack[:group_by_stack_n])
            groups[tuple(key)].add(evt)
        out = EventList(groups.values(), profile_memory=self._profile_memory, with_flops=self._with_flops)
        if not group_by_input_shapes:
            for avg in out:
                avg.input_shapes = None
        return out

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg()
        for evt in self:
            total.count += evt.count
            total.cpu_time_total += evt.cpu_time_total
            total.self_cpu_time_total += evt.self_cpu_time_total
            total.cpu_memory_usage += evt.cpu_memory_usage
            total.self_cpu_memory_usage += evt.self_cpu_memory_usage
        total.key = "Total"
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """PyTorch's summary table: self/total CPU time and share, average, memory when profiled, call count,
        and input shapes when the events were grouped by them."""
        events = [e for e in self if not top_level_events_only or e.cpu_parent is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise AttributeError(f"'FunctionEventAvg' object has no attribute '{sort_by}'")
            events.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        events = events[:row_limit] if row_limit > 0 else events
        total_self = sum(e.self_cpu_time_total for e in self) or 1.0
        name_width = min(max([len(e.key) for e in events] + [4]) + 4, max_name_column_width)
        show_shapes = any(e.input_shapes for e in events)
        shapes_width = min(max([len(str(e.input_shapes)) for e in events] + [12]) + 4, max_shapes_column_width)
        heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
        if self._profile_memory:
            heads += ["CPU Mem", "Self CPU Mem"]
        heads.append("# of Calls")
        widths = [name_width] + [12] * len(heads) + ([shapes_width] if show_shapes else [])
        heads = ["Name"] + heads + (["Input Shapes"] if show_shapes else [])
        line = "".join("-" * w + "  " for w in widths)

        def row(cells: list) -> str:
            return "".join(f"{c:>{w}}  " for c, w in zip(cells, widths))

        lines = [header] if header else []
        lines += [line, row(heads), line]
        for e in events:
            name = e.key if len(e.key) <= name_width - 4 else e.key[:name_width - 7] + "..."
            cells = [name, f"{100 * e.self_cpu_time_total / total_self:.2f}%", _format_time(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / total_self:.2f}%", _format_time(e.cpu_time_total),
                     _format_time(e.cpu_time)]
            if self._profile_memory:
                cells += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
            cells.append(str(e.count))
            if show_shapes:
                cells.append(str(e.input_shapes)[:shapes_width - 4])
            lines.append(row(cells))
        lines.append(line)
        lines.append(f"Self CPU time total: {_format_time(sum(e.self_cpu_time_total for e in self))}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """The events as a Chrome trace (``chrome://tracing``, Perfetto, TensorBoard's profile plugin); a path
        ending in ``.gz`` is gzipped."""
        pid = os.getpid()
        trace = [{"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                  "name": e.trace_name,
                  "pid": pid, "tid": e.thread, "ts": e.start_us, "dur": e.cpu_time_total,
                  "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
                 for e in self if isinstance(e, FunctionEvent)]
        doc = {"schemaVersion": 1, "traceEvents": trace, "displayTimeUnit": "ms"}
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump(doc, f)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """One ``frame;frame;... value`` line per event with a recorded stack (flame-graph input)."""
        with open(path, "w") as f:
            for e in self:
                if e.stack:
                    f.write(";".join(reversed(e.stack)) + f" {int(getattr(e, metric))}\n")
