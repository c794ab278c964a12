"""What a benchmark measured (``Measurement``), what it ran (``TaskSpec``) and number formatting helpers."""
from __future__ import annotations

import contextlib
import dataclasses
import math
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["TaskSpec", "Measurement", "select_unit", "unit_to_english", "trim_sigfig", "ordered_unique",
           "set_torch_threads"]

_MAX_SIGFIGS = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # seconds: below this the timer itself is the limit
_IQR_WARN = 0.1  # IQR / median above which a measurement carries a warning
_IQR_GROSS_WARN = 0.25

_UNITS = {-3: "ns", -2: "us", -1: "ms"}
_SCALES = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_ENGLISH = {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """The statement a Timer runs and its labels (hashable: ``Measurement.merge`` groups by it)."""
    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    def __repr__(self) -> str:
        return object.__repr__(self)

    @property
    def title(self) -> str:
        suffix = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + suffix
        if "\n" not in self.stmt:
            return self.stmt + suffix
        paren = f" ({self.sub_label})" if self.sub_label else ""
        return f"stmt:{paren}\n" + textwrap.indent(self.stmt, "  ")

    def setup_str(self) -> str:
        if not self.setup or self.setup == "pass":
            return ""
        if "\n" in self.setup:
            return "setup:\n" + textwrap.indent(self.setup, "  ")
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """The lines naming this task in a Measurement's repr (multi-line parts get a blank line after)."""
        parts = [p for p in (self.title, self.description or "", self.setup_str()) if p]
        return "\n".join(p + "\n" if "\n" in p else p for p in parts)


_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(TaskSpec))


def _quantile(sorted_times: tuple[float, ...], q: float) -> float:
    return float(np.quantile(np.asarray(sorted_times, dtype=np.float64), q))  # linear, as torch.quantile


@dataclasses.dataclass(repr=False)
class Measurement:
    """Times of ``number_per_run`` executions each (``raw_times``, seconds) and statistics per execution."""
    number_per_run: int
    raw_times: list[float]
    task_spec: TaskSpec
    metadata: dict[Any, Any] | None = None  # free for the caller

    def __post_init__(self) -> None:
        self._stats: tuple[tuple[float, ...], float, float, float, float] | None = None
        self._warnings: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name in _TASK_FIELDS:  # stmt, label, num_threads... read through to the task
            return getattr(self.task_spec, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def times(self) -> list[float]:
        """Seconds per execution of the statement, one per run."""
        return [t / self.number_per_run for t in self.raw_times]

    def _computed(self) -> tuple[tuple[float, ...], float, float, float, float]:
        if self._stats is None:
            ordered = tuple(sorted(self.times))
            self._stats = (ordered, _quantile(ordered, 0.5), float(np.mean(ordered)), _quantile(ordered, 0.25),
                           _quantile(ordered, 0.75))
            rel = self.iqr / self.median
            if rel >= _IQR_WARN:
                why = ("This suggests significant environmental influence." if rel >= _IQR_GROSS_WARN
                       else "This could indicate system fluctuation.")
                self._warnings = (f"  WARNING: Interquartile range is {rel * 100:.1f}% of the median "
                                  f"measurement.\n           {why}",)
        return self._stats

    @property
    def median(self) -> float:
        return self._computed()[1]

    @property
    def mean(self) -> float:
        return self._computed()[2]

    @property
    def iqr(self) -> float:
        stats = self._computed()
        return stats[4] - stats[3]

    @property
    def significant_figures(self) -> int:
        """A rough precision estimate (1 to 4) from the spread of the middle half of the runs."""
        ordered = self._computed()[0]
        n = len(ordered)
        middle = np.asarray(ordered[n // 4:math.ceil(3 * n / 4)], dtype=np.float64)
        interval = max(1.645 * float(middle.std()) / math.sqrt(len(middle)), _MIN_CONFIDENCE_INTERVAL)
        figures = math.floor(math.log10(self.median / interval))
        return min(max(figures, 1), _MAX_SIGFIGS)

    @property
    def has_warnings(self) -> bool:
        self._computed()
        return bool(self._warnings)

    def meets_confidence(self, threshold: float = _IQR_WARN) -> bool:
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str | None:
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self) -> str:
        ordered, median, _, p25, p75 = self._computed()
        n = len(ordered)
        unit, scale = select_unit(median)
        lines = [object.__repr__(self), self.task_spec.summarize(),
                 f"  {'Median: ' if n > 1 else ''}{median / scale:.2f} {unit}"]
        if n >= 4:
            lines.append(f"  IQR:    {(p75 - p25) / scale:.2f} {unit} ({p25 / scale:.2f} to {p75 / scale:.2f})")
        threads = f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        runs = "per measurement," if n > 1 else ","
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs {runs} {threads}")
        lines.extend(self._warnings)
        return "\n".join(lines).strip()

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """One Measurement per task (``number_per_run=1``, metadata dropped), replicates' times pooled."""
        pooled: dict[TaskSpec, list[float]] = {}
        for m in measurements:
            pooled.setdefault(m.task_spec, []).extend(m.times)
        return [Measurement(number_per_run=1, raw_times=times, task_spec=spec) for spec, times in pooled.items()]


def select_unit(t: float) -> tuple[str, float]:
    """The unit (ns, us, ms or s) that shows ``t`` seconds with a few leading digits, and its scale."""
    unit = _UNITS.get(int(math.log10(t) // 3), "s") if t > 0 else "ns"
    return unit, _SCALES[unit]


def unit_to_english(u: str) -> str:
    return _ENGLISH[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (3.14159, 2 -> 3.1)."""
    if n != int(n):
        raise AssertionError("Number of significant figures must be an integer")
    step = 10.0 ** (math.ceil(math.log10(abs(x))) - n)
    return float(round(x / step) * step)


def ordered_unique(elements: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    import disttorch

    before = disttorch.get_num_threads()
    try:
        disttorch.set_num_threads(n)
        yield
    finally:
        disttorch.set_num_threads(before)

