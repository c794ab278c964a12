"""Collectives on picklable Python objects (through the host communicator; not for the hot path)."""
from __future__ import annotations

from typing import Any

from .process_group import _group, _group_rank


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
