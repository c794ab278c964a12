"""A process group's collectives on raw arrays (numpy, cupy, a plug-in's), never Tensors.

For code that works on arrays rather than Tensors (DDP's gradient buckets, SyncBatchNorm's statistics):
``comm = GroupCommunicator(group)`` then ``comm.all_reduce(array, ReduceOp.SUM, async_op=True)``,
``comm.poll()``. Each array collective goes to the communicator that the group's dispatch rule
(:meth:`ProcessGroup.communicator_for`) picks for its array; barriers, object collectives and progress go to
the group's host communicator. It has exactly the methods below: any other is an AttributeError.
"""
from __future__ import annotations

from typing import Any, Sequence

from disttorch.collectives.base import Communicator, ObjectsThroughHost, ReduceOp, Work

from .process_group import ProcessGroup, _default_group

__all__ = ["GroupCommunicator"]


class GroupCommunicator(ObjectsThroughHost):
    """The collectives of ``group`` (None: the default group) on raw arrays; ``rank`` and ``size`` are within
    the group. Raises ValueError before ``init_process_group``."""

    __slots__ = ("group", "rank", "size", "world_ranks", "timeout")

    def __init__(self, group: ProcessGroup | None = None) -> None:
        pg = _default_group() if group is None else group
        if not isinstance(pg, ProcessGroup):
            raise ValueError("Invalid process group specified")
        self.group = pg
        self.rank, self.size, self.world_ranks = pg.comm.rank, pg.comm.size, pg.comm.world_ranks
        self.timeout = pg.timeout

    def _for(self, array: Any) -> Communicator:
        return self.group.communicator_for(array)

    @property
    def _host(self) -> Communicator:
        return self.group.comm

    # -- on the communicator for the array -----------------------------------------------------------------
    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        return self._for(array).all_reduce(array, op, async_op)

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        return self._for(array).reduce(array, root, op, async_op)

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        return self._for(output).reduce_scatter(output, inputs, op, async_op)

    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        return self._for(array).broadcast(array, root, async_op)

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        return self._for(array).all_gather(output, array, async_op)

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        return self._for(array).gather(output, array, root, async_op)

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        return self._for(output).scatter(output, inputs, root, async_op)

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        return self._for(inputs).all_to_all(output, inputs, async_op)

    def all_to_all_v(self, output: Any, output_splits: Sequence[int], inputs: Any, input_splits: Sequence[int],
                     async_op: bool = False) -> Work | None:
        return self._for(inputs).all_to_all_v(output, output_splits, inputs, input_splits, async_op)

    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        self.group.communicator_for(array, p2p=True).send(array, dst, tag)

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        return self.group.communicator_for(array, p2p=True).recv(array, src, tag)

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        return self.group.communicator_for(array, p2p=True).isend(array, dst, tag)

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        return self.group.communicator_for(array, p2p=True).irecv(array, src, tag)

    # -- on the host communicator --------------------------------------------------------------------------
    def barrier(self, async_op: bool = False) -> Work | None:
        return self._host.barrier(async_op)

    def poll(self) -> None:
        """Drive progress of the group's outstanding nonblocking operations (MPI advances them only inside MPI
        calls: call it often during compute)."""
        self._host.poll()

    progress = poll

    def local_rank(self) -> tuple[int, int]:
        return self._host.local_rank()

    def __repr__(self) -> str:
        return f"GroupCommunicator({self.group!r})"


def _get_communicator(group: Any = None) -> GroupCommunicator | None:
    """The :class:`GroupCommunicator` of ``group`` (None: the default group); None on a non-member."""
    pg = _default_group() if group is None else group
    if not isinstance(pg, ProcessGroup):
        return None
    return GroupCommunicator(pg)
