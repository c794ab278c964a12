"""Max / average / adaptive pooling over 1, 2 or 3 spatial dims.

Inputs of any leading shape are flattened to (B, *spatial); windows are strided views of the
padded input and reductions loop over the kernel offsets (few), never over pixels or batch.
Each Op's backward is its adjoint Op, whose backward is the first again (double backward works).
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd import graph as _graph
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from ._args import int_tuple

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices"]

_from_array = Tensor._from_array
_grad_enabled = _graph._grad_enabled


# -- scatter / gather of flat positions: the adjoint pair behind every max pooling's gradient ------------
class FlatScatter(Op):
    """out (shape ``in_shape``) with grad summed in at flat positions ``index`` (same shape as grad)."""

    unique = False  # whether ``index`` holds no position twice

    def forward(self, g: Any) -> Any:
        size = math.prod(self.in_shape)
        self.g_shape = g.shape
        if self.unique and g.dtype.kind == "f":
            out = array_module(g).zeros(size, g.dtype)
            out[self.index.reshape(-1)] = (g + 0).reshape(-1)  # + 0: a -0.0 gradient lands as 0 + -0.0 = 0.0
            return out.reshape(self.in_shape)
        return backend_for_array(g).kernels["flat_index_add"](size, self.index, g, g.dtype).reshape(self.in_shape)

    def backward(self, grad: Tensor) -> Tensor:
        return FlatGather.apply(grad, index=self.index, out_shape=self.g_shape)

    def name(self) -> str:
        return self.label


class FlatGather(Op):
    def forward(self, h: Any) -> Any:
        self.in_shape = h.shape
        return h.reshape(-1)[self.index].reshape(self.out_shape)

    def backward(self, grad: Tensor) -> Tensor:
        return FlatScatter.apply(grad, index=self.index, in_shape=self.in_shape, label="FlatScatterBackward0")


# -- shapes and checks -------------------------------------------------------------------------------------
def _tuple(value: Any, nd: int, name: str) -> tuple:
    return int_tuple(value, nd, lambda got: f"{name} must either be a single int, or a tuple of {nd} ints")


def _pool_args(kernel_size: Any, stride: Any, padding: Any, dilation: Any, nd: int, fn: str) -> tuple:
    kernel = _tuple(kernel_size, nd, f"{fn}: kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _tuple(stride, nd, f"{fn}: stride")
    return kernel, stride, _tuple(padding, nd, f"{fn}: padding"), _tuple(dilation, nd, f"{fn}: dilation")


def _check_input(input: Tensor, nd: int, fn: str) -> None:
    if input.ndim not in (nd + 1, nd + 2) or any(s == 0 for s in input.shape[-nd - 1:]):
        if nd == 1:
            raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                               f"input, but got:{list(input.shape)}")
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")


def _out_shape(input: Tensor, kernel: tuple, stride: tuple, pad: tuple, dil: tuple, ceil: bool) -> tuple:
    nd = len(kernel)
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got " + _kv(("kH", "kW"), kernel))
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(d <= 0 for d in dil):
        raise RuntimeError("dilation should be greater than zero, but got " + _kv(("dilationH", "dilationW"), dil))
    for k, p, d in zip(kernel, pad, dil):
        if p < 0 or p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}"
                               f" and dilation={d}")
    sp = input.shape[-nd:]
    out = []
    for n, k, s, p, d in zip(sp, kernel, stride, pad, dil):
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
        if ceil and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    if any(o < 1 for o in out):
        c = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + tuple(sp)))}). Calculated output size: "
                           f"({'x'.join(map(str, [c] + out))}). Output size is too small")
    return tuple(out)


def _kv(names: tuple, values: tuple) -> str:
    return " ".join(f"{n}: {v}" for n, v in zip(names[-len(values):], values))


def _pad_hi(sp: tuple, out: tuple, kernel: tuple, stride: tuple, pad: tuple, dil: tuple) -> tuple:
    """Padding needed after the input so every (ceil-mode) window lies inside the padded array."""
    return tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p) for n, o, k, s, p, d in
                 zip(sp, out, kernel, stride, pad, dil))


def _lowest(dtype: Any) -> Any:
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _window_max(v: Any, nd: int, need_arg: bool = True) -> tuple[Any, Any]:
    """Max and (flat, within-window) argmax of v (B, *out, *kernel), a small unsigned integer array; ties go to
    the first maximum and a NaN wins (the last one), as in PyTorch."""
    xp = array_module(v)
    kernel = v.shape[v.ndim - nd:]
    offsets = [(Ellipsis,) + o for o in itertools.product(*(range(k) for k in kernel))]
    best = v[offsets[0]].copy()
    for o in offsets[1:]:
        xp.maximum(best, v[o], out=best)
    if not need_arg:
        return best, None
    # the first maximum's offset = how many leading offsets do not hold the maximum (no branchy where)
    missing = v[offsets[0]] != best
    arg = missing.astype(np.uint8 if len(offsets) < 256 else np.int64)
    for o in offsets[1:-1]:
        missing &= v[o] != best
        arg += missing
    if v.dtype.kind == "f":
        nan = best != best
        # a NaN window's argmax is its last NaN. On the host, a pass that finds no NaN skips the fix; on a
        # device the fix always runs (asking whether any window holds a NaN would wait for the device)
        if xp is not np or nan.any():
            for j, o in enumerate(offsets):
                cand = v[o]
                xp.copyto(arg, j, where=nan & (cand != cand))
    return best, arg


def _kernel_offsets(xp: Any, kernel: tuple, dil: tuple, sp: tuple) -> Any:
    """Offset in the flattened input plane of each (flat) kernel position, made on the arrays' device."""
    row = [math.prod(sp[i + 1:]) for i in range(len(sp))]
    j = xp.arange(math.prod(kernel), dtype=np.int64)
    off = xp.zeros(j.shape, dtype=np.int64)
    for i in range(len(kernel)):
        off += j // math.prod(kernel[i + 1:]) % kernel[i] * (dil[i] * row[i])
    return off


class MaxPool(Op):
    nondiff_outputs = (1,)
    want_idx = True  # whether the caller keeps the indices (return_indices); the gradient needs only ``arg``
    # (the per-window argmax, a byte each for small kernels: a quarter of int64 indices' memory and less)

    def forward(self, x: Any) -> tuple[Any, Any]:
        xp, k = array_module(x), backend_for_array(x).kernels
        nd = len(self.kernel)
        sp, lead = x.shape[-nd:], x.shape[:-nd]
        xf = x.reshape((-1,) + sp)
        hi = _pad_hi(sp, self.out, self.kernel, self.stride, self.pad, self.dil)
        xpad = k["pad"](xf, self.pad, hi, _lowest(x.dtype))
        fast = k.get("max_pool2d_2x2") if self.kernel == self.stride == (2, 2) and self.dil == (1, 1) else None
        res = fast(xpad, self.out) if fast is not None else None  # compiled (numba), one pass; None: numpy
        if res is not None:
            best, arg = res[0], res[1] if self.need_arg else None
        else:
            best, arg = _window_max(k["windows"](xpad, self.kernel, self.stride, self.dil, self.out), nd,
                                    self.need_arg)
        if arg is not None and any(self.pad):
            # a window whose maximum is the padding value may have picked a pad slot: PyTorch keeps its first
            # element inside the input (on a device always: asking whether any window does would wait for it)
            low = best == _lowest(x.dtype)
            if xp is not np or low.any():
                xp.copyto(arg, self._first_inside(xp, arg.dtype), where=low)
        out_shape = lead + self.out
        self.arg, self.in_shape = arg, x.shape
        if arg is None or not self.want_idx:
            return best.reshape(out_shape), xp.zeros((), dtype=np.int64)
        return best.reshape(out_shape), self._plane_index().reshape(out_shape)

    def _first_inside(self, xp: Any, dtype: Any) -> Any:
        """(*out) flat within-window offset of each window's first kernel position inside the (unpadded) input."""
        nd = len(self.kernel)
        first = xp.zeros(self.out, dtype=np.int64)
        for i in range(nd):
            start = xp.arange(self.out[i], dtype=np.int64) * self.stride[i] - self.pad[i]
            k = xp.where(start < 0, (-start + self.dil[i] - 1) // self.dil[i], 0) * math.prod(self.kernel[i + 1:])
            first += k.reshape((-1,) + (1,) * (nd - 1 - i))
        return first.astype(dtype)

    def _plane_index(self) -> Any:
        """Flat index of each window's maximum in its (unpadded) input plane: window origin + chosen offset."""
        xp = array_module(self.arg)
        nd = len(self.kernel)
        sp = self.in_shape[-nd:]
        row = [math.prod(sp[i + 1:]) for i in range(nd)]
        idx = xp.take(_kernel_offsets(xp, self.kernel, self.dil, sp), self.arg)
        for i in range(nd):
            pos = xp.arange(self.out[i], dtype=np.int64) * (self.stride[i] * row[i]) - self.pad[i] * row[i]
            idx += pos.reshape((-1,) + (1,) * (nd - 1 - i))
        return idx

    def backward(self, grad: Tensor, _: Any = None) -> Tensor:
        label = f"MaxPool{len(self.kernel)}DWithIndicesBackwardBackward0"
        nd = len(self.kernel)
        if nd == 2 and not _grad_enabled[0]:  # no graph of the backward asked for: the compiled scatter, if any
            g = grad._data
            sp = self.in_shape[-nd:]
            kernel = backend_for_array(g).kernels.get("max_pool2d_backward")
            gx = kernel(g.reshape((-1,) + self.out), self.arg, (self.arg.shape[0],) + sp, self.kernel,
                        self.stride, self.pad, self.dil) if kernel is not None else None
            if gx is not None:
                return _from_array(gx.reshape(self.in_shape))
        idx = self._plane_index()
        plane = math.prod(self.in_shape[-nd:])
        idx += (array_module(idx).arange(idx.shape[0], dtype=np.int64) * plane).reshape((-1,) + (1,) * nd)
        # windows that do not overlap pick distinct inputs (with no padding in front: a window of -inf values
        # could pick a pad slot, whose index is another window's input)
        unique = all(s >= d * (k - 1) + 1 and p == 0 for k, s, d, p in zip(self.kernel, self.stride, self.dil,
                                                                             self.pad))
        return FlatScatter.apply(grad, index=idx, in_shape=self.in_shape, unique=unique, label=label)

    def name(self) -> str:
        return f"MaxPool{len(self.kernel)}DWithIndicesBackward0"


def _max_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,
              return_indices: bool, nd: int, fn: str) -> Any:
    kernel, stride, pad, dil = _pool_args(kernel_size, stride, padding, dilation, nd, fn)
    _check_input(input, nd, fn)
    out = _out_shape(input, kernel, stride, pad, dil, ceil_mode)
    need_arg = return_indices or (input._requires_grad and _grad_enabled[0])
    y, idx = MaxPool.apply(input, kernel=kernel, stride=stride, pad=pad, dil=dil, out=out, need_arg=need_arg,
                           want_idx=return_indices)
    return (y, idx) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1, "max_pool1d")


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2, "max_pool2d")


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> Any:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3, "max_pool3d")


# -- average pooling ---------------------------------------------------------------------------------------
def _divisor(sp: tuple, out: tuple, kernel: tuple, stride: tuple, pad: tuple, include_pad: bool, dtype: Any,
             xp: Any) -> Any:
    """How many elements each window averages (PyTorch's rule, ceil-mode overhang never counts)."""
    div = np.ones((), dtype=np.float64)
    for i, (n, o, k, s, p) in enumerate(zip(sp, out, kernel, stride, pad)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start if include_pad else np.minimum(end, n) - np.maximum(start, 0)
        div = div[..., None] * size if i else size.astype(np.float64)
    return xp.asarray(div.astype(dtype))


class AvgPool(Op):
    """y = window sums / divisor; its adjoint spreads grad / divisor back over each window."""

    def forward(self, x: Any) -> Any:
        k = backend_for_array(x).kernels
        nd = len(self.kernel)
        sp, lead = x.shape[-nd:], x.shape[:-nd]
        self.in_shape = x.shape
        hi = _pad_hi(sp, self.out, self.kernel, self.stride, self.pad, (1,) * nd)
        xpad = k["pad"](x.reshape((-1,) + sp), self.pad, hi)
        acc = None
        for _, sl in k["window_slices"](self.kernel, self.stride, (1,) * nd, self.out):
            slab = xpad[(slice(None),) + sl]
            if acc is None:
                acc = slab.copy()
            else:
                acc += slab
        acc /= self.divisor
        return acc.reshape(lead + self.out)

    def backward(self, grad: Tensor) -> Tensor:
        return AvgPoolAdjoint.apply(grad, kernel=self.kernel, stride=self.stride, pad=self.pad, out=self.out,
                                    divisor=self.divisor, in_shape=self.in_shape)

    def name(self) -> str:
        label = self.__dict__.get("label")  # (adaptive average pooling, as PyTorch names it)
        return label if label is not None else f"AvgPool{len(self.kernel)}DBackward0"


class AvgPoolAdjoint(Op):
    def forward(self, g: Any) -> Any:
        xp, k = array_module(g), backend_for_array(g).kernels
        nd = len(self.kernel)
        sp = self.in_shape[-nd:]
        gd = g.reshape((-1,) + self.out) / self.divisor
        hi = _pad_hi(sp, self.out, self.kernel, self.stride, self.pad, (1,) * nd)
        padded = tuple(n + a + b for n, a, b in zip(sp, self.pad, hi))
        target = xp.zeros((gd.shape[0],) + padded, dtype=g.dtype)
        for _, sl in k["window_slices"](self.kernel, self.stride, (1,) * nd, self.out):
            target[(slice(None),) + sl] += gd
        crop = target[(slice(None),) + tuple(slice(p, p + n) for p, n in zip(self.pad, sp))]
        return xp.ascontiguousarray(crop).reshape(self.in_shape)

    def backward(self, grad: Tensor) -> Tensor:
        return AvgPool.apply(grad, kernel=self.kernel, stride=self.stride, pad=self.pad, out=self.out,
                             divisor=self.divisor)

    def name(self) -> str:
        return f"AvgPool{len(self.kernel)}DBackwardBackward0"


def _avg_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
              divisor_override: int | None, nd: int, fn: str) -> Tensor:
    kernel, stride, pad, _ = _pool_args(kernel_size, stride, padding, 1, nd, fn)
    _check_input(input, nd, fn)
    if not input.is_floating_point():
        raise NotImplementedError(f"\"{fn}\" not implemented for '{str(input.dtype).replace('torch.', '').title()}'")
    out = _out_shape(input, kernel, stride, pad, (1,) * nd, ceil_mode)
    xp = input._xp
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        divisor = xp.asarray(float(divisor_override), dtype=input._data.dtype)
    else:
        divisor = _divisor(input.shape[-nd:], out, kernel, stride, pad, count_include_pad, input._data.dtype, xp)
    return AvgPool.apply(input, kernel=kernel, stride=stride, pad=pad, out=out, divisor=divisor)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d")


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                     "avg_pool3d")


# -- adaptive pooling --------------------------------------------------------------------------------------
def _adaptive_out(input: Tensor, output_size: Any, nd: int, fn: str) -> tuple:
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    sizes = (output_size,) * nd if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) == 1 and nd > 1:
        sizes = sizes * nd
    if len(sizes) != nd:
        raise ValueError(f"{fn}: output_size must be {nd}")
    sp = input.shape[-nd:]
    for i, n in enumerate(sp):
        if n == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {input.ndim - nd + i} being empty")
    return tuple(n if o is None else int(o) for n, o in zip(sp, sizes))


def _bins(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_avg(input: Tensor, output_size: Any, nd: int, fn: str) -> Tensor:
    out = _adaptive_out(input, output_size, nd, fn)
    sp = tuple(input.shape[-nd:])
    if all(n % o == 0 for n, o in zip(sp, out)):  # uniform windows: plain average pooling
        kernel = tuple(n // o for n, o in zip(sp, out))
        divisor = input._xp.asarray(float(math.prod(kernel)), dtype=input._data.dtype)
        label = ("SqueezeBackward1" if nd == 1 else "MeanBackward1" if all(o == 1 for o in out)
                 else f"AdaptiveAvgPool{nd}DBackward0")
        y = AvgPool.apply(input, kernel=kernel, stride=kernel, pad=(0,) * nd, out=out, divisor=divisor, label=label)
    else:  # averaging along each dim is a matrix product with a (out, in) matrix of 1/len bins
        y = input
        for i in range(nd):
            n, o = sp[i], out[i]
            start, end = _bins(n, o)
            mat = np.zeros((o, n))
            for r, (a, b) in enumerate(zip(start, end)):
                mat[r, a:b] = 1.0 / (b - a)
            m = _from_array(input._backend.asarray(mat.T.astype(input._data.dtype)))
            axis = input.ndim - nd + i
            y = y.movedim(axis, -1).matmul(m).movedim(-1, axis)
    return y


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")


class AdaptiveMaxPool(Op):
    nondiff_outputs = (1,)

    def forward(self, x: Any) -> tuple[Any, Any]:
        xp, k = array_module(x), backend_for_array(x).kernels
        nd = len(self.out)
        sp, lead = x.shape[-nd:], x.shape[:-nd]
        xf = x.reshape((-1,) + sp)
        xpad = k["pad"](xf, (0,) * nd, (1,) * nd, _lowest(x.dtype))  # one trailing slot for short windows
        # gather every (variable-length) window into a fixed (out, kmax) grid; short ones point at the pad
        grids = []
        for n, o in zip(sp, self.out):
            start, end = _bins(n, o)
            kmax = int((end - start).max())
            pos = start[:, None] + np.arange(kmax)[None, :]
            grids.append(np.where(pos < end[:, None], pos, n))
        index = np.ix_(*[g.reshape(-1) for g in grids])
        gathered = xpad[(slice(None),) + tuple(xp.asarray(i) for i in index)]
        # (B, o0*k0, o1*k1, ...) -> (B, o0, ..., k0, ...)
        shape = (gathered.shape[0],) + tuple(x for g in grids for x in g.shape)
        perm = (0,) + tuple(1 + 2 * i for i in range(nd)) + tuple(2 + 2 * i for i in range(nd))
        v = gathered.reshape(shape).transpose(perm)
        best, arg = _window_max(v, nd)
        row = [math.prod(sp[i + 1:]) for i in range(nd)]
        table = 0
        for i, g in enumerate(grids):  # flat input position of every (out, kernel) grid cell
            shape_i = [1] * (2 * nd)
            shape_i[i], shape_i[nd + i] = g.shape
            table = table + (np.minimum(g, sp[i] - 1) * row[i]).reshape(shape_i)
        table = xp.asarray(table.reshape(math.prod(self.out), -1))
        flat_out = xp.arange(math.prod(self.out))
        idx = table[flat_out, arg.reshape(arg.shape[0], -1)].reshape(arg.shape)
        plane = math.prod(sp)
        self.flat = idx + (xp.arange(idx.shape[0], dtype=np.int64) * plane).reshape((-1,) + (1,) * nd)
        self.in_shape = x.shape
        return best.reshape(lead + self.out), idx.reshape(lead + self.out)

    def backward(self, grad: Tensor, _: Any = None) -> Tensor:
        return FlatScatter.apply(grad, index=self.flat, in_shape=self.in_shape,
                                 label=f"AdaptiveMaxPool{len(self.out)}DBackwardBackward0")

    def name(self) -> str:
        return f"AdaptiveMaxPool{len(self.out)}DBackward0"


def _adaptive_max(input: Tensor, output_size: Any, return_indices: bool, nd: int, fn: str) -> Any:
    out = _adaptive_out(input, output_size, nd, fn)
    y, idx = AdaptiveMaxPool.apply(input, out=out)
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = True) -> Any:
    return _adaptive_max(input, output_size, True, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any, return_indices: bool = True) -> Any:
    return _adaptive_max(input, output_size, True, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any, return_indices: bool = True) -> Any:
    return _adaptive_max(input, output_size, True, 3, "adaptive_max_pool3d")
