"""``torch.multiprocessing``: Python's multiprocessing, plus PyTorch's ``spawn`` / ``start_processes``.

Tensors pass between processes by pickling (their data is copied; ``share_memory_`` is not needed for
correctness). ``spawn(fn, args, nprocs)`` runs ``fn(i, *args)`` in ``nprocs`` processes; when one raises,
the others are stopped and the parent raises ``ProcessRaisedException`` with the child's traceback.
"""
from multiprocessing import *  # noqa: F403 (PyTorch's module re-exports Python's)
from multiprocessing import get_all_start_methods, get_context, get_start_method, set_start_method  # noqa: F401

from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

_sharing = ["file_system"]


def get_all_sharing_strategies() -> set:
    return {"file_descriptor", "file_system"}


def get_sharing_strategy() -> str:
    return _sharing[0]


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"invalid sharing strategy {new_strategy!r}")
    _sharing[0] = new_strategy
