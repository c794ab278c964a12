"""Layers PyTorch keeps from its Lua days: ``CrossMapLRN2d`` and the deprecated ``NLLLoss2d`` (published at
PyTorch's module paths, normalization and loss)."""
from __future__ import annotations

import warnings

from disttorch._ops.creation import zeros
from disttorch._ops.shape import cat
from disttorch._tensor import Tensor
from disttorch.nn.modules.loss import NLLLoss
from disttorch.nn.modules.module import Module

__all__ = ["CrossMapLRN2d", "NLLLoss2d"]


def _cross_map_lrn(input: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
    """x (k + alpha / size * s)^-beta, s the sum of squares over a window of channels read as the Lua
    implementation's running sum does: channels [c - p + 1, c + p - 1] (p = (size - 1) // 2 + 1), clipped to
    the channels there are, and channel 0 kept in every window once it would have slid out."""
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    C = input.shape[1]
    p = int((size - 1) / 2 + 1)
    sq = input * input
    prefix = cat([zeros(input.shape[0], 1, *input.shape[2:], dtype=input.dtype, device=input.device),
                  sq.cumsum(1)], 1)
    sums = []
    for c in range(C):
        upper = min(c + p - 1, C - 1)
        lower = 0 if c <= p else c - p + 1
        s = prefix[:, upper + 1] - prefix[:, lower]
        if c > p:
            s = s + sq[:, 0]
        sums.append(s)
    scale = (cat([s.unsqueeze(1) for s in sums], 1) * (alpha / size) + k)
    return input * scale.pow(-beta)


class CrossMapLRN2d(Module):
    """Local response normalisation across channels of 4-d input (the Lua layer's window)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return _cross_map_lrn(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)


class NLLLoss2d(NLLLoss):
    """Deprecated: ``NLLLoss`` itself (which takes (N, C, H, W) input)."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
