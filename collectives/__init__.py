"""Communicators over raw arrays (numpy or cupy; never Tensors).

``SingleCommunicator`` (a world of one process, no MPI), ``MPICommunicator`` (mpi4py; imported on first
use, since importing mpi4py initialises MPI) and ``NCCLCommunicator`` (cupy.cuda.nccl; imported on first use).
Each is registered by name (``"single"``, ``"mpi"``, ``"nccl"``) in :mod:`.registry`; a new collective backend
is one ``register_communicator(name, factory)`` call.
"""
from typing import Any

from .base import CollectiveError, Communicator, CompletedWork, ReduceOp, Work, check_reduce
from .registry import (
    communicator_available,
    communicator_names,
    get_communicator_factory,
    make_communicator,
    register_communicator,
    unregister_communicator,
)
from .single import SingleCommunicator

__all__ = ["CollectiveError", "Communicator", "CompletedWork", "ReduceOp", "Work", "check_reduce",
           "SingleCommunicator", "MPICommunicator", "NCCLCommunicator", "communicator_available",
           "communicator_names", "get_communicator_factory", "make_communicator", "register_communicator",
           "unregister_communicator"]


def __getattr__(name: str) -> Any:
    if name == "MPICommunicator":
        from .mpi import MPICommunicator

        return MPICommunicator
    if name == "NCCLCommunicator":
        from .nccl import NCCLCommunicator

        return NCCLCommunicator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
