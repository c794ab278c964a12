"""PyTorch's default DDP communication hooks: average the bucket in its own dtype, or through float16 /
bfloat16 (half the bytes on the wire)."""
from __future__ import annotations

from typing import Any

import disttorch
import disttorch.distributed as dist

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"]


def _group_size(process_group: Any) -> tuple[Any, int]:
    group = process_group if process_group is not None else dist.group.WORLD
    return group, dist.get_world_size(group)


def allreduce_hook(process_group: Any, bucket: Any) -> Any:
    """What DDP does without a hook: the bucket divided by the group's size, all-reduced."""
    group, size = _group_size(process_group)
    tensor = bucket.buffer()
    tensor.div_(size)
    return dist.all_reduce(tensor, group=group, async_op=True).get_future().then(lambda fut: fut.value()[0])


def _compress_hook(dtype: Any, process_group: Any, bucket: Any) -> Any:
    group, size = _group_size(process_group)
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(size)
    fut = dist.all_reduce(compressed, group=group, async_op=True).get_future()

    def decompress(fut: Any) -> Any:
        buffer.copy_(fut.value()[0])
        return buffer

    return fut.then(decompress)


def fp16_compress_hook(process_group: Any, bucket: Any) -> Any:
    """The bucket sent as float16 (divided by the group's size first), then cast back into the bucket."""
    return _compress_hook(disttorch.float16, process_group, bucket)


def bf16_compress_hook(process_group: Any, bucket: Any) -> Any:
    """As :func:`fp16_compress_hook`, through bfloat16."""
    return _compress_hook(disttorch.bfloat16, process_group, bucket)
