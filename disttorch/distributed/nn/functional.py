"""Differentiable, out-of-place collectives (``torch.distributed.nn.functional``).

Each call runs the plain collective from ``disttorch.distributed`` on a fresh tensor and records a graph node
whose backward is the adjoint collective: all_reduce <-> all_reduce (same op, as PyTorch does), broadcast <->
reduce to the root, scatter <-> gather, all_gather <-> reduce_scatter (sum of every rank's slice),
all_to_all <-> all_to_all with the shapes swapped. Backwards are themselves these Functions, so they are
differentiable again.
"""
from __future__ import annotations

import warnings
from typing import Any

import disttorch as torch
from disttorch import distributed as dist
from disttorch.autograd import Function
from disttorch.distributed import ReduceOp

__all__ = ["all_gather", "all_reduce", "all_to_all", "all_to_all_single", "broadcast", "gather", "reduce",
           "reduce_scatter", "scatter"]


def _deprecated(name: str, instead: str) -> None:
    # PyTorch marks the names that have a torch.distributed._functional_collectives counterpart.
    warnings.warn(f"torch.distributed.nn.functional.{name} is deprecated, use {instead} instead.",
                  FutureWarning, stacklevel=3)


def broadcast(tensor: Any, src: int, group: Any = None) -> Any:
    """A copy of ``tensor`` from rank ``src`` on every rank; its gradient is summed back to ``src``."""
    _deprecated("broadcast", "torch.distributed._functional_collectives.broadcast")
    return _Broadcast.apply(src, group, tensor)


def gather(tensor: Any, dst: int = 0, group: Any = None) -> tuple:
    """Every rank's ``tensor`` on rank ``dst`` (zeros elsewhere), one tensor per rank."""
    return _Gather.apply(dst, group, tensor)


def scatter(tensors: list, src: int = 0, group: Any = None) -> Any:
    """Rank r's piece of ``tensors`` from rank ``src``; every rank passes a list of the pieces' shape."""
    return _Scatter.apply(src, group, *tensors)


def reduce(tensor: Any, dst: int, op: Any = ReduceOp.SUM, group: Any = None) -> Any:
    """The reduction over ranks on ``dst``; other ranks get an unspecified copy (their input, as PyTorch)."""
    return _Reduce.apply(dst, op, group, tensor)


def reduce_scatter(output: Any, input_list: list, op: Any = ReduceOp.SUM, group: Any = None) -> Any:
    """Reduce ``input_list[r]`` over ranks into ``output`` on rank r, and return it."""
    _deprecated("reduce_scatter", "torch.distributed._functional_collectives.reduce_scatter_single")
    return _Reduce_Scatter.apply(op, group, output, *input_list)


def all_gather(tensor: Any, group: Any = None) -> tuple:
    """Every rank's ``tensor``, one new tensor per rank."""
    _deprecated("all_gather", "torch.distributed._functional_collectives.all_gather_single")
    return _AllGather.apply(group, tensor)


def all_to_all(output_tensor_list: list, input_tensor_list: list, group: Any = None) -> tuple:
    """``input_tensor_list[j]`` goes to rank j; returns ``output_tensor_list`` filled from every rank."""
    return _AlltoAll.apply(group, output_tensor_list, *input_tensor_list)


def all_to_all_single(output: Any, input: Any, output_split_sizes: list | None = None,
                      input_split_sizes: list | None = None, group: Any = None) -> Any:
    """``dist.all_to_all_single`` into ``output``, returned; the backward swaps the split sizes."""
    _deprecated("all_to_all_single", "torch.distributed._functional_collectives.all_to_all_single")
    return _AlltoAllSingle.apply(group, output, output_split_sizes, input_split_sizes, input)


def all_reduce(tensor: Any, op: Any = ReduceOp.SUM, group: Any = None) -> Any:
    """The reduction of ``tensor`` over ranks, as a new tensor on every rank."""
    _deprecated("all_reduce", "torch.distributed._functional_collectives.all_reduce")
    return _AllReduce.apply(op, group, tensor)


class _Broadcast(Function):
    @staticmethod
    def forward(ctx, src, group, tensor):
        ctx.src, ctx.group, ctx.rank = src, group, dist.get_rank(group)
        out = tensor.clone()
        dist.broadcast(out, src, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = _Reduce.apply(ctx.src, ReduceOp.SUM, ctx.group, grad)
        if ctx.rank != ctx.src:  # only the root's input reached the other ranks
            gx = gx * 0
        return None, None, gx


class _Gather(Function):
    @staticmethod
    def forward(ctx, dst, group, tensor):
        ctx.dst, ctx.group = dst, group
        rows = [torch.zeros_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.gather(tensor.contiguous(), rows if dist.get_rank(group) == dst else None, dst, group=group)
        return tuple(rows)

    @staticmethod
    def backward(ctx, *grads):
        return None, None, _Scatter.apply(ctx.dst, ctx.group, *grads)


class _Scatter(Function):
    @staticmethod
    def forward(ctx, src, group, *tensors):
        ctx.src, ctx.group = src, group
        if any(t.shape != tensors[0].shape for t in tensors):
            raise AssertionError
        out = torch.zeros_like(tensors[0])
        dist.scatter(out, list(tensors) if dist.get_rank(group) == src else None, src, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        return (None, None, *_Gather.apply(ctx.src, ctx.group, grad))


class _Reduce(Function):
    @staticmethod
    def forward(ctx, dst, op, group, tensor):
        ctx.dst, ctx.group = dst, group
        out = tensor.clone()
        dist.reduce(out, dst, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        return None, None, None, _Broadcast.apply(ctx.dst, ctx.group, grad)


class _Reduce_Scatter(Function):  # noqa: N801 - PyTorch's name, shown by grad_fn
    @staticmethod
    def forward(ctx, op, group, output, *inputs):
        ctx.group = group
        dist.reduce_scatter(output, [t.contiguous() for t in inputs], op=op, group=group)
        return output

    @staticmethod
    def backward(ctx, grad):
        return (None, None, None, *_AllGather.apply(ctx.group, grad))


class _AllGather(Function):
    @staticmethod
    def forward(ctx, group, tensor):
        ctx.group = group
        rows = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.all_gather(rows, tensor.contiguous(), group=group)
        return tuple(rows)

    @staticmethod
    def backward(ctx, *grads):
        # rank r's input gets the sum over ranks of their gradient for row r
        if dist.get_backend(ctx.group) == dist.Backend.NCCL:
            out = torch.empty_like(grads[dist.get_rank(ctx.group)])
            return None, _Reduce_Scatter.apply(ReduceOp.SUM, ctx.group, out, *grads)
        pieces = _AlltoAll.apply(ctx.group, [torch.empty_like(g) for g in grads], *grads)
        return None, torch.stack(pieces).sum(0)


class _AlltoAll(Function):
    @staticmethod
    def forward(ctx, group, outputs, *inputs):
        ctx.group = group
        ctx.shapes = [t.shape for t in inputs]
        dist.all_to_all(outputs, [t.contiguous() for t in inputs], group=group)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        back = [torch.empty(s, dtype=grads[0].dtype, device=grads[0].device) for s in ctx.shapes]
        return (None, None, *_AlltoAll.apply(ctx.group, back, *grads))


class _AlltoAllSingle(Function):
    @staticmethod
    def forward(ctx, group, output, output_split_sizes, input_split_sizes, input):
        ctx.group, ctx.shape = group, input.shape
        ctx.splits = (input_split_sizes, output_split_sizes)  # the backward's (output, input) splits
        dist.all_to_all_single(output, input, output_split_sizes=output_split_sizes,
                               input_split_sizes=input_split_sizes, group=group)
        return output

    @staticmethod
    def backward(ctx, grad):
        back = torch.empty(ctx.shape, dtype=grad.dtype, device=grad.device)
        gx = _AlltoAllSingle.apply(ctx.group, back, *ctx.splits, grad.contiguous())
        return None, None, None, None, gx


class _AllReduce(Function):
    @staticmethod
    def forward(ctx, op, group, tensor):
        ctx.op, ctx.group = op, group
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        # PyTorch reuses the forward's op here (right for SUM, which is what it is meant for)
        return None, None, _AllReduce.apply(ctx.op, ctx.group, grad)
