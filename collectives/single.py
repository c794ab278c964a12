"""A world of one process: every collective is a local copy (or nothing); no MPI needed."""
from __future__ import annotations

import os
from typing import Any, Sequence

from .base import CollectiveError, Communicator, CompletedWork, ReduceOp, Work, check_reduce


def _done(async_op: bool) -> Work | None:
    return CompletedWork() if async_op else None


class SingleCommunicator(Communicator):
    """Rank 0 of 1. Works on numpy and cupy arrays alike (only slicing assignment is used)."""

    name = "single"

    def __init__(self, world_rank: int = 0, timeout: float | None = None) -> None:
        self.rank, self.size = 0, 1
        self.world_ranks = (world_rank,)
        self.timeout = timeout

    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        check_reduce(array.dtype, op)
        return _done(async_op)

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        self._check_root(root)
        check_reduce(array.dtype, op)
        return _done(async_op)

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        check_reduce(output.dtype, op)
        output[...] = inputs[0]
        return _done(async_op)

    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._check_root(root)
        return _done(async_op)

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        output[0] = array
        return _done(async_op)

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._check_root(root)
        output[0] = array
        return _done(async_op)

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        self._check_root(root)
        output[...] = inputs[0]
        return _done(async_op)

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        output[...] = inputs
        return _done(async_op)

    def all_to_all_v(self, output: Any, output_splits: Sequence[int], inputs: Any, input_splits: Sequence[int],
                     async_op: bool = False) -> Work | None:
        if list(output_splits) != list(input_splits):
            raise CollectiveError(f"all_to_all: rank 0 sends {list(input_splits)} rows to itself but expects "
                                  f"{list(output_splits)}")
        output[...] = inputs
        return _done(async_op)

    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        raise CollectiveError("send: a world of one process has no other rank to send to")

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        raise CollectiveError("recv: a world of one process has no other rank to receive from")

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        return self.send(array, dst, tag)  # type: ignore[func-returns-value]

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        return self.recv(array, src, tag)  # type: ignore[return-value]

    def barrier(self, async_op: bool = False) -> Work | None:
        return _done(async_op)

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool = False) -> None:
        return None

    def broadcast_object(self, obj: Any, root: int) -> Any:
        self._check_root(root)
        return obj

    def all_gather_object(self, obj: Any) -> list:
        return [obj]

    def gather_object(self, obj: Any, root: int) -> list | None:
        self._check_root(root)
        return [obj]

    def scatter_object(self, objs: Sequence[Any] | None, root: int) -> Any:
        self._check_root(root)
        return objs[0]

    def split(self, ranks: Sequence[int], local: bool = False) -> Communicator | None:
        return SingleCommunicator(self.world_ranks[0], self.timeout) if 0 in ranks else None

    def local_rank(self) -> tuple[int, int]:
        return 0, 1

    def abort(self, code: int = 1) -> None:
        os._exit(code)

    def _check_root(self, root: int) -> None:
        if root != 0:
            raise CollectiveError(f"invalid root rank {root} in a world of one process")
