"""Collectives on Tensors (all_reduce, broadcast, gathers, scatters, all-to-all, barriers): each checks its
arguments, picks the communicator for its array (``ProcessGroup.communicator_for``) and writes into the Tensors'
storage, bumping their version counter, with no autograd history (as in PyTorch)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import numpy as np

from disttorch._tensor import Tensor
from disttorch.collectives.base import ReduceOp

from .process_group import _NOT_INITIALIZED, _check_tensor, _group, _group_rank, _member, _op, _seconds, _state
from .work import Work, _done, _in_place


def _copy_rows(targets: list[Tensor], rows: Any) -> Callable[[], None]:
    def post() -> None:
        for i, t in enumerate(targets):
            t._data[...] = rows[i]
            t._vc[0] += 1
    return post


def _empty_like_rows(t: Tensor, n: int) -> Any:
    return t._xp.empty((n, *t._data.shape), t._data.dtype)


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    if not isinstance(tensor, Tensor):
        _check_tensor(tensor, "tensor")
    pg = _state.default if group is None else _group(group, "all_reduce")
    if pg is None:
        if group is None:
            raise ValueError(_NOT_INITIALIZED)
        return None
    if op.__class__ is not ReduceOp:
        op = _op(op)
    arr = tensor._data
    raw = pg.communicator_for(arr).all_reduce(arr, op, async_op)
    tensor._vc[0] += 1  # inline: the hot path of DDP-style code
    return Work(raw, result=[tensor]) if async_op else None


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    pg = _member("broadcast", group, tensor=tensor)
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src)
    arr = tensor._data
    raw = pg.communicator_for(arr).broadcast(arr, root, async_op)
    return _in_place(tensor, raw, async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: Any = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    pg = _member("reduce", group, tensor=tensor)
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst)
    arr = tensor._data
    raw = pg.communicator_for(arr).reduce(arr, root, _op(op), async_op)
    return _in_place(tensor, raw, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False,
               ) -> Work | None:
    pg = _member("all_gather", group, tensor_list=tensor_list, tensor=tensor)
    if pg is None:
        return None
    n = pg.size()
    if len(tensor_list) != n:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {n}, got {len(tensor_list)})")
    _check_rows("all_gather", tensor_list, tensor, show_dtype=True)
    out = _empty_like_rows(tensor, n)
    raw = pg.communicator_for(out).all_gather(out, tensor._data, async_op)
    return _done(raw, async_op, _copy_rows(tensor_list, out), tensor_list)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    pg = _member("all_gather_into_tensor", group, output_tensor=output_tensor, input_tensor=input_tensor)
    if pg is None:
        return None
    n = pg.size()
    inp, out = input_tensor._data, output_tensor._data
    if out.size != n * inp.size or out.dtype != inp.dtype:
        raise ValueError(f"all_gather_into_tensor: output tensor of shape {tuple(out.shape)} and dtype "
                         f"{output_tensor.dtype} must hold world_size ({n}) times the input tensor "
                         f"({tuple(inp.shape)}, {input_tensor.dtype})")
    # stacked (n, *s) and concatenated (n*s0, ...) outputs have the same memory layout
    rows = out.reshape((n, *inp.shape)) if out.flags.c_contiguous else out.ravel().reshape((n, *inp.shape))
    post = None
    if not out.flags.c_contiguous:
        def post() -> None:
            out[...] = rows.reshape(out.shape)
    raw = pg.communicator_for(inp).all_gather(rows, inp, async_op)
    return _in_place(output_tensor, raw, async_op, post)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM, group: Any = None,
                   async_op: bool = False) -> Work | None:
    pg = _member("reduce_scatter", group, output=output, input_list=input_list)
    if pg is None:
        return None
    n = pg.size()
    if len(input_list) != n:
        raise RuntimeError(f"reduce_scatter: invalid input tensor list (expected length {n}, got {len(input_list)})")
    _check_rows("reduce_scatter", input_list, output)
    stacked = output._xp.stack([t._data for t in input_list]) if n else None
    raw = pg.communicator_for(output._data).reduce_scatter(output._data, stacked, _op(op), async_op)
    return _in_place(output, raw, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    pg = _member("reduce_scatter_tensor", group, output=output, input=input)
    if pg is None:
        return None
    n = pg.size()
    out, inp = output._data, input._data
    if inp.size != n * out.size or out.dtype != inp.dtype:
        raise ValueError(f"reduce_scatter_tensor: input tensor of shape {tuple(inp.shape)} must hold world_size "
                         f"({n}) times the output tensor ({tuple(out.shape)}) in the same dtype")
    chunks = inp.reshape((n, *out.shape)) if inp.flags.c_contiguous else inp.ravel().reshape((n, *out.shape))
    raw = pg.communicator_for(out).reduce_scatter(out, chunks, _op(op), async_op)
    return _in_place(output, raw, async_op)


def _check_rows(op: str, tensors: list[Tensor], like: Tensor, show_dtype: bool = False) -> None:
    """Every tensor of a collective's list has ``like``'s shape and dtype (PyTorch's message names the index)."""
    for i, t in enumerate(tensors):
        if t.shape != like.shape or t.dtype != like.dtype:
            expected, got = f"{tuple(like.shape)}", f"{tuple(t.shape)}"
            if show_dtype:
                expected, got = f"{expected} {like.dtype}", f"{got} {t.dtype}"
            raise RuntimeError(f"{op}: invalid tensor size at index {i} (expected {expected}, got {got})")


def _root_list(pg: Any, root: int, tensors: list | None, op: str, role: str) -> bool:
    """PyTorch's checks of gather's and scatter's list: given on the root only, one tensor per rank.
    Returns whether this rank is the root."""
    name = f"{op}_list"
    if pg.rank() != root:
        if tensors:
            raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
        return False
    if not tensors:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    if len(tensors) != pg.size():
        raise RuntimeError(f"{op}: invalid {name} (expected length {pg.size()}, got {len(tensors)})")
    return True


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    # the list is checked only where given (non-root ranks may pass None)
    pg = _member("gather", group, tensor=tensor, gather_list=gather_list or [])
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, default=0)
    out, post = None, None
    if _root_list(pg, root, gather_list, "gather", "destination"):
        n = pg.size()
        out = _empty_like_rows(tensor, n)
        post = _copy_rows(gather_list, out)  # type: ignore[arg-type]
    raw = pg.communicator_for(tensor._data).gather(out, tensor._data, root, async_op)
    return _done(raw, async_op, post, gather_list)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None, group: Any = None,
            async_op: bool = False, group_src: int | None = None) -> Work | None:
    # the list is checked only where given (non-root ranks may pass None)
    pg = _member("scatter", group, tensor=tensor, scatter_list=scatter_list or [])
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, default=0)
    inputs = None
    if _root_list(pg, root, scatter_list, "scatter", "source"):
        _check_rows("scatter", scatter_list, tensor)  # type: ignore[arg-type]
        inputs = tensor._xp.stack([t._data for t in scatter_list])  # type: ignore[union-attr]
    raw = pg.communicator_for(tensor._data).scatter(tensor._data, inputs, root, async_op)
    return _in_place(tensor, raw, async_op)


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group: Any = None,
               async_op: bool = False) -> Work | None:
    pg = _member("all_to_all", group, output_tensor_list=output_tensor_list, input_tensor_list=input_tensor_list)
    if pg is None:
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise RuntimeError(f"all_to_all: tensor lists must have world_size ({n}) entries, got "
                           f"{len(output_tensor_list)} outputs and {len(input_tensor_list)} inputs")
    dtype = input_tensor_list[0]._data.dtype
    if any(t._data.dtype != dtype for t in (*input_tensor_list, *output_tensor_list)):
        raise RuntimeError("all_to_all: all tensors must have the same dtype")
    xp = input_tensor_list[0]._xp
    first = input_tensor_list[0].shape
    if all(t.shape == first for t in (*input_tensor_list, *output_tensor_list)):
        inputs = xp.stack([t._data for t in input_tensor_list])
        out = xp.empty_like(inputs)
        raw = pg.communicator_for(inputs).all_to_all(out, inputs, async_op)
    else:  # uneven sizes: flat buffers with per-rank counts
        inputs = xp.concatenate([t._data.reshape(-1) for t in input_tensor_list])
        osplits = [t.numel() for t in output_tensor_list]
        flat = xp.empty(sum(osplits), dtype)
        raw = pg.communicator_for(inputs).all_to_all_v(flat, osplits, inputs,
                                                       [t.numel() for t in input_tensor_list], async_op)
        offsets = np.cumsum([0, *osplits]).tolist()
        out = [flat[offsets[i]:offsets[i + 1]].reshape(t._data.shape) for i, t in enumerate(output_tensor_list)]
    return _done(raw, async_op, _copy_rows(output_tensor_list, out), output_tensor_list)


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None, group: Any = None,
                      async_op: bool = False) -> Work | None:
    pg = _member("all_to_all_single", group, output=output, input=input)
    if pg is None:
        return None
    n = pg.size()
    out, inp = output._data, input._data
    if out.dtype != inp.dtype:
        raise RuntimeError("all_to_all_single: input and output must have the same dtype")
    comm = pg.communicator_for(inp)
    if not output_split_sizes and not input_split_sizes:
        if inp.ndim == 0 or inp.shape[0] % n or out.shape != inp.shape:
            raise ValueError("Tensor's dim 0 does not divide equally across group size")
        rows = (n, inp.shape[0] // n, *inp.shape[1:])
        src = inp.reshape(rows) if inp.flags.c_contiguous else inp.copy().reshape(rows)
        dst = out.reshape(rows) if out.flags.c_contiguous else output._xp.empty(rows, out.dtype)
        raw = comm.all_to_all(dst, src, async_op)
        post = None
        if not out.flags.c_contiguous:
            def post() -> None:
                out[...] = dst.reshape(out.shape)
    else:
        isplit = list(input_split_sizes) if input_split_sizes else [inp.shape[0] // n] * n
        osplit = list(output_split_sizes) if output_split_sizes else [out.shape[0] // n] * n
        raw = comm.all_to_all_v(out, osplit, inp, isplit, async_op)
        post = None
    return _in_place(output, raw, async_op, post)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None,
            timeout: timedelta | None = None) -> Work | None:
    pg = _group(group, "barrier")
    if pg is None:
        return None
    raw = pg.comm.barrier(async_op)
    return Work(raw) if async_op else None


def monitored_barrier(group: Any = None, timeout: timedelta | None = None, wait_all_ranks: bool = False) -> None:
    """A barrier that fails, on rank 0 naming the ranks that did not arrive, after ``timeout``
    (default: the group's timeout)."""
    pg = _group(group, "monitored_barrier")
    if pg is None:
        return None
    seconds = _seconds(timeout)
    pg.comm.monitored_barrier(pg.timeout if seconds is None else seconds, wait_all_ranks)
    return None
