"""torch.cuda.profiler: start and stop the CUDA profiler's collection (``cudaProfilerStart`` / ``Stop``), for
Nsight Systems runs with ``--capture-range=cudaProfilerApi``, through ``cupy.cuda.profiler``."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from . import _common

__all__ = ["start", "stop", "profile"]


def _profiler() -> Any:
    _common.require()
    prof = _common.backend().cuda_module("profiler")
    if prof is None:
        raise RuntimeError("the CUDA profiler API is not available: this cupy has no cupy.cuda.profiler")
    return prof


def start() -> None:
    """Start the CUDA profiler's data collection."""
    _profiler().start()


def stop() -> None:
    """Stop the CUDA profiler's data collection."""
    _profiler().stop()


@contextlib.contextmanager
def profile() -> Iterator[None]:
    """Collect inside the block: ``with torch.cuda.profiler.profile(): model(x)``."""
    try:
        start()
        yield
    finally:
        stop()
