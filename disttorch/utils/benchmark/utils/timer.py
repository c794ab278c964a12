"""``Timer``: ``timeit.Timer`` with warm-up, a fixed thread count, accelerator synchronisation and replicates."""
from __future__ import annotations

import enum
import textwrap
import timeit
from collections.abc import Callable
from typing import Any

from . import common

__all__ = ["Timer", "timer", "Language"]

_CALLGRIND = ("Timer.collect_callgrind is not available in disttorch: instruction counts need PyTorch's Valgrind "
              "bindings. Time with Timer.blocked_autorange() or Timer.adaptive_autorange() instead.")
_CPP = ("Timer(language='cpp') is not available in disttorch: C++ statements need PyTorch's C++ extension "
        "toolchain. Time Python statements (language='python') instead.")


_sync: list = []  # the accelerator's synchronize, or None without one (looked up once: the clock ticks often)


def timer() -> float:
    """``timeit.default_timer()`` after waiting for queued accelerator work, so device time is counted."""
    if not _sync:
        import disttorch

        _sync.append(disttorch.accelerator.synchronize if disttorch.accelerator.is_available() else None)
    if _sync[0] is not None:
        _sync[0]()
    return timeit.default_timer()


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _clean(code: str) -> str:
    code = textwrap.dedent(code)
    return (code[1:] if code.startswith("\n") else code).rstrip()


class Timer:
    """Times a Python statement (``stmt``, after ``setup``) with ``globals``; see PyTorch's benchmark recipe."""

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict[str, Any] | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1, language: Language | str = Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError(_CPP)
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely this code can simply "
                             "be moved to `setup`.")
        import disttorch

        self._globals = dict(globals or {})
        self._globals.setdefault("torch", disttorch)
        self._language = Language.PYTHON
        stmt, setup = _clean(stmt), _clean(setup)
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup, label=label,
                                          sub_label=sub_label, description=description, env=env,
                                          num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)  # a zero time would break the statistics

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Runs ``stmt`` ``number`` times (after a warm-up of ``number // 100``): one measurement."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(max(number // 100, 2))
            return common.Measurement(number_per_run=number, raw_times=[self._timeit(number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], None] | None = None) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """Executions per timed block: grown tenfold until the timer's own cost is negligible."""
        with common.set_torch_threads(self._task_spec.num_threads):
            empty = sorted(self._timeit(0) for _ in range(5))[2]
            number = 1
            while number * 10 <= 2147483647:
                took = self._timeit(number)
                if (empty / took <= 1e-4 and took >= min_run_time / 1000) or took > min_run_time:
                    break
                number *= 10
        return number

    def _loop(self, number: int, enough: Callable[[list[float]], bool], min_run_time: float,
              max_run_time: float | None, callback: Callable[[int, float], None] | None) -> list[float]:
        times: list[float] = []
        total, done = 0.0, False
        with common.set_torch_threads(self._task_spec.num_threads):
            while total < min_run_time or not done:
                took = self._timeit(number)
                times.append(took)
                total += took
                if callback:
                    callback(number, took)
                done = enough(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def blocked_autorange(self, callback: Callable[[int, float], None] | None = None,
                          min_run_time: float = 0.2) -> common.Measurement:
        """Timed blocks of a calibrated size until ``min_run_time`` seconds have been measured."""
        number = self._block_size(min_run_time)
        times = self._loop(number, lambda _: True, min_run_time, None, callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0,
                           callback: Callable[[int, float], None] | None = None) -> common.Measurement:
        """Like ``blocked_autorange``, but runs on (up to ``max_run_time``) until IQR / median < ``threshold``
        over more than 3 blocks."""
        number = self._block_size(0.05)

        def enough(times: list[float]) -> bool:
            return len(times) > 3 and common.Measurement(number, times, self._task_spec).meets_confidence(threshold)

        times = self._loop(number, enough, min_run_time, max_run_time, callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(self, number: int = 100, *, repeats: int | None = None, collect_baseline: bool = True,
                          retain_out_file: bool = False) -> Any:
        raise NotImplementedError(_CALLGRIND)
