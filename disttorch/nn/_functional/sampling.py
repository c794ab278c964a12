"""affine_grid and grid_sample (2D: bilinear / nearest, padding zeros / border / reflection).

Built from differentiable ops (floor, clamp, gather, products), so gradients reach both the input and
the sampling grid, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

_from_array = Tensor._from_array


def _base(n: int, align_corners: bool, dtype: Any) -> np.ndarray:
    v = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    return (v if align_corners else v * (n - 1) / n).astype(dtype)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    if theta.dtype.is_floating_point is False:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given = size
    size = [int(s) for s in size]
    if len(size) != 4:
        raise NotImplementedError("affine_grid only supports 4D sizes, for 2D affine transformations.")
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {given}. Got "
                         f"{theta.shape}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n, _, h, w = size
    ac = bool(align_corners)
    dt = theta._data.dtype
    xs, ys = np.meshgrid(_base(w, ac, dt), _base(h, ac, dt))
    base = np.stack([xs, ys, np.ones_like(xs)], axis=-1).reshape(1, h * w, 3)
    b = _from_array(theta._backend.asarray(base))
    return b.matmul(theta.transpose(1, 2)).reshape(n, h, w, 2)


def _unnormalize(g: Tensor, n: int, ac: bool) -> Tensor:
    return (g + 1) * ((n - 1) / 2) if ac else ((g + 1) * n - 1) / 2


def _reflect(c: Tensor, lo: float, hi: float) -> Tensor:
    span = hi - lo
    if span <= 0:
        return c * 0
    d = (c - lo).abs()
    flips = (d / span).floor().detach()
    extra = d - flips * span
    odd = (flips.remainder(2) == 1)
    return (span - extra).where(odd, extra) + lo


def _coord(g: Tensor, n: int, ac: bool, padding_mode: str) -> Tensor:
    c = _unnormalize(g, n, ac)
    if padding_mode == "reflection":
        c = _reflect(c, 0.0, float(n - 1)) if ac else _reflect(c, -0.5, n - 0.5)
    if padding_mode in ("border", "reflection"):
        c = c.clamp(0, n - 1)
    return c


@autocast_op("grid_sample")
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" or input.ndim != 4:
        raise NotImplementedError("grid_sample supports 4D input with bilinear or nearest mode only")
    if grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension and the same batch size "
                           f"as input, but got grid with sizes {list(grid.shape)} and input with sizes "
                           f"{list(input.shape)}")
    ac = bool(align_corners)
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    x = _coord(grid[..., 0], w, ac, padding_mode).reshape(n, 1, ho * wo)
    y = _coord(grid[..., 1], h, ac, padding_mode).reshape(n, 1, ho * wo)
    flat = input.reshape(n, c, h * w)

    def tap(ix: Tensor, iy: Tensor) -> Tensor:
        inside = ((ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)).to(input.dtype)
        idx = (iy.clamp(0, h - 1) * w + ix.clamp(0, w - 1)).long().expand(n, c, ho * wo)
        return flat.gather(2, idx) * inside

    if mode == "nearest":
        out = tap(x.detach().round(), y.detach().round())
    else:
        x0, y0 = x.detach().floor(), y.detach().floor()
        wx, wy = x - x0, y - y0
        out = (tap(x0, y0) * ((1 - wx) * (1 - wy)) + tap(x0 + 1, y0) * (wx * (1 - wy))
               + tap(x0, y0 + 1) * ((1 - wx) * wy) + tap(x0 + 1, y0 + 1) * (wx * wy))
    return out.reshape(n, c, ho, wo)
