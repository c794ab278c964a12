"""Dropout family: elementwise, channel-wise (1d/2d/3d) and alpha dropout.

Masks come from disttorch's default generator of the input's device, so ``disttorch.manual_seed``
makes them reproducible. Each is one node: y = x * mask (+ shift for alpha dropout).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from disttorch._ops.random import _generator_for
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

_from_array = Tensor._from_array
_ALPHA = 1.7580993408473766  # SELU's alpha * scale: alpha dropout sets dropped units to -_ALPHA


class MaskedScale(Op):
    """y = x * mask (+ shift); mask and shift are constant arrays broadcast against x."""

    def forward(self, x: Any) -> Any:
        y = x * self.mask
        if self.shift is not None:
            y += self.shift
        return y

    def backward(self, grad: Tensor) -> Tensor:
        return grad * _from_array(self.mask)

    def name(self) -> str:
        return "AddBackward0" if self.shift is not None else "MulBackward0"


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep(input: Tensor, shape: tuple, p: float) -> Any:
    """A 0/1 array of ``shape`` in the input's dtype: 1 with probability 1 - p."""
    dt = input._data.dtype
    rng = _generator_for(input.device, None)
    u = rng.random(shape, dtype=dt if dt in (np.float32, np.float64) else np.float64)
    return (u < 1.0 - p).astype(dt, copy=False)


def _apply(input: Tensor, p: float, training: bool, inplace: bool, shape: tuple, alpha: bool) -> Tensor:
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    with input._backend.device_guard(input.device.index):  # the mask is drawn on the input's device
        mask, shift = _mask(input, p, shape, alpha)
    if inplace:
        return input._apply_inplace(lambda t: MaskedScale.apply(t, mask=mask, shift=shift))
    return MaskedScale.apply(input, mask=mask, shift=shift)


def _mask(input: Tensor, p: float, shape: tuple, alpha: bool) -> tuple[Any, Any]:
    xp = input._xp
    dt = input._data.dtype
    shift = None
    if p == 1:
        mask = xp.zeros((), dtype=dt)
    else:
        keep = _keep(input, shape, p)
        if alpha:
            a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
            shift = ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p).astype(dt, copy=False)
            mask = keep * dt.type(a)
        else:
            mask = keep * dt.type(1.0 / (1.0 - p))
    return mask, shift


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    return _apply(input, p, training, inplace, tuple(input.shape), False)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return _apply(input, p, training, inplace, tuple(input.shape), True)


def _feature_shape(input: Tensor, batched: bool) -> tuple:
    """One mask entry per (sample, channel): the spatial dims broadcast."""
    lead = 2 if batched else 1
    return tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)


def _spatial_note(n: int) -> str:
    return (f"Note that dropout{n}d exists to provide channel-wise dropout on inputs with {n} spatial "
            f"dimension{'s' if n > 1 else ''}, a channel dimension, and an optional batch dimension (i.e. {n + 1}D or "
            f"{n + 2}D inputs).")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. "
                           + _spatial_note(1))
    return _apply(input, p, training, inplace, _feature_shape(input, input.ndim == 3), False)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. " + _spatial_note(2), stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    return _apply(input, p, training, inplace, _feature_shape(input, input.ndim >= 2), False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. " + _spatial_note(3), stacklevel=2)
    batched = input.ndim != 4
    return _apply(input, p, training, inplace, _feature_shape(input, batched and input.ndim >= 2), False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return _apply(input, p, training, inplace, _feature_shape(input, input.ndim >= 2), True)
