"""Broadcasting in backward: the one helper that reduces a gradient back to its input's shape."""
from __future__ import annotations

from typing import Any, Sequence

from disttorch.backends import array_module

from .graph import Op


def sum_to(g: Any, shape: Sequence[int]) -> Any:
    """Reduce a broadcast gradient Tensor back to ``shape`` (sum over the broadcast dimensions)."""
    shape = tuple(shape)
    gshape = g._data.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ValueError("cannot sum to more dimensions")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and gshape[lead + i] != 1:
            axes.append(lead + i)
        elif s != gshape[lead + i] and s != 1:
            raise ValueError(f"shape {list(gshape)} can't be summed to {list(shape)}")
    return SumTo.apply(g, axes=tuple(axes), shape=shape)


class SumTo(Op):
    def forward(self, g: Any) -> Any:
        self.in_shape = g.shape
        return g.sum(axis=self.axes).reshape(self.shape) if self.axes else g.reshape(self.shape)

    def backward(self, grad: Any) -> Any:
        return BroadcastTo.apply(grad, shape=self.in_shape)


class BroadcastTo(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return array_module(x).broadcast_to(x, self.shape)

    def backward(self, grad: Any) -> Any:
        return sum_to(grad, self.in_shape)
