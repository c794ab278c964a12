"""The communicator interface: collectives over raw arrays (numpy or cupy), never Tensors.

Every collective works in place where PyTorch's does (all_reduce, broadcast, ...) and returns a
``Work`` when called with ``async_op=True`` (otherwise it completes before returning and returns
None). Implementations: ``mpi.MPICommunicator`` (mpi4py), ``nccl.NCCLCommunicator``
(cupy.cuda.nccl), ``single.SingleCommunicator`` (world of 1, no MPI).
"""
from __future__ import annotations

import enum
from typing import Any, Sequence


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class CollectiveError(RuntimeError):
    """A collective failed: mismatched arguments across ranks, a timeout, or a transport error."""


class Work:
    """Handle of an asynchronous collective."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (raise CollectiveError after ``timeout`` seconds); returns True."""
        raise NotImplementedError

    def is_completed(self) -> bool:
        raise NotImplementedError

    def result(self) -> Any:
        return None


class CompletedWork(Work):
    """A Work that is already done (for blocking implementations)."""

    def __init__(self, result: Any = None) -> None:
        self._result = result

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def result(self) -> Any:
        return self._result


class Communicator:
    """A group of ranks. ``rank``/``size`` are within this group."""

    rank: int
    size: int
    name: str = ""

    # reductions
    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        """``inputs`` holds size equal chunks along axis 0 (one array of shape (size, *output.shape))."""
        raise NotImplementedError

    # data movement
    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        """``output`` has shape (size, *array.shape)."""
        raise NotImplementedError

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        raise NotImplementedError

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        """Returns the source rank."""
        raise NotImplementedError

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        raise NotImplementedError

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        raise NotImplementedError

    def barrier(self, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    # objects (pickled; not for the hot path)
    def broadcast_object(self, obj: Any, root: int) -> Any:
        raise NotImplementedError

    def all_gather_object(self, obj: Any) -> list:
        raise NotImplementedError

    # groups
    def split(self, ranks: Sequence[int]) -> Communicator | None:
        """A communicator over ``ranks`` (None on ranks not in it). Collective over this group."""
        raise NotImplementedError

    def abort(self, code: int = 1) -> None:
        raise NotImplementedError
