"""torch.cuda's memory statistics over cupy's default memory pool.

``allocated`` is the pool's ``used_bytes()`` (memory held by live arrays), ``reserved`` its ``total_bytes()``
(used plus cached free blocks). cupy keeps no peak counter and disttorch has no allocation path of its own,
so the peaks are sampled: every call here that reads the pool (``memory_allocated``, ``memory_stats``,
``max_memory_allocated``...) raises the recorded peak to the current value. A peak reached and released
between two such calls is not seen."""
from __future__ import annotations

import collections
from typing import Any

from disttorch._runtime_objects import OutOfMemoryError

from . import _common

__all__ = ["OutOfMemoryError", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "max_memory_reserved", "memory_cached", "max_memory_cached", "reset_peak_memory_stats",
           "reset_max_memory_allocated", "reset_max_memory_cached", "reset_accumulated_memory_stats",
           "memory_stats", "memory_stats_as_nested_dict", "memory_summary",
           "mem_get_info", "empty_cache", "set_per_process_memory_fraction",
           "get_per_process_memory_fraction", "host_memory_stats", "host_memory_stats_as_nested_dict",
           "reset_accumulated_host_memory_stats", "reset_peak_host_memory_stats"]

_peaks: dict[int, list[int]] = {}  # device index -> [peak allocated, peak reserved]


def _available() -> bool:
    return _common.backend().device_count() > 0


def _sample(index: int) -> tuple[int, int]:
    """(allocated, reserved) now on device ``index``, raising the recorded peaks."""
    cp = _common.backend().xp
    with cp.cuda.Device(index):
        pool = cp.get_default_memory_pool()
        used, total = int(pool.used_bytes()), int(pool.total_bytes())
    peak = _peaks.setdefault(index, [0, 0])
    peak[0], peak[1] = max(peak[0], used), max(peak[1], total)
    return used, total


def memory_stats(device: Any = None) -> dict[str, int]:
    """The statistics PyTorch's caching allocator reports that cupy's pool can answer (empty without cuda)."""
    if not _available():
        return collections.OrderedDict()
    index = _common.index(device)
    used, total = _sample(index)
    peak_used, peak_total = _peaks[index]
    stats = {"allocated_bytes.all.current": used, "allocated_bytes.all.peak": peak_used,
             "active_bytes.all.current": used, "active_bytes.all.peak": peak_used,
             "reserved_bytes.all.current": total, "reserved_bytes.all.peak": peak_total,
             "inactive_split_bytes.all.current": total - used,
             "num_alloc_retries": 0, "num_ooms": 0}
    return collections.OrderedDict(sorted(stats.items()))


def memory_stats_as_nested_dict(device: Any = None) -> dict[str, Any]:
    """``memory_stats`` with its dotted keys as nested dicts (``["allocated_bytes"]["all"]["current"]``)."""
    nested: dict[str, Any] = {}
    for key, value in memory_stats(device).items():
        *path, last = key.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def host_memory_stats_as_nested_dict() -> dict[str, Any]:
    """The pinned host buffers' statistics (backends/pinned_stats.py), nested; empty without cuda, as PyTorch's
    before cuda is initialised."""
    if not _available():
        return {}
    from disttorch.backends import pinned_stats

    return pinned_stats.nested()


def host_memory_stats() -> dict[str, Any]:
    """``host_memory_stats_as_nested_dict`` with dotted keys, sorted (``"allocated_bytes.current"``...)."""
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            flat.append((prefix, node))

    walk("", host_memory_stats_as_nested_dict())
    return collections.OrderedDict(sorted(flat))


def reset_accumulated_host_memory_stats() -> None:
    """Zero the "allocated"/"freed" counts and the allocation times of the pinned host buffers."""
    from disttorch.backends import pinned_stats

    pinned_stats.reset_accumulated()


def reset_peak_host_memory_stats() -> None:
    """Start the pinned host buffers' peaks again from their current values."""
    from disttorch.backends import pinned_stats

    pinned_stats.reset_peak()


def memory_allocated(device: Any = None) -> int:
    return memory_stats(device).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device: Any = None) -> int:
    return memory_stats(device).get("allocated_bytes.all.peak", 0)


def memory_reserved(device: Any = None) -> int:
    return memory_stats(device).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device: Any = None) -> int:
    return memory_stats(device).get("reserved_bytes.all.peak", 0)


def _deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(f"`torch.cuda.{old}` has been renamed to `torch.cuda.{new}`", FutureWarning, stacklevel=3)


def memory_cached(device: Any = None) -> int:
    _deprecated("memory_cached", "memory_reserved")
    return memory_reserved(device)


def max_memory_cached(device: Any = None) -> int:
    _deprecated("max_memory_cached", "max_memory_reserved")
    return max_memory_reserved(device)


def reset_peak_memory_stats(device: Any = None) -> None:
    """Start the peaks again from the current values (nothing to reset without cuda)."""
    if _available():
        index = _common.index(device)
        _peaks.pop(index, None)
        _sample(index)


def reset_max_memory_allocated(device: Any = None) -> None:
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device: Any = None) -> None:
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device: Any = None) -> None:
    """Nothing accumulates here: cupy's pool keeps no allocation or retry counts."""


def _fmt(n: int) -> str:
    for unit in ("B  ", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B  " else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    """A table of the current and peak allocated and reserved memory of the device."""
    stats = memory_stats(device)
    rows = [("Allocated memory", "allocated_bytes"), ("Active memory", "active_bytes"),
            ("GPU reserved memory", "reserved_bytes")]
    line = "|" + "-" * 62 + "|"
    title = f"cupy memory pool summary, device {_common.index(device) if stats else '-'}"
    out = [line, f"| {title:<60} |", line,
           f"| {'Metric':<30}| {'Cur Usage':>13} | {'Peak Usage':>13} |", line]
    for label, key in rows:
        out.append(f"| {label:<30}| {_fmt(stats[key + '.all.current']):>13} | "
                   f"{_fmt(stats[key + '.all.peak']):>13} |")
    out += [line, f"| {'Allocation retries':<30}| {stats['num_alloc_retries']:>13} | {'':>13} |", line]
    return "\n".join(out) + "\n"


def mem_get_info(device: Any = None) -> tuple[int, int]:
    """(free, total) bytes of the device, as the CUDA runtime reports them."""
    cp = _common.cupy()
    with cp.cuda.Device(_common.index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def empty_cache() -> None:
    """Return the pool's cached free blocks to the device (``reserved`` falls to ``allocated``)."""
    if _available():
        _common.backend().xp.get_default_memory_pool().free_all_blocks()


def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
    """Limit the pool of the device to ``fraction`` of its memory; a larger allocation raises cupy's
    ``OutOfMemoryError``."""
    cp = _common.cupy()
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cp.cuda.Device(_common.index(device)):
        cp.get_default_memory_pool().set_limit(fraction=fraction)


def get_per_process_memory_fraction(device: Any = None) -> float:
    cp = _common.cupy()
    with cp.cuda.Device(_common.index(device)):
        limit = int(cp.get_default_memory_pool().get_limit())
        total = int(cp.cuda.runtime.memGetInfo()[1])
    return 1.0 if limit == 0 else limit / total
