"""``cupy.cuda.nccl`` of the stand-in for a world of one (cupy docs, "NCCL": ``NcclCommunicator`` methods take
device pointers, element counts, NCCL dtype and op codes and a stream pointer)."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._core import pointer_view

# cupy sets ``available`` False when it cannot load libnccl; DISTTORCH_FAKE_NO_NCCL=1 imitates that
available = os.environ.get("DISTTORCH_FAKE_NO_NCCL", "") in ("", "0")

NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
NCCL_BFLOAT16 = 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4

_ITEMSIZE = {0: 1, 1: 1, 2: 4, 3: 4, 4: 8, 5: 8, 6: 2, 7: 4, 8: 8, 9: 2}
_GROUP = [0]


class NcclError(RuntimeError):
    pass


def get_version() -> int:
    return 21903


def get_unique_id() -> tuple:
    return tuple(int(b) for b in np.random.default_rng().integers(-128, 128, 128))


_QUEUED: list[tuple[NcclCommunicator, str, int, int, int]] = []  # sends and receives inside a group


def groupStart() -> None:
    _GROUP[0] += 1


def groupEnd() -> None:
    """The outermost groupEnd runs the group's sends, then its receives (NCCL matches them as one)."""
    if _GROUP[0] == 0:
        raise NcclError("NCCL_ERROR_INVALID_USAGE: groupEnd without groupStart")
    _GROUP[0] -= 1
    if _GROUP[0] == 0:
        queued, _QUEUED[:] = list(_QUEUED), []
        for comm, kind, buf, count, datatype in sorted(queued, key=lambda q: q[1] != "send"):
            comm._p2p(kind, buf, count, datatype)


def _copy(src: int, dst: int, count: int, datatype: int) -> None:
    if datatype not in _ITEMSIZE:
        raise NcclError(f"NCCL_ERROR_INVALID_ARGUMENT: unknown datatype {datatype}")
    n = count * _ITEMSIZE[datatype]
    if n and src != dst:
        pointer_view(dst, n)[...] = pointer_view(src, n)


class NcclCommunicator:
    """Rank 0 of 1: every collective copies its input to its output; send and recv to self pair up in a
    group."""

    def __init__(self, ndev: int, commId: Any, rank: int) -> None:
        if ndev != 1 or rank != 0:
            raise NcclError("NCCL_ERROR_INVALID_USAGE: this stand-in has a world of one")
        if not isinstance(commId, tuple) or len(commId) != 128:
            raise NcclError("NCCL_ERROR_INVALID_ARGUMENT: commId must be get_unique_id()'s tuple")
        self._pending: list[tuple[int, int, int]] = []
        self._alive = True

    def _check(self, peer: int | None = None) -> None:
        if not self._alive:
            raise NcclError("NCCL_ERROR_INVALID_USAGE: the communicator was destroyed")
        if peer is not None and peer != 0:
            raise NcclError(f"NCCL_ERROR_INVALID_ARGUMENT: peer {peer} out of range for 1 rank")

    def allReduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int, stream: int) -> None:
        self._check()
        _copy(sendbuf, recvbuf, count, datatype)

    def reduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int, root: int,
               stream: int) -> None:
        self._check(root)
        _copy(sendbuf, recvbuf, count, datatype)

    def bcast(self, buff: int, count: int, datatype: int, root: int, stream: int) -> None:
        self._check(root)

    def broadcast(self, sendbuf: int, recvbuf: int, count: int, datatype: int, root: int, stream: int) -> None:
        self._check(root)
        _copy(sendbuf, recvbuf, count, datatype)

    def allGather(self, sendbuf: int, recvbuf: int, count: int, datatype: int, stream: int) -> None:
        self._check()
        _copy(sendbuf, recvbuf, count, datatype)

    def reduceScatter(self, sendbuf: int, recvbuf: int, recvcount: int, datatype: int, op: int,
                      stream: int) -> None:
        self._check()
        _copy(sendbuf, recvbuf, recvcount, datatype)

    def send(self, sendbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._queue("send", sendbuf, count, datatype, peer)

    def recv(self, recvbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._queue("recv", recvbuf, count, datatype, peer)

    def _queue(self, kind: str, buf: int, count: int, datatype: int, peer: int) -> None:
        self._check(peer)
        if _GROUP[0] == 0:  # NCCL blocks a send until its receive is posted: to self, outside a group, forever
            raise NcclError(f"NCCL_ERROR_INVALID_USAGE: {kind} to/from self outside groupStart/groupEnd would "
                            f"deadlock (this stand-in refuses it)")
        _QUEUED.append((self, kind, buf, count, datatype))

    def _p2p(self, kind: str, buf: int, count: int, datatype: int) -> None:
        if kind == "send":
            self._pending.append((buf, count, datatype))
            return
        if not self._pending:
            raise NcclError("NCCL_ERROR_INVALID_USAGE: recv from self without a matching send in the group")
        src, n, dt = self._pending.pop(0)
        if n != count or dt != datatype:
            raise NcclError("NCCL_ERROR_INVALID_USAGE: send and recv sizes differ")
        _copy(src, buf, count, datatype)

    def check_async_error(self) -> None:
        return None

    def rank_id(self) -> int:
        return 0

    def size(self) -> int:
        return 1

    def device_id(self) -> int:
        return 0

    def abort(self) -> None:
        self._alive = False

    def destroy(self) -> None:
        self._alive = False
