"""Small torch.distributed settings and queries: debug level, default timeout, backend availability."""
from __future__ import annotations

import enum
import os
from datetime import timedelta
from typing import Any

from disttorch.collectives.base import ReduceOp
from disttorch.collectives.registry import communicator_available

from .process_group import _state

default_pg_timeout = timedelta(minutes=30)


class DebugLevel(enum.IntEnum):
    """TORCH_DISTRIBUTED_DEBUG's levels."""

    OFF = 0
    INFO = 1
    DETAIL = 2


_debug = [DebugLevel.OFF]


def get_debug_level() -> DebugLevel:
    return _debug[0]


def set_debug_level(level: DebugLevel) -> None:
    _debug[0] = DebugLevel(level)


def set_debug_level_from_env() -> None:
    """Read TORCH_DISTRIBUTED_DEBUG (OFF, INFO or DETAIL)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError(f"The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL, but is {value!r}.")
    _debug[0] = DebugLevel[value]


def is_backend_available(backend: str) -> bool:
    """Whether ``init_process_group(backend)`` can run here (gloo is served by MPI or by one process)."""
    name = str(backend).lower()
    if name == "gloo":
        return True
    if name in ("mpi", "nccl"):
        return communicator_available(name)
    return False


def get_default_backend_for_device(device: Any) -> str:
    kind = str(getattr(device, "type", device)).split(":")[0]
    if kind == "cpu":
        return "gloo"
    if kind == "cuda":
        return "nccl"
    raise RuntimeError(f"Default backend not registered for device : {kind}")


def get_pg_count() -> int:
    """How many process groups exist (the default group included)."""
    return 0 if _state.default is None else 1 + len(_state.groups)


def supports_complex(reduceOp: ReduceOp) -> bool:  # noqa: N803 (torch's argument name)
    """Whether a reduction is defined on complex numbers (MAX, MIN, the bitwise ops are not)."""
    return reduceOp not in (ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT, ReduceOp.BAND, ReduceOp.BOR,
                            ReduceOp.BXOR)
