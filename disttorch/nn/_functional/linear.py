"""F.linear: one node for x @ W^T + b."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._ops.linalg.products import check_addmm_dtypes, check_mm_dtypes
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op, plain_backward
from disttorch.backends.blas_threads import one_thread_if_small, restore

_from_array = Tensor._from_array
_F32 = np.dtype(np.float32)


class Linear(Op):
    """y = x @ W^T (+ b) as one node (PyTorch names it AddmmBackward0 for 2-d inputs)."""

    save_inputs = True
    saved_needs = ((1,), (0,), ())  # x for the weight's gradient, W for the input's; the bias is not read

    def saved_spec(self) -> dict:
        # PyTorch saves x and W^T (the matrix multiplied by; saved-tensors hooks get W^T too), in this order
        if self.has_bias:
            return {"mat1": 0, "mat2": (1, _t, _t), "alpha": lambda n: 1, "beta": lambda n: 1}
        return {"mat2": (1, _t, _t), "self": 0}

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        if type(x) is np.ndarray and one_thread_if_small(x.size * w.shape[0]):  # backends/blas_threads.py
            try:
                return self._forward(x, w, b)
            finally:
                restore()
        return self._forward(x, w, b)

    def _forward(self, x: Any, w: Any, b: Any) -> Any:
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_2d(x.shape)} and "
                               f"{w.shape[1]}x{w.shape[0]})")
        self.ndim = x.ndim
        self.has_bias = b is not None
        if x.ndim == 2 and type(x) is np.ndarray and x.dtype == _F32 and _transposed_gemm_pays(*x.shape, w.shape[0]):
            # y^T = W x^T, then one pass that adds the bias and lays y out in rows (see _transposed_gemm_pays)
            t = w @ x.T
            y = np.empty(t.shape[::-1], t.dtype)
            if b is not None:
                np.add(t.T, b, out=y)
            else:
                np.copyto(y, t.T)
            return y.astype(x.dtype, copy=False)
        if x.ndim > 2:  # one 2-d GEMM over all leading dims beats a batched matmul
            y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0])
        else:
            y = x @ w.T
        if b is not None:
            y += b
        return y.astype(x.dtype, copy=False)  # numpy's bfloat16 matmul answers in float32

    def backward(self, grad: Tensor) -> tuple:
        x, w, b = self.saved_inputs
        gx, gw, gb = self.next_edges
        if plain_backward(grad) and grad._data.dtype.char in "fd":  # float32/64 on numpy: on the arrays
            return _plain_backward(grad._data, x._data, w._data, gx, gw, gb)
        grad_x = grad.matmul(w) if gx else None
        grad_w = grad_b = None
        if gw or gb:  # explicit row counts: -1 is ambiguous when a feature dimension is 0
            rows = math.prod(grad.shape[:-1])
            g2 = grad.reshape(rows, grad.shape[-1])
        if gw:
            grad_w = g2.t().matmul(x.reshape(rows, x.shape[-1]))
        if gb:
            grad_b = g2.sum(0)
        return grad_x, grad_w, grad_b

    def name(self) -> str:
        # the node PyTorch's decomposition of linear ends with, by input rank and bias
        if self.has_bias:
            return "AddmmBackward0" if self.ndim == 2 else "ViewBackward0"
        return {1: "SqueezeBackward4", 2: "MmBackward0"}.get(self.ndim, "UnsafeViewBackward0")

    @property
    def next_functions(self) -> tuple:
        # PyTorch's order: addmm(bias, x, W^T) for 2-d inputs with a bias, mm(x, W^T) without one
        edges = Op.next_functions.fget(self)
        if not self.has_bias:
            return edges[:2]
        return (edges[2], edges[0], edges[1]) if self.ndim == 2 else edges


def _t(w: Tensor) -> Tensor:
    return w.t()


def _transposed_gemm_pays(rows: int, k: int, n: int) -> bool:
    """Whether ``(W @ x.T).T`` beats ``x @ W.T`` in float32 on the host BLAS. numpy's OpenBLAS runs the second (NT)
    up to 1.5x slower for a few rows against a wide weight: measured on a 2-core Xeon with one thread,
    x (16, 784) W (128, 784): 65 us vs 46 us with the bias; (32, 784) x (512, 784): 337 vs 230; (64, 3136) x (128,
    3136): 462 vs 419; the reverse for 128 rows and more ((128, 784) x (512, 784): 702 vs 717), fewer than 16, narrow
    weights ((16, 128) x (10, 128)) or short rows ((64, 128) x (512, 128): 76 vs 98)."""
    return 16 <= rows <= 64 and n >= 2 * rows and k >= 128 and k >= 4 * rows


def _plain_backward(g: Any, x: Any, w: Any, gx: Any, gw: Any, gb: Any) -> tuple:
    """Linear's gradients on numpy arrays, the same products the Tensor path runs."""
    if one_thread_if_small(g.size * w.shape[1]):
        try:
            return _plain_gradients(g, x, w, gx, gw, gb)
        finally:
            restore()
    return _plain_gradients(g, x, w, gx, gw, gb)


def _plain_gradients(g: Any, x: Any, w: Any, gx: Any, gw: Any, gb: Any) -> tuple:
    if g.ndim == 2:  # the common case, without the reshapes
        return (_from_array(g @ w) if gx else None, _from_array(g.T @ x) if gw else None,
                _from_array(g.sum(0)) if gb else None)
    grad_x = grad_w = grad_b = None
    if gx:
        grad_x = _from_array((g.reshape(math.prod(g.shape[:-1]), g.shape[-1]) @ w).reshape(g.shape[:-1] + w.shape[1:])
                             if g.ndim > 2 else g @ w)
    if gw or gb:  # explicit row counts: -1 is ambiguous when a feature dimension is 0
        rows = math.prod(g.shape[:-1])
        g2 = g.reshape(rows, g.shape[-1])
        if gw:
            grad_w = _from_array(g2.T @ x.reshape(rows, x.shape[-1]))
        if gb:
            grad_b = _from_array(g2.sum(0))
    return grad_x, grad_w, grad_b


def _2d(shape: tuple) -> str:
    rows = 1
    for s in shape[:-1]:
        rows *= s
    return f"{rows}x{shape[-1]}"


__all__ = ["linear", "bilinear"]


@autocast_op("linear")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    if bias is None:
        check_mm_dtypes(input, weight)
    else:
        check_addmm_dtypes(bias, input, weight)
    return Linear.apply(input, weight, bias)


@autocast_op("bilinear")
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., k] = input1[..., i] * weight[k, i, j] * input2[..., j] (+ bias[k])."""
    from disttorch._ops.linalg import einsum

    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if weight.dim() != 3 or weight.shape[1] != input1.shape[-1] or weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(f"bilinear(): weight of shape {list(weight.shape)} does not fit inputs with "
                           f"{input1.shape[-1]} and {input2.shape[-1]} features")
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out + bias if bias is not None else out
