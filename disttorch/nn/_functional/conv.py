"""Convolutions (1-d, 2-d, 3-d) and transposed convolutions.

Three Ops, each the adjoint of another in one argument, so every derivative of one is again one of
them and gradients of any order work:

- ``ConvForward(x, w, b)``: y = conv(x, w) + b, an im2col copy of the padded input and one matmul; the
  columns are kept for the weight gradient when the weight needs one (they are freed in backward);
- ``ConvInputGrad(gy, w, b)``: its adjoint in x, i.e. the transposed convolution: matmuls and a
  col2im that loops over the kernel offsets only;
- ``ConvWeightGrad(x, gy)``: its adjoint in w: the same columns and one matmul.

Big products use whole-batch columns, (1, groups, C/groups * prod(kernel), N * L): one GEMM per group over
all N * L positions; small ones keep one block of columns per sample (see ``_whole``). No step asks the
device anything (no host sync): non-finite inputs propagate as in PyTorch.

``cfg`` is (stride, dilation, pad_lo, pad_hi, groups); ``out`` is the spatial size an Op produces.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._ops._register import type_word
from disttorch._tensor import Tensor
from disttorch.autograd import graph as _graph
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array, blas_threads

from ._args import int_tuple

_grad_enabled = _graph._grad_enabled

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

def _out_size(sp: tuple, kernel: tuple, cfg: tuple) -> tuple:
    stride, dilation, lo, hi, _ = cfg
    return tuple((n + a + b - d * (k - 1) - 1) // s + 1
                 for n, k, s, d, a, b in zip(sp, kernel, stride, dilation, lo, hi))


# Layout: columns are (B, groups, C/groups * prod(kernel), L'), either the whole batch side by side (B = 1,
# L' = N * L: one GEMM per group over all N * L output positions, best for big products) or one block per
# sample (B = N, L' = L: N small GEMMs whose outputs come out batch-major, best for small ones). ``whole`` picks.
# Columns are exact. A "wide grid" (every output row computed for the whole padded width, so the copy reads
# contiguous runs) measured slower: its spare GEMM columns, and zeroing them so that inf inputs stay out of the
# weight gradient, cost more than its faster copy saves once the forward's columns serve the weight gradient.
def _whole(w_shape: tuple, groups: int) -> bool:
    """Whole-batch columns for products with both sides big (measured on OpenBLAS: a 288 x 64 product per
    position runs faster as one GEMM; LeNet's 25 x 6 and 150 x 16 ones faster per sample)."""
    return w_shape[1] * math.prod(w_shape[2:]) >= 128 and w_shape[0] // groups >= 32


def _im2col(x: Any, kernel: tuple, cfg: tuple, out: tuple, whole: bool) -> Any:
    """(N, C, *spatial) -> columns (see Layout): one copy."""
    stride, dilation, lo, hi, groups = cfg
    k = backend_for_array(x).kernels
    v = k["windows"](k["pad"](x, lo, hi), kernel, stride, dilation, out)  # (N, C, *out, *kernel), a view
    nd = len(kernel)
    n, c = x.shape[:2]
    rows, length = c // groups * math.prod(kernel), math.prod(out)
    if whole:  # (C, *kernel, N, *out)
        perm = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
        return v.transpose(perm).reshape(1, groups, rows, n * length)
    perm = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))  # (N, C, *kernel, *out)
    return v.transpose(perm).reshape(n, groups, rows, length)


def _grad_rows(gy: Any, groups: int, whole: bool) -> Any:
    """gy (N, O, *out) as (B, groups, O/groups, L') rows matching the columns."""
    xp = array_module(gy)
    n, o = gy.shape[:2]
    if whole:
        return xp.ascontiguousarray(gy.swapaxes(0, 1)).reshape(1, groups, o // groups, -1)
    return gy.reshape(n, groups, o // groups, -1)


def _contiguous(v: Any, b: Any) -> Any:
    """v (N, C, *spatial), any strides -> a C-contiguous copy, the bias added in the same pass."""
    xp = array_module(v)
    res = xp.empty(v.shape, dtype=v.dtype if b is None else xp.result_type(v.dtype, b.dtype))
    if b is None:
        res[...] = v
    else:
        xp.add(v, b.reshape((v.shape[1],) + (1,) * (v.ndim - 2)), out=res)
    return res


def _conv_forward(x: Any, w: Any, b: Any, cfg: tuple, out: tuple, cols: Any = None) -> Any:
    groups = cfg[4]
    o, n, xp = w.shape[0], x.shape[0], array_module(x)
    whole = _whole(w.shape, groups)
    if cols is None:
        cols = _im2col(x, w.shape[2:], cfg, out, whole)
    y = blas_threads.matmul(xp, w.reshape(groups, o // groups, -1), cols)  # (B, groups, O/groups, L')
    if whole:
        return _contiguous(y.reshape((o, n) + tuple(out)).swapaxes(0, 1), b)
    y = y.reshape((n, o) + tuple(out))  # per sample: already batch-major
    if b is not None:
        y += b.reshape((o,) + (1,) * len(out))
    return y


def _conv_input_grad(gy: Any, w: Any, b: Any, cfg: tuple, in_sp: tuple, rows: Any = None) -> Any:
    stride, dilation, lo, hi, groups = cfg
    xp = array_module(gy)
    n, o = gy.shape[:2]
    kernel, out = w.shape[2:], gy.shape[2:]
    c = w.shape[1] * groups
    whole = _whole(w.shape, groups)
    padded = tuple(s + a + e for s, a, e in zip(in_sp, lo, hi))
    if type(gy) is np.ndarray and _batch_last_pays(n, c, o, kernel, out, groups):
        return _conv_input_grad_batch_last(gy, w, b, cfg, in_sp, padded)
    if rows is None:
        rows = _grad_rows(gy, groups, whole)
    wm = w.reshape(groups, o // groups, -1).swapaxes(1, 2)  # (groups, C/groups*K, O/groups)
    cols = blas_threads.matmul(xp, wm, rows)
    fast = backend_for_array(gy).kernels.get("col2im2d") if whole and groups == 1 and len(kernel) == 2 else None
    if fast is not None:  # compiled (numba): each input pixel gathers its windows, the bias added, no crop
        res = fast(cols.reshape((c,) + tuple(kernel) + (n,) + tuple(out)), b, in_sp, stride, lo, dilation)
        if res is not None:
            return res
    if whole:  # (C, *kernel, N, *out) -> (C, N, *kernel, *out), a view
        cols = xp.moveaxis(cols.reshape((c,) + tuple(kernel) + (n,) + tuple(out)), 1 + len(kernel), 1)
    else:
        cols = cols.reshape((n, c) + tuple(kernel) + tuple(out))
    target = xp.zeros(cols.shape[:2] + padded, dtype=cols.dtype)
    backend_for_array(gy).kernels["fold_add"](target, cols, stride, dilation)
    if not whole and not any(lo) and not any(hi):  # already (N, C, *in_sp), contiguous
        if b is not None:
            target += b.reshape((c,) + (1,) * len(in_sp))
        return target
    crop = target[(slice(None), slice(None)) + tuple(slice(a, a + s) for a, s in zip(lo, in_sp))]
    return _contiguous(crop.swapaxes(0, 1) if whole else crop, b)


def _batch_last_pays(n: int, c: int, o: int, kernel: tuple, out: tuple, groups: int) -> bool:
    """Whether _conv_input_grad_batch_last beats the col2im above on the host. That col2im adds slabs whose
    contiguous runs are one output row (a few elements: slow strided loops); batch-last makes them a row times
    the batch, for two transposing copies (the gradient in, the result out). It pays when the columns, C *
    prod(kernel) per position, outweigh what is transposed, O + C, and output rows are short. Measured (2-core
    Xeon, one thread, float32, us): LeNet's 16 -> 6 5x5 on 12x12, batch 64: 1233 -> 792; losses it leaves out:
    32 -> 1 3x3 on 28x28, batch 64: 730 vs 2038; 16 -> 16 3x3 stride 2 on 32x32 (16-wide output rows), batch 8:
    463 vs 609. The benchmark CNN's 64 -> 32 3x3 pad 1 on 14x14, batch 64, sits on the boundary and is left out:
    6817 -> 6156 us, but its peak memory grew by 10 MiB (1.05x -> 1.26x PyTorch's)."""
    return groups == 1 and n >= 8 and out[-1] < 16 and c * math.prod(kernel) > 3 * (o + c)


def _conv_input_grad_batch_last(gy: Any, w: Any, b: Any, cfg: tuple, in_sp: tuple, padded: tuple) -> Any:
    """_conv_input_grad (groups 1) with the batch as the last axis: columns (*kernel, C, *out, N) from one GEMM,
    summed into (C, *padded, N) slab by slab, then cropped and laid out as (N, C, *in_sp)."""
    stride, dilation, lo, _, _ = cfg
    xp = array_module(gy)
    n, o = gy.shape[:2]
    c, kernel, out = w.shape[1], tuple(w.shape[2:]), tuple(gy.shape[2:])
    nd = len(kernel)
    rows = xp.ascontiguousarray(xp.moveaxis(gy, 0, -1)).reshape(o, -1)  # (O, L * N)
    wm = xp.ascontiguousarray(w.transpose(tuple(range(2, 2 + nd)) + (1, 0))).reshape(-1, o)  # (*kernel, C) x O
    cols = blas_threads.matmul(xp, wm, rows).reshape(kernel + (c,) + out + (n,))
    target = xp.zeros((c,) + padded + (n,), dtype=cols.dtype)
    for offs, sl in backend_for_array(gy).kernels["window_slices"](kernel, stride, dilation, out):
        target[(slice(None),) + sl] += cols[offs]
    crop = target[(slice(None),) + tuple(slice(a, a + s) for a, s in zip(lo, in_sp))]
    return _contiguous(xp.moveaxis(crop, -1, 0), b)


def _conv_weight_grad(x: Any, gy: Any, cfg: tuple, kernel: tuple, cols: Any = None, rows: Any = None) -> Any:
    xp, groups = array_module(x), cfg[4]
    o = gy.shape[1]
    whole = _whole((o, x.shape[1] // groups) + tuple(kernel), groups)
    if cols is None:
        cols = _im2col(x, kernel, cfg, gy.shape[2:], whole)
    if rows is None:
        rows = _grad_rows(gy, groups, whole)
    # columns times rows^T: OpenBLAS runs this orientation faster than rows times columns^T
    gw = blas_threads.matmul(xp, cols, rows.swapaxes(-1, -2))  # (B, groups, C/groups*K, O/groups)
    gw = gw[0] if whole else gw.sum(0)
    return gw.swapaxes(1, 2).reshape((o, x.shape[1] // groups) + tuple(kernel))


def _bias_grad(grad: Tensor) -> Tensor:
    g = grad._data
    if _graph.plain_backward(grad) and g.dtype.char in "fd" and g.flags.c_contiguous and g.size:
        # each (sample, channel) plane summed by one matrix-vector product, then the samples: numpy's sum over
        # axes (0, 2, 3) is a strided reduction, 7x slower on 64x32x28x28 (317 -> 46 us, one thread)
        n, c = g.shape[:2]
        planes = g.reshape(n * c, -1)
        return Tensor._from_array((planes @ np.ones(planes.shape[1], g.dtype)).reshape(n, c).sum(0))
    return grad.sum(dim=(0,) + tuple(range(2, grad.ndim)))


class ConvForward(Op):
    save_inputs = True
    saved_needs = ((1,), (0,), ())
    keep_cols = False  # keep the forward's columns for the weight gradient (set when the weight needs one)
    cols = None
    saved_names = {"input": 0, "weight": 1, "stride": lambda n: list(n.cfg[0]), "dilation": lambda n: list(n.cfg[1]),
                   "padding": lambda n: list(n.cfg[2]), "groups": lambda n: n.cfg[4], "transposed": lambda n: False}

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        if self.out is None:
            self.out = _out_size(x.shape[2:], w.shape[2:], self.cfg)
        cols = _im2col(x, w.shape[2:], self.cfg, self.out, _whole(w.shape, self.cfg[4]))
        if self.keep_cols:
            self.cols = cols
        return _conv_forward(x, w, b, self.cfg, self.out, cols).astype(x.dtype, copy=False)  # bf16 matmul: f32

    def backward(self, grad: Tensor) -> tuple:
        x, w, _ = self.saved_inputs
        ex, ew, eb = self.next_edges
        cols, self.cols = self.cols, None
        # the gradient's rows serve both products; the weight's first, so the saved columns go early
        rows = _grad_rows(grad._data, self.cfg[4], _whole(w.shape, self.cfg[4])) if ex or ew else None
        gw = ConvWeightGrad.apply(x, grad, cfg=self.cfg, out=tuple(w.shape[2:]), cols=cols, rows=rows) \
            if ew else None
        del cols
        gx = ConvInputGrad.apply(grad, w, None, cfg=self.cfg, out=tuple(x.shape[2:]), rows=rows) if ex else None
        return gx, gw, _bias_grad(grad) if eb else None

    def name(self) -> str:
        return "ConvolutionBackward0"


class ConvInputGrad(Op):
    """The adjoint of ConvForward in x; with a bias it is the transposed convolution."""

    save_inputs = True
    saved_needs = ((1,), (0,), ())
    rows = None

    def forward(self, gy: Any, w: Any, b: Any) -> Any:
        rows, self.rows = self.rows, None
        return _conv_input_grad(gy, w, b, self.cfg, self.out, rows).astype(gy.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        gy, w, _ = self.saved_inputs
        egy, ew, eb = self.next_edges
        dgy = ConvForward.apply(grad, w, None, cfg=self.cfg, out=tuple(gy.shape[2:])) if egy else None
        dw = ConvWeightGrad.apply(grad, gy, cfg=self.cfg, out=tuple(w.shape[2:])) if ew else None
        return dgy, dw, _bias_grad(grad) if eb else None

    def name(self) -> str:
        return "ConvolutionBackward0"


class ConvWeightGrad(Op):
    save_inputs = True
    saved_needs = ((1,), (0,))
    cols = rows = None

    def forward(self, x: Any, gy: Any) -> Any:
        cols, rows, self.cols, self.rows = self.cols, self.rows, None, None
        return _conv_weight_grad(x, gy, self.cfg, self.out, cols, rows).astype(x.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        x, gy = self.saved_inputs
        ex, egy = self.next_edges
        dx = ConvInputGrad.apply(gy, grad, None, cfg=self.cfg, out=tuple(x.shape[2:])) if ex else None
        dgy = ConvForward.apply(x, grad, None, cfg=self.cfg, out=tuple(gy.shape[2:])) if egy else None
        return dx, dgy

    def name(self) -> str:
        return "ConvolutionBackwardBackward0"


# -- argument checks (PyTorch's messages) ------------------------------------------------------------
def _tuple(value: Any, nd: int, what: str) -> tuple:
    return int_tuple(value, nd, lambda got: f"expected {what} to be a single integer value or a list of {nd} values "
                                            f"to match the convolution dimensions, but got {what}={list(got)}")


def _check_weight_dtype(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {type_word(input.dtype)} but found {type_word(weight.dtype)}")


def _check_bias_dtype(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({type_word(input.dtype).lower()}) and bias type "
                           f"({type_word(bias.dtype).lower()}) should be the same")


def _check_common(input: Tensor, weight: Tensor, bias: Tensor | None, nd: int, name: str, stride: tuple,
                  dilation: tuple, groups: int, transposed: bool) -> bool:
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
                           f"of size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"expected stride to be a single integer value or a list of {weight.ndim - 2} values to "
                           f"match the convolution dimensions, but got stride={list(stride)}")
    # PyTorch's convolution compares the bias's dtype first; the transposed ones, the weight's first
    checks = [_check_weight_dtype, _check_bias_dtype]
    for check in checks[::-1] if not transposed else checks:
        check(input, weight, bias)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight.shape)}] instead")
    return input.ndim == nd + 1


def _check_bias(weight: Tensor, bias: Tensor | None, channels: int) -> None:
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{channels} elements, but got bias of size {list(bias.shape)} instead")


def _padding(padding: Any, weight: Tensor, stride: tuple, dilation: tuple, nd: int) -> tuple[tuple, tuple]:
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
        lo = tuple(t // 2 for t in total)
        return lo, tuple(t - a for t, a in zip(total, lo))
    pad = _tuple(padding, nd, "padding")
    if any(p < 0 for p in pad):
        raise RuntimeError("negative padding is not supported")
    return pad, pad


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any,
          groups: int, nd: int, name: str) -> Tensor:
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    unbatched = _check_common(input, weight, bias, nd, name, stride, dilation, groups, transposed=False)
    lo, hi = _padding(padding, weight, stride, dilation, nd)
    if unbatched:
        input = input.unsqueeze(0)
    shape = input.shape
    if shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(shape)} "
                           f"to have {weight.shape[1] * groups} channels, but got {shape[1]} channels instead")
    _check_bias(weight, bias, weight.shape[0])
    padded = [s + a + b for s, a, b in zip(shape[2:], lo, hi)]
    eff = [d * (k - 1) + 1 for d, k in zip(dilation, weight.shape[2:])]
    if any(p < k for p, k in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than actual input size")
    keep = weight._requires_grad and _grad_enabled[0]
    out = ConvForward.apply(input, weight, bias, cfg=(stride, dilation, lo, hi, groups), out=None, keep_cols=keep)
    return out.squeeze(0) if unbatched else out


def _conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                    output_padding: Any, groups: int, dilation: Any, nd: int, name: str) -> Tensor:
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    unbatched = _check_common(input, weight, bias, nd, name, stride, dilation, groups, transposed=True)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    pad = _tuple(padding, nd, "padding")
    if any(p < 0 for p in pad):
        raise RuntimeError("negative padding is not supported")
    opad = _tuple(output_padding, nd, "output_padding")
    if any(p < 0 for p in opad):
        raise RuntimeError("negative output_padding is not supported")
    if any(p >= s and p >= d for p, s, d in zip(opad, stride, dilation)):
        names = ["depth", "height", "width"][3 - nd:]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(f"output_padding_{n}: {p}" for n, p in zip(names, opad)) + " "
                           + " ".join(f"stride_{n}: {s}" for n, s in zip(names, stride)) + " "
                           + " ".join(f"dilation_{n}: {d}" for n, d in zip(names, dilation)))
    if unbatched:
        input = input.unsqueeze(0)
    shape = input.shape
    if shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(shape)} to "
                           f"have {weight.shape[0]} channels, but got {shape[1]} channels instead")
    _check_bias(weight, bias, weight.shape[1] * groups)
    out_sp = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                   for n, s, p, d, k, op in zip(shape[2:], stride, pad, dilation, weight.shape[2:], opad))
    if any(o <= 0 for o in out_sp):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, shape[2:]))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, out_sp))}). Output size is too small")
    out = ConvInputGrad.apply(input, weight, bias, cfg=(stride, dilation, pad, pad, groups), out=out_sp)
    return out.squeeze(0) if unbatched else out


@autocast_op("conv1d")
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


@autocast_op("conv2d")
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


@autocast_op("conv3d")
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


@autocast_op("conv_transpose1d")
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


@autocast_op("conv_transpose2d")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


@autocast_op("conv_transpose3d")
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")
