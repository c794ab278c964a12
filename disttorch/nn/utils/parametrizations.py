"""torch.nn.utils.parametrizations: weight_norm (weight = g * v / ||v||, stored as original0 = g,
original1 = v)."""
from __future__ import annotations

from disttorch._tensor import Tensor
from disttorch.nn.modules.module import Module
from disttorch.nn.utils import parametrize
from disttorch.nn.utils._weight_norm_math import norm_except_dim

__all__ = ["weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


