"""Fractional max pooling (Graham 2014): windows of ``kernel_size`` whose starts follow a pseudo-random
sequence, one draw in [0, 1) per (sample, channel, spatial dim) (``_random_samples``), so that the output
size may be any size between the input's and input / kernel. The windows' maxima are gathered from the input,
so the gradient flows back to the positions that won (ties: the first in scan order; NaN wins)."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._ops.random import rand
from disttorch._tensor import Tensor
from disttorch.backends import array_module

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
           "fractional_max_pool3d_with_indices"]


def _tuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _starts(sample: Any, in_size: int, out_size: int, pool: int) -> Any:
    """Window starts, (..., out_size), computed in the samples' dtype as ATen does."""
    xp = array_module(sample)
    dt = sample.dtype
    i = xp.arange(out_size, dtype=dt)
    if out_size > 1:
        alpha = dt.type(in_size - pool) / dt.type(out_size - 1)
        seq = (xp.floor((i + sample[..., None]) * alpha) - xp.floor(sample[..., None] * alpha)).astype(np.int64)
    else:
        seq = xp.zeros(sample.shape + (out_size,), dtype=np.int64)
    seq[..., -1] = in_size - pool
    return seq


def _pool(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any, samples: Tensor | None,
          nd: int) -> tuple:
    name = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    batched = input.dim() == nd + 2
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    x = input if batched else input.unsqueeze(0)
    spatial = tuple(x.shape[2:])
    kernel = _tuple(kernel_size, nd)
    if output_size is None:
        ratio = _tuple(output_ratio, nd)
        output_size = [int(s * r) for s, r in zip(spatial, ratio)]
    out = _tuple(output_size, nd)
    for s, k, o, what in zip(spatial, kernel, out, ("time", "height", "width")[-nd:]):
        if o + k - 1 > s:
            raise RuntimeError(f"{name}_out(): pool {what} {k} too large relative to input {what} {s} and output "
                               f"{what} {o}")
    N, C = x.shape[0], x.shape[1]
    if samples is None:
        samples = rand(N, C, nd, dtype=input.dtype, device=input.device)
    elif tuple(samples.shape) != (N, C, nd):
        raise RuntimeError(f"{name}(): Expect _random_samples of shape {[N, C, nd]}, got {list(samples.shape)}")
    u = samples._data
    xp = array_module(u)
    # ATen's draws: 2-d takes sample 0 for the width and 1 for the height; 3-d takes 0, 1, 2 for T, H, W
    order = [nd - 1 - d for d in range(nd)] if nd == 2 else list(range(nd))
    seqs = [_starts(u[..., order[d]], spatial[d], out[d], kernel[d]) for d in range(nd)]
    # flat index of every window element: (N, C, *out, *kernel)
    flat = xp.zeros((N, C) + out + kernel, dtype=np.int64)
    stride = 1
    for d in range(nd - 1, -1, -1):
        pos = seqs[d][..., :, None] + xp.arange(kernel[d])  # (N, C, out_d, k_d)
        shape = [N, C] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = out[d], kernel[d]
        flat = flat + pos.reshape(shape) * stride
        stride *= spatial[d]
    plane = x._data.reshape(N, C, -1)
    windows = xp.take_along_axis(plane, flat.reshape(N, C, -1), axis=2).reshape((N, C) + out + (-1,))
    best = windows.argmax(axis=-1)
    indices = xp.take_along_axis(flat.reshape((N, C) + out + (-1,)), best[..., None], axis=-1)[..., 0]
    idx_t = Tensor._from_array(indices)
    values = x.flatten(2).gather(2, idx_t.flatten(2)).reshape((N, C) + out)
    if not batched:
        values, idx_t = values.squeeze(0), idx_t.squeeze(0)
    return values, idx_t


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """(output, indices): indices are flat positions within each H x W plane."""
    return _pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    out = _pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return out if return_indices else out[0]


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """(output, indices): indices are flat positions within each T x H x W volume."""
    return _pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Tensor | None = None) -> Any:
    out = _pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return out if return_indices else out[0]
