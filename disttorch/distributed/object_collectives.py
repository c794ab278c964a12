"""Collectives on picklable Python objects (through the host communicator; not for the hot path)."""
from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from .process_group import _group, _group_rank

# tags of send_object_list's two messages, apart from the small tags programs use for their tensors
_SIZES_TAG, _BYTES_TAG = 0x5E17, 0x5E18


def broadcast_object_list(object_list: list[Any], src: int | None = None, group: Any = None, device: Any = None,
                          group_src: int | None = None) -> None:
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, default=0)
    received = pg.comm.broadcast_object(list(object_list) if pg.rank() == root else None, root)
    if pg.rank() != root:
        object_list[:] = received
    return None


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    pg = _group(group, "all_gather_object")
    if pg is None:
        return None
    for i, o in enumerate(pg.comm.all_gather_object(obj)):
        object_list[i] = o
    return None


def gather_object(obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None,
                  group: Any = None, group_dst: int | None = None) -> None:
    pg = _group(group, "gather_object")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, default=0)
    if pg.rank() == root and not object_gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if pg.rank() != root and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    gathered = pg.comm.gather_object(obj, root)
    if pg.rank() == root:
        for i, o in enumerate(gathered):  # type: ignore[arg-type]
            object_gather_list[i] = o  # type: ignore[index]
    return None


def scatter_object_list(scatter_object_output_list: list[Any], scatter_object_input_list: list[Any] | None = None,
                        src: int | None = None, group: Any = None, group_src: int | None = None) -> None:
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return None
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    root = _group_rank(pg, src, group_src, default=0)
    if pg.rank() == root and (scatter_object_input_list is None or len(scatter_object_input_list) != pg.size()):
        raise ValueError(f"scatter_object_list: the source rank needs a list of {pg.size()} objects")
    scatter_object_output_list[0] = pg.comm.scatter_object(
        scatter_object_input_list if pg.rank() == root else None, root)
    return None


def send_object_list(object_list: list[Any], dst: int | None = None, group: Any = None, device: Any = None,
                     group_dst: int | None = None) -> None:
    """Send picklable objects to one peer: their pickled sizes first, then the bytes, as two messages."""
    pg = _group(group, "send_object_list")
    if pg is None:
        return None
    peer = _group_rank(pg, dst, group_dst)
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same as the rank of the "
                         "current process.")
    blobs = [pickle.dumps(o) for o in object_list]
    pg.comm.send(np.array([len(b) for b in blobs], dtype=np.int64), peer, _SIZES_TAG)
    pg.comm.send(np.frombuffer(b"".join(blobs), dtype=np.uint8).copy(), peer, _BYTES_TAG)
    return None


def recv_object_list(object_list: list[Any], src: int | None = None, group: Any = None, device: Any = None,
                     group_src: int | None = None) -> int:
    """Receive ``len(object_list)`` objects sent by send_object_list into ``object_list``; returns the sender's
    global rank (-1 on a rank outside ``group``)."""
    pg = _group(group, "recv_object_list")
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else _group_rank(pg, src, group_src)
    sizes = np.zeros(len(object_list), dtype=np.int64)
    sender = pg.comm.recv(sizes, peer, _SIZES_TAG)
    payload = np.empty(int(sizes.sum()), dtype=np.uint8)
    pg.comm.recv(payload, sender, _BYTES_TAG)
    offset = 0
    for i, size in enumerate(sizes.tolist()):
        object_list[i] = pickle.loads(payload[offset:offset + size].tobytes())
        offset += size
    return pg.ranks[sender]
