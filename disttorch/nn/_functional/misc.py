"""pad, interpolate, one_hot, normalize, cosine_similarity, pairwise_distance.

Non-constant padding and interpolation are one linear op, ``Resample``: along each resampled axis
the output is a weighted sum of one or two taps ``x[idx]`` (nearest / reflect / replicate / circular
take one tap with weight 1, linear modes two). Its backward is the adjoint op (scatter-add of the
weighted gradient), whose own backward is ``Resample`` again, so higher-order gradients work.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor, _wrap_dim
from disttorch.autograd.graph import Op
from disttorch.backends import array_module
from disttorch.backends.registry import device_of

_from_array = Tensor._from_array

__all__ = ["pad", "one_hot", "normalize", "cosine_similarity", "pairwise_distance", "interpolate", "upsample",
           "upsample_nearest", "upsample_bilinear"]


# -- per-axis resampling ----------------------------------------------------------------------------------
class _Axis:
    """Resampling of one axis: ``out[j] = sum_k w_k[j] * x[idx_k[j]]`` (w None: weight 1)."""

    def __init__(self, axis: int, n_in: int, taps: list[tuple[np.ndarray, np.ndarray | None]]) -> None:
        self.axis, self.n_in, self.taps = axis, n_in, taps
        self._rounds: list | None = None

    def rounds(self, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split tap k's output positions into groups whose source indices are distinct, so that a
        scatter-add is a few plain fancy-index additions."""
        if self._rounds is None:
            self._rounds = []
            for idx, _ in self.taps:
                order = np.argsort(idx, kind="stable")
                s = idx[order]
                first = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
                rank = np.arange(s.size) - np.repeat(first, np.diff(np.r_[first, s.size]))
                self._rounds.append([(s[rank == r], order[rank == r]) for r in range(int(rank.max()) + 1)]
                                    if s.size else [])
        return self._rounds[k]


def _bshape(n: int, axis: int, ndim: int) -> list[int]:
    return [n if i == axis else 1 for i in range(ndim)]


def _resample(x: Any, axes: Sequence[_Axis]) -> Any:
    xp = array_module(x)
    for ax in axes:
        out = None
        for idx, w in ax.taps:
            v = xp.take(x, xp.asarray(idx), axis=ax.axis)
            if w is not None:
                v = v * xp.asarray(w, x.dtype).reshape(_bshape(w.size, ax.axis, x.ndim))
            out = v if out is None else out + v
        x = out
    return x


def _resample_adjoint(g: Any, axes: Sequence[_Axis]) -> Any:
    xp = array_module(g)
    for ax in reversed(axes):
        shape = list(g.shape)
        shape[ax.axis] = ax.n_in
        out = xp.zeros(shape, g.dtype)
        om = xp.moveaxis(out, ax.axis, 0)
        for k, (_, w) in enumerate(ax.taps):
            v = g if w is None else g * xp.asarray(w, g.dtype).reshape(_bshape(w.size, ax.axis, g.ndim))
            vm = xp.moveaxis(v, ax.axis, 0)
            for dst, src in ax.rounds(k):
                om[xp.asarray(dst)] += vm[xp.asarray(src)]
        g = out
    return g


class Resample(Op):
    def forward(self, x: Any) -> Any:
        return _resample(x, self.axes)

    def backward(self, grad: Tensor) -> Tensor:
        return ResampleAdjoint.apply(grad, axes=self.axes)

    def name(self) -> str:
        return self.node_name


class ResampleAdjoint(Op):
    def forward(self, g: Any) -> Any:
        return _resample_adjoint(g, self.axes)

    def backward(self, grad: Tensor) -> Tensor:
        return Resample.apply(grad, axes=self.axes, node_name="ResampleBackward0")


# -- pad -----------------------------------------------------------------------------------------------------
class ConstantPad(Op):
    """Pad (or, for negative amounts, crop) each axis; ``pads`` holds (before, after) per axis."""

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, self.pads))
        if any(s < 0 for s in shape):
            raise RuntimeError("narrow(): length must be non-negative.")
        out = xp.full(shape, self.value, dtype=x.dtype)
        src = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, self.pads))
        dst = tuple(slice(max(a, 0), s - max(b, 0)) for s, (a, b) in zip(shape, self.pads))
        if all(d.stop > d.start for d in dst):
            out[dst] = x[src]
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return ConstantPad.apply(grad, pads=tuple((-a, -b) for a, b in self.pads), value=0)

    def name(self) -> str:
        return "ConstantPadNdBackward0"


_PAD_HELP = ("Supported combinations for non-constant padding:\n"
             "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
             "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
             "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pad_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    j = np.arange(-before, n + after)
    if mode == "reflect":
        j = np.abs(j)
        return np.where(j > n - 1, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    s, e = max(-before, 0), n - max(-after, 0)  # circular: wrap around what is left after cropping
    return s + (np.arange(-max(before, 0), e - s + max(after, 0)) % (e - s))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    pad = [int(p) for p in pad]
    nd = input._data.ndim
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {nd}")
    per_axis = {nd - 1 - i: (pad[2 * i], pad[2 * i + 1]) for i in range(k)}
    if mode == "constant":
        pads = tuple(per_axis.get(i, (0, 0)) for i in range(nd))
        return ConstantPad.apply(input, pads=pads, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {nd}D input tensor.\n{_PAD_HELP}")
    shape = input._data.shape
    axes = []
    for i in range(k):
        ax = nd - 1 - i
        a, b = per_axis[ax]
        n = shape[ax]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {ax} of input {list(shape)}")
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n + a + b < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        axes.append(_Axis(ax, n, [(_pad_index(mode, n, a, b), None)]))
    kind = {"reflect": "ReflectionPad", "replicate": "ReplicationPad", "circular": "CircularPad"}[mode]
    return Resample.apply(input, axes=axes, node_name=f"{kind}{k}DBackward0")


# -- interpolate ------------------------------------------------------------------------------------------------
def _scale(n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any) -> Any:
    if align_corners:
        return dtype.type((n_in - 1) / (n_out - 1) if n_out > 1 else 0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _nearest_taps(n_in: int, n_out: int, scale: float | None, exact: bool) -> np.ndarray:
    j = np.arange(n_out)
    if not exact and n_out == n_in:
        return j
    if not exact and n_out == 2 * n_in:
        return j >> 1
    s = _scale(n_in, n_out, scale, False, np.dtype(np.float32))
    src = (j.astype(np.float32) + np.float32(0.5)) * s if exact else j.astype(np.float32) * s
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _linear_taps(n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any) -> list:
    j = np.arange(n_out)
    if n_in == n_out:
        return [(j, None)]
    s = _scale(n_in, n_out, scale, align_corners, dtype)
    jj = j.astype(dtype)
    src = s * jj if align_corners else np.maximum(s * (jj + dtype.type(0.5)) - dtype.type(0.5), 0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    lam1 = np.clip(src - i0, 0, 1).astype(dtype)
    return [(i0, (1 - lam1).astype(dtype)), (i1, lam1)]


def _cubic_taps(n_in: int, n_out: int, scale: float | None, align_corners: bool, dtype: Any) -> list:
    """Four taps per output (Keys' cubic convolution, A = -0.75), source indices clamped to the edge."""
    j = np.arange(n_out).astype(dtype)
    s = _scale(n_in, n_out, scale, align_corners, dtype)
    src = s * j if align_corners else s * (j + dtype.type(0.5)) - dtype.type(0.5)
    base = np.floor(src)
    t = (src - base).astype(dtype)
    a = dtype.type(-0.75)

    def near(x: Any) -> Any:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    b = base.astype(np.int64)
    return [(np.clip(b + k - 1, 0, n_in - 1), w.astype(dtype)) for k, w in enumerate(weights)]


_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    nd = input._data.ndim
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = nd - 2
    spatial = list(input._data.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {spatial} and output size of {size}. Please provide "
                                 "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                                 "format.")
            out_size = [int(s) for s in size]
        else:
            out_size = [int(size)] * dim
        scales: list | None = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {spatial} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out_size = [int(math.floor(float(n) * s)) for n, s in zip(spatial, scales)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor is not None and recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor:
        scales = None
    if antialias:
        raise NotImplementedError("antialias=True is not supported")
    if mode == "area":
        if nd not in (3, 4, 5):
            raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {nd}D) for the "
                                      "modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                      f"nearest-exact (got {mode})")
        from . import pooling
        return [pooling.adaptive_avg_pool1d, pooling.adaptive_avg_pool2d,
                pooling.adaptive_avg_pool3d][dim - 1](input, out_size)
    if mode in _LINEAR:
        if nd != _LINEAR[mode]:
            raise NotImplementedError(f"Got {nd}D input, but {mode} mode needs {_LINEAR[mode]}D input")
    elif mode not in ("nearest", "nearest-exact") or nd not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {nd}D) for the "
                                  "modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    axes = []
    dtype = input._data.dtype if input._data.dtype.kind == "f" else np.dtype(np.float32)
    for i, (n_in, n_out) in enumerate(zip(spatial, out_size)):
        sc = scales[i] if scales is not None else None
        if mode == "bicubic":
            taps = _cubic_taps(n_in, n_out, sc, bool(align_corners), dtype)
        elif mode in _LINEAR:
            taps = _linear_taps(n_in, n_out, sc, bool(align_corners), dtype)
        else:
            taps = [(_nearest_taps(n_in, n_out, sc, mode == "nearest-exact"), None)]
        axes.append(_Axis(2 + i, n_in, taps))
    kind = {"nearest": "UpsampleNearest", "nearest-exact": "UpsampleNearestExact", "linear": "UpsampleLinear",
            "bilinear": "UpsampleBilinear", "trilinear": "UpsampleTrilinear",
            "bicubic": "UpsampleBicubic"}[mode]
    return Resample.apply(input, axes=axes, node_name=f"{kind}{dim}DBackward0")


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- one_hot, normalize, distances -------------------------------------------------------------------------------
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    x = tensor._data
    if x.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    with device_of(x):  # on the input's device, current or not
        return _one_hot(x, num_classes)


def _one_hot(x: Any, num_classes: int) -> Tensor:
    xp = array_module(x)
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    if x.size:  # checks as truth values: on meta arrays (no values) they find nothing wrong
        if bool((x < 0).any()):
            raise RuntimeError("Class values must be non-negative.")
        if bool((x >= num_classes).any()):
            raise RuntimeError("Class values must be smaller than num_classes.")
    return _from_array((x[..., None] == xp.arange(num_classes)).astype(np.int64))


@autocast_op("normalize")
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        out._data = result._data.copy()
        out._vc[0] += 1
        return out
    return result


@autocast_op("cosine_similarity")
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    from disttorch._ops.shape import broadcast_tensors

    a, b = broadcast_tensors(x1, x2) if x1.shape != x2.shape else (x1, x2)
    d = _wrap_dim(dim, a._data.ndim)
    na = a.norm(2, d, keepdim=True).clamp_min(eps)
    nb = b.norm(2, d, keepdim=True).clamp_min(eps)
    return ((a / na) * (b / nb)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    nd = max(x1.dim(), x2.dim())
    y = (x1 - x2 + eps).norm(p, nd - 1, keepdim=keepdim)
    if y._grad_fn is not None and y._grad_fn.name() == "LinalgVectorNormBackward0":
        y._grad_fn.label = "NormBackward1"  # PyTorch computes it with torch.norm's older overload
    return y
