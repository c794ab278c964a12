"""Batch / layer / group / instance normalisation as one fused Op with the closed-form backward.

``Normalize`` computes y = (x - mean) * invstd * w + b with the statistics taken over ``axes`` of x
(viewed as ``stat_shape``), or from given running statistics. Its backward is the usual closed form
(gx = invstd * (g' - mean(g') - xhat * mean(g' * xhat)), g' = g * w) on raw arrays; when a graph of the
gradient is wanted (create_graph) the same formula is written with Tensor ops from the saved input,
so higher derivatives are exact.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd import graph as _graph
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]

_from_array = Tensor._from_array
_grad_enabled = _graph._grad_enabled


class Normalize(Op):
    save_inputs = True

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        xp = array_module(x)
        xs = x.reshape(self.stat_shape) if self.stat_shape is not None else x
        if self.stats is None:
            mean = xs.mean(axis=self.axes, keepdims=True)
            xc = xs - mean
            var = (xc * xc).mean(axis=self.axes, keepdims=True)
            invstd = 1.0 / xp.sqrt(var + self.eps)
            if self.running is not None:
                self._update_running(mean, var, xs.size // mean.size)
            xhat = xc
            xhat *= invstd
        else:
            mean, var = self.stats
            invstd = 1.0 / xp.sqrt(var + self.eps)
            xhat = (xs - mean) * invstd
        xhat = xhat.reshape(x.shape)
        self.xhat, self.invstd = xhat, invstd
        y = xhat * w.reshape(self.pshape) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(self.pshape)
        return y

    def _update_running(self, mean: Any, var: Any, n: int) -> None:
        rm, rv, momentum = self.running
        for t, value in ((rm, mean), (rv, var * (n / max(n - 1, 1)))):
            if t is None:
                continue
            value = value.reshape(-1, t.shape[0]).mean(axis=0).astype(t._data.dtype, copy=False)
            t._data *= 1 - momentum
            t._data += momentum * value
            t._vc[0] += 1

    def backward(self, grad: Tensor) -> tuple:
        x, w, b = self.saved_inputs
        ex, ew, eb = self.next_edges
        if _grad_enabled[0]:
            return self._backward_graph(grad, x, w, b, ex, ew, eb)
        g = grad._data
        xhat, pax = self.xhat, self.param_axes
        shared = self.stats is None and self.stat_shape is None and pax == self.axes  # batch norm
        gw = gb = gx = None
        if ew or (ex and shared):
            gw = (g * xhat).sum(axis=pax, keepdims=True)
        if eb or (ex and shared):
            gb = g.sum(axis=pax, keepdims=True)
        if ex:
            wv = w._data.reshape(self.pshape) if w is not None else None
            if self.stats is not None:  # fixed statistics: the map is affine
                gx = g * (self.invstd if wv is None else wv * self.invstd)
            elif shared:  # mean(g * w) and mean(g * w * xhat) come from the parameter gradients
                n = g.size // gb.size
                scale = self.invstd if wv is None else wv * self.invstd
                gx = (g - gb / n - xhat * (gw / n)) * scale
            else:
                gxh = g * wv if wv is not None else g
                st = self.stat_shape if self.stat_shape is not None else g.shape
                gxh, xh = gxh.reshape(st), xhat.reshape(st)
                m1 = gxh.mean(axis=self.axes, keepdims=True)
                m2 = (gxh * xh).mean(axis=self.axes, keepdims=True)
                gx = ((gxh - m1 - xh * m2) * self.invstd).reshape(g.shape)
            gx = _from_array(gx)
        return (gx, _from_array(gw.reshape(w.shape)) if ew else None,
                _from_array(gb.reshape(b.shape)) if eb else None)

    def _backward_graph(self, grad: Tensor, x: Tensor, w: Tensor | None, b: Tensor | None, ex: Any, ew: Any,
                        eb: Any) -> tuple:
        """The same formula with Tensor ops from the saved input, so that it can be differentiated."""
        axes, st = self.axes, self.stat_shape or tuple(x.shape)
        xs = x.reshape(st)
        if self.stats is None:
            xc = xs - xs.mean(dim=axes, keepdim=True)
            invstd = ((xc * xc).mean(dim=axes, keepdim=True) + self.eps).rsqrt()
        else:
            invstd = _from_array(self.invstd)
            xc = xs - _from_array(self.stats[0])
        xhat = (xc * invstd).reshape(x.shape)
        gx = gw = gb = None
        if ex:
            gxh = (grad * w.reshape(self.pshape) if w is not None else grad).reshape(st)
            if self.stats is None:
                xh = xhat.reshape(st)
                gxh = gxh - gxh.mean(dim=axes, keepdim=True) - xh * (gxh * xh).mean(dim=axes, keepdim=True)
            gx = (gxh * invstd).reshape(x.shape)
        if ew:
            gw = _sum(grad * xhat, self.param_axes).reshape(w.shape)
        if eb:
            gb = _sum(grad, self.param_axes).reshape(b.shape)
        return gx, gw, gb

    def name(self) -> str:
        return self.label

    def saved_spec(self) -> dict:  # what PyTorch's node saves of the inputs (the bias only for layer_norm), in order
        if self.label == "NativeLayerNormBackward0":
            return {"bias": 2, "input": 0, "weight": 1}
        return {"input": 0, "weight": 1}


class LayerNorm(Normalize):
    """Normalize over the trailing axes with per-element parameters, on the input viewed as (rows, D): the
    row sums and the parameter gradients' column sums are matrix-vector products (one pass each through BLAS),
    the rest in-place arithmetic. float16 / bfloat16 take Normalize's general path."""

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        if x.dtype.kind != "f" or x.dtype.itemsize < 4 or not x.size:
            self.fast = False
            return super().forward(x, w, b)
        self.fast = True
        xp = array_module(x)
        D = math.prod(self.pshape)
        x2 = x.reshape(-1, D)
        avg = xp.full(D, 1.0 / D, x.dtype)
        xc = x2 - (x2 @ avg)[:, None]
        var = xp.multiply(xc, xc) @ avg
        var += self.eps
        invstd = xp.sqrt(var, out=var)
        xp.divide(1.0, invstd, out=invstd)
        xc *= invstd[:, None]
        self.xhat, self.invstd = xc, invstd
        if w is None:
            y = xc.copy()
        else:
            y = xc * w.reshape(-1)
        if b is not None:
            y += b.reshape(-1)
        return y.reshape(x.shape)

    def backward(self, grad: Tensor) -> tuple:
        if _grad_enabled[0] or not self.fast:  # the graph formula recomputes xhat from the input
            return super().backward(grad)
        _, w, b = self.saved_inputs
        ex, ew, eb = self.next_edges
        xp = grad._xp
        xhat, invstd = self.xhat, self.invstd
        N, D = xhat.shape
        g = grad._data.reshape(N, D)
        gw = gb = gx = None
        fast = backend_for_array(g).kernels.get("layer_norm_backward") if ex else None
        res = fast(g, xhat, invstd, w._data if w is not None else None) if fast is not None else None
        if res is not None:  # compiled (numba): one pass over the rows for all three
            gx, gw, gb = res
            return (_from_array(gx.reshape(grad._data.shape)), _from_array(gw.reshape(w.shape)) if ew else None,
                    _from_array(gb.reshape(b.shape)) if eb else None)
        gxhat = g * xhat if ew or ex else None
        if ew or eb:
            ones = xp.ones(N, g.dtype)
            gw = _from_array((ones @ gxhat).reshape(w.shape)) if ew else None
            gb = _from_array((ones @ g).reshape(b.shape)) if eb else None
        if ex:
            wv = w._data.reshape(-1) if w is not None else xp.ones(D, g.dtype)
            wd = wv / D
            m1, m2 = g @ wd, gxhat @ wd  # mean(g * w), mean(g * w * xhat) per row
            gx = g * wv
            gx -= m1[:, None]
            xp.multiply(xhat, m2[:, None], out=gxhat)
            gx -= gxhat
            gx *= invstd[:, None]
            gx = _from_array(gx.reshape(grad._data.shape))
        return gx, gw, gb


def _sum(t: Tensor, axes: tuple) -> Tensor:
    return t.sum(dim=axes) if axes else t


def _normalize(input: Tensor, weight: Tensor | None, bias: Tensor | None, *, axes: tuple, pshape: tuple,
               stat_shape: tuple | None = None, stats: tuple | None = None, running: tuple | None = None,
               eps: float, label: str) -> Tensor:
    nd, np_ = input.ndim, len(pshape)
    param_axes = tuple(i for i in range(nd) if i < nd - np_ or pshape[i - (nd - np_)] == 1)
    op = LayerNorm if label == "NativeLayerNormBackward0" else Normalize
    return op.apply(input, weight, bias, axes=axes, pshape=pshape, stat_shape=stat_shape, stats=stats,
                    running=running, eps=eps, param_axes=param_axes, label=label)


def _check_param(t: Tensor | None, c: int, what: str) -> None:
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{what} should contain {c} elements not {t.numel()}")


def _check_channel_params(c: int, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None,
                          bias: Tensor | None) -> None:
    for t, what in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"),
                    (bias, "bias")):
        _check_param(t, c, what)


def _channel_normalize(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                       weight: Tensor | None, bias: Tensor | None, use_input_stats: bool, momentum: float,
                       eps: float, *, over_batch: bool, missing_stats: str, label: str) -> Tensor:
    """Per-channel normalisation (dim 1) of batch and instance norm: with the input's statistics (over the batch
    too when ``over_batch``), updating the running ones when given, or with the running statistics."""
    pshape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    if use_input_stats:
        running = (running_mean, running_var, momentum) if running_mean is not None or running_var is not None \
            else None
        return _normalize(input, weight, bias, axes=axes if over_batch else axes[1:], pshape=pshape, running=running,
                          eps=eps, label=label)
    if running_mean is None or running_var is None:
        raise RuntimeError(missing_stats)
    stats = (running_mean._data.reshape(pshape), running_var._data.reshape(pshape))
    return _normalize(input, weight, bias, axes=axes, pshape=pshape, stats=stats, eps=eps, label=label)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected input with at least 2 dims, but got {input.ndim}")
    shape = input.shape
    c = shape[1]
    if training:
        size = shape[0] * math.prod(shape[2:])
        if size == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {shape}")
    _check_channel_params(c, running_mean, running_var, weight, bias)
    return _channel_normalize(input, running_mean, running_var, weight, bias, training, momentum, eps,
                              over_batch=True, label="NativeBatchNormBackward0",
                              missing_stats="running_mean and running_var must be defined in evaluation mode")


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    if input.ndim < 3:
        raise ValueError(f"Expected input with at least 3 dims for instance_norm, got {input.ndim}")
    _check_channel_params(input.shape[1], running_mean, running_var, weight, bias)
    if use_input_stats and input.shape[2:].numel() == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    return _channel_normalize(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps,
                              over_batch=False, label="ViewBackward0",
                              missing_stats="Expected running_mean and running_var to be defined when "
                                            "use_input_stats is false")


@autocast_op("layer_norm")
def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    if isinstance(normalized_shape, int):
        raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    ns = tuple(int(s) for s in normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape [*"
                           f"{''.join(', ' + str(s) for s in ns)}], but got input of size{list(input.shape)}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(ns)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return _normalize(input, weight, bias, axes=axes, pshape=ns, eps=eps, label="NativeLayerNormBackward0")


@autocast_op("group_norm")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    shape = tuple(input.shape)
    n, c = shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(shape)} and num_groups={num_groups}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {what} to be a vector of size equal to the number of channels in input, "
                               f"but got {what} of shape {list(t.shape)} and input of shape {list(shape)}")
    pshape = (1, c) + (1,) * (input.ndim - 2)
    stat_shape = (n, num_groups, (c // num_groups) * math.prod(shape[2:]))
    return _normalize(input, weight, bias, axes=(2,), pshape=pshape, stat_shape=stat_shape, eps=eps,
                      label="NativeGroupNormBackward0")
