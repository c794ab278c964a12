"""Statistics of the page-locked host buffers the cupy backend hands out (``torch.cuda.host_memory_stats``).

cupy's pinned pool keeps no counters, so the backend counts here: a buffer is counted when it is handed out
and freed when the last array over it dies. There is no caching in between, so PyTorch's "allocations" (blocks
owned by the allocator) and "active_requests" (blocks checked out) are the same numbers here, as are the two
byte counts. Standard library only."""
from __future__ import annotations

import threading
import time

_KINDS = ("allocations", "allocated_bytes", "active_requests", "active_bytes")
_lock = threading.Lock()
_stats = {kind: {"current": 0, "peak": 0, "allocated": 0, "freed": 0} for kind in _KINDS}
_alloc_time = {"total": 0, "max": 0, "min": 0, "count": 0}


def _add(sign: int, nbytes: int) -> None:
    with _lock:
        for kind, amount in zip(_KINDS, (1, nbytes, 1, nbytes)):
            stat = _stats[kind]
            stat["current"] += sign * amount
            stat["allocated" if sign > 0 else "freed"] += amount
            stat["peak"] = max(stat["peak"], stat["current"])


def allocated(nbytes: int, started: float) -> None:
    """One buffer of ``nbytes`` handed out; its allocation began at ``started`` (``time.perf_counter()``)."""
    micros = int((time.perf_counter() - started) * 1e6)
    _add(1, nbytes)
    with _lock:
        t = _alloc_time
        t["min"] = micros if t["count"] == 0 else min(t["min"], micros)
        t["max"], t["total"], t["count"] = max(t["max"], micros), t["total"] + micros, t["count"] + 1


def freed(nbytes: int) -> None:
    _add(-1, nbytes)


def nested() -> dict:
    """PyTorch's nested layout: ``{"allocations": {"current": ...}, ..., "num_host_alloc": n, ...}``."""
    with _lock:
        out: dict = {kind: dict(stat) for kind, stat in _stats.items()}
        t = dict(_alloc_time)
    out["num_host_alloc"] = out["allocations"]["allocated"]
    out["num_host_free"] = out["allocations"]["freed"]
    out["host_alloc_time"] = {**t, "avg": t["total"] // t["count"] if t["count"] else 0}
    return out


def reset_peak() -> None:
    with _lock:
        for stat in _stats.values():
            stat["peak"] = stat["current"]


def reset_accumulated() -> None:
    with _lock:
        for stat in _stats.values():
            stat["allocated"] = stat["freed"] = 0
        _alloc_time.update(total=0, max=0, min=0, count=0)
