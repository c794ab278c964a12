"""torch.autograd.profiler: the older profiler API over the same recording as ``torch.profiler``
(``profile(enabled=True, ...)``, ``record_function``), and ``emit_nvtx`` / ``emit_itt``, which annotate for
external tools that this build does not drive (they are no-op context managers)."""
from __future__ import annotations

from contextlib import ContextDecorator
from typing import Any

from disttorch.profiler._events import EventList, FunctionEvent, FunctionEventAvg
from disttorch.profiler._recorder import record_function
from disttorch.profiler.profiler import ProfilerActivity, _KinetoProfile, kineto_available

__all__ = ["profile", "record_function", "emit_nvtx", "emit_itt", "EventList", "FunctionEvent", "FunctionEventAvg",
           "ProfilerActivity", "kineto_available"]


class profile(_KinetoProfile):
    """``with torch.autograd.profiler.profile() as prof:`` times what runs inside; ``prof.key_averages()``,
    ``prof.table()``, ``prof.function_events``, ``prof.self_cpu_time_total`` as PyTorch's."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: str | None = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config: Any = None, acc_events: bool = False,
                 custom_trace_id_callback: Any = None) -> None:
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules, acc_events=acc_events,
                         experimental_config=experimental_config)
        self.enabled, self.use_cpu, self.use_device = enabled, use_cpu, use_device
        self.entered = False

    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self.start_trace()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.stop_trace()
            self.entered = False

    @property
    def function_events(self) -> EventList | None:
        return self.events() if self.enabled else None

    def _check_finish(self) -> None:
        if self.enabled and self.entered:
            raise RuntimeError("Profiler didn't finish running")

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        self._check_finish()
        return super().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        self._check_finish()
        return self.events().table(sort_by=sort_by, row_limit=row_limit, max_name_column_width=max_name_column_width,
                                   max_shapes_column_width=max_shapes_column_width, header=header,
                                   top_level_events_only=top_level_events_only)

    def total_average(self) -> FunctionEventAvg:
        self._check_finish()
        return self.events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finish()
        return self.events().self_cpu_time_total

    def __str__(self) -> str:
        return self.table()


class emit_nvtx(ContextDecorator):
    """NVTX ranges around each op for nvprof / Nsight: accepted, and a no-op here."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled, self.record_shapes = enabled, record_shapes

    def __enter__(self) -> emit_nvtx:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class emit_itt(emit_nvtx):
    """Intel ITT ranges around each op for VTune: accepted, and a no-op here."""
