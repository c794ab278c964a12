"""Point-to-point on Tensors: send, recv, isend, irecv, and batches of them (``P2POp``)."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from .process_group import ProcessGroup, _group_rank, _member
from .work import Work


def _peer(pg: ProcessGroup, global_rank: int | None, group_rank: int | None, kind: str) -> int:
    peer = _group_rank(pg, global_rank, group_rank)
    if peer == pg.rank():
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank of the current "
                         f"process.")
    return peer


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    pg = _member("send", group, tensor=tensor)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "destination")
    pg.communicator_for(tensor._data, p2p=True).send(tensor._data, peer, tag)
    return None


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor``; returns the sender's global rank (-1 on a non-member)."""
    pg = _member("recv", group, tensor=tensor)
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "source")
    source = pg.communicator_for(tensor._data, p2p=True).recv(tensor._data, peer, tag)
    tensor._vc[0] += 1
    return pg.ranks[source]


def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    pg = _member("isend", group, tensor=tensor)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "destination")
    return Work(pg.communicator_for(tensor._data, p2p=True).isend(tensor._data, peer, tag), result=[tensor])


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    pg = _member("irecv", group, tensor=tensor)
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "source")
    raw = pg.communicator_for(tensor._data, p2p=True).irecv(tensor._data, peer, tag)
    tensor._vc[0] += 1

    def source() -> int | None:
        r = raw.result()
        return None if r is None else pg.ranks[r]
    return Work(raw, source=source, result=[tensor])


class P2POp:
    """One send or receive for :func:`batch_isend_irecv`: ``P2POp(dist.isend, tensor, peer)``."""

    def __init__(self, op: Callable, tensor: Tensor, peer: int | None = None, group: Any = None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag, self.group_peer = op, tensor, peer, group, tag, \
            group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every op of the list together. Ops on one communicator start as one batch: under NCCL one
    groupStart/groupEnd, so that a ring where each rank sends before it receives does not deadlock."""
    batches: dict[int, tuple[Any, ProcessGroup, list]] = {}
    order = []
    for p in p2p_op_list:
        if not isinstance(p, P2POp):
            raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                             "``torch.distributed.P2POp``.")
        sending = p.op is isend
        pg = _member("isend" if sending else "irecv", p.group, tensor=p.tensor)
        if pg is None:
            continue
        peer = _peer(pg, p.peer, p.group_peer, "destination" if sending else "source")
        comm = pg.communicator_for(p.tensor._data, p2p=True)
        comm_ops = batches.setdefault(id(comm), (comm, pg, []))[2]
        comm_ops.append((sending, p.tensor, peer, p.tag))
        order.append((id(comm), len(comm_ops) - 1))
    started = {}
    for key, (comm, pg, ops) in batches.items():
        raws = comm.batch_isend_irecv([(s, t._data, peer, tag) for s, t, peer, tag in ops])
        works = []
        for (sending, tensor, peer, _tag), raw in zip(ops, raws):
            if not sending:
                tensor._vc[0] += 1
            works.append(Work(raw, source=(lambda r=pg.ranks[peer]: r), result=[tensor]))
        started[key] = works
    return [started[key][i] for key, i in order]
