"""affine_grid and grid_sample (2-d and 3-d: bilinear (trilinear) / nearest, 2-d bicubic; padding zeros /
border / reflection).

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
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {given}. Got "
                             f"{theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {given}. Got "
                             f"{theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transformations, respectively. Got size {given}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n, spatial = size[0], size[2:]
    ac = bool(align_corners)
    dt = theta._data.dtype
    # coordinates in x (last dim), y, z order, then the homogeneous 1
    axes = np.meshgrid(*[_base(k, ac, dt) for k in spatial], indexing="ij")
    base = np.stack(list(axes[::-1]) + [np.ones_like(axes[0])], axis=-1).reshape(1, -1, len(spatial) + 1)
    b = _from_array(theta._backend.asarray(base))
    return b.matmul(theta.transpose(1, 2)).reshape(n, *spatial, len(spatial))


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


def _pad(c: Tensor, n: int, ac: bool, padding_mode: str) -> Tensor:
    """Coordinates moved inside the input as border / reflection padding does (zeros: unchanged)."""
    if padding_mode == "reflection":
        c = _reflect(c, 0.0, float(n - 1)) if ac else _reflect(c, -0.5, n - 0.5)
    if padding_mode in ("border", "reflection"):
        c = c.clamp(0, n - 1)
    return c


def _coord(g: Tensor, n: int, ac: bool, padding_mode: str) -> Tensor:
    return _pad(_unnormalize(g, n, ac), n, ac, padding_mode)


def _cubic_weights(t: Tensor) -> list:
    """Keys' cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 for a fraction t."""
    A = -0.75

    def near(x: Tensor) -> Tensor:  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


@autocast_op("grid_sample")
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    nd = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != nd or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension and the same batch "
                           f"size as input, but got grid with sizes {list(grid.shape)} and input with sizes "
                           f"{list(input.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    ac = bool(align_corners)
    n, c = input.shape[:2]
    sizes = list(input.shape[2:])
    out_spatial = list(grid.shape[1:-1])
    m = int(np.prod(out_spatial))
    flat = input.reshape(n, c, -1)
    strides = [int(np.prod(sizes[d + 1:])) for d in range(nd)]

    def tap(idx: list) -> Tensor:
        """input at integer coordinates ``idx`` (one per spatial dim, first dim first), 0 outside."""
        inside = None
        pos = None
        for d, i in enumerate(idx):
            ok = (i >= 0) & (i <= sizes[d] - 1)
            inside = ok if inside is None else inside & ok
            term = i.clamp(0, sizes[d] - 1) * strides[d]
            pos = term if pos is None else pos + term
        return flat.gather(2, pos.long().expand(n, c, m)) * inside.to(input.dtype)

    # grid component nd - 1 - d addresses spatial dim d (x is the last dim)
    raw = [grid[..., nd - 1 - d].reshape(n, 1, m) for d in range(nd)]
    if mode == "bicubic":
        u = [_unnormalize(g, sizes[d], ac) for d, g in enumerate(raw)]
        base = [v.detach().floor() for v in u]
        wts = [_cubic_weights(v - b) for v, b in zip(u, base)]
        out = None
        for i in range(4):
            for j in range(4):
                iy = _pad(base[0] - 1 + i, sizes[0], ac, padding_mode).detach()
                ix = _pad(base[1] - 1 + j, sizes[1], ac, padding_mode).detach()
                term = tap([iy, ix]) * (wts[0][i] * wts[1][j])
                out = term if out is None else out + term
        return out.reshape(n, c, *out_spatial)
    coords = [_coord(g, sizes[d], ac, padding_mode) for d, g in enumerate(raw)]
    if mode == "nearest":
        out = tap([v.detach().round() for v in coords])
        if grid.requires_grad:  # PyTorch's grid gradient of nearest sampling: zeros
            out = out + (grid * 0).sum()
    else:
        lows = [v.detach().floor() for v in coords]
        fracs = [v - lo for v, lo in zip(coords, lows)]
        out = None
        for corner in range(2 ** nd):
            bits = [(corner >> (nd - 1 - d)) & 1 for d in range(nd)]
            weight = None
            for d, bit in enumerate(bits):
                w = fracs[d] if bit else 1 - fracs[d]
                weight = w if weight is None else weight * w
            term = tap([lo + bit for lo, bit in zip(lows, bits)]) * weight
            out = term if out is None else out + term
    return out.reshape(n, c, *out_spatial)
