"""disttorch.distributed: torch.distributed over MPI, NCCL, or a single process.

Start ranks with an MPI launcher (``mpiexec -n 4 python train.py``, ``srun python train.py``, or
``disttorchrun``); a script started without one gets a world of one process and needs no MPI.
"""
from disttorch.collectives.base import CollectiveError

from . import config
from .distributed_c10d import *
from .distributed_c10d import __all__ as _c10d_all
from .distributed_c10d import _get_communicator, _get_default_group
from .group_communicator import GroupCommunicator

DistError = DistBackendError = CollectiveError

__all__ = [*_c10d_all, "CollectiveError", "DistError", "DistBackendError", "GroupCommunicator"]
