"""Vector norms: ``linalg.vector_norm`` (also behind ``torch.norm`` and ``linalg.norm``) and ``torch.norm``."""
from __future__ import annotations

import math
from typing import Any

from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

from .._register import methods, type_word, write_out
from .._util import cast
from ._common import const, empty_reduction, reduce_axes, with_kept_dims

__all__ = ["norm"]  # vector_norm is public as disttorch.linalg.vector_norm

_from_array = Tensor._from_array


class LinalgVectorNorm(Op):
    """The ``ord``-norm over ``axes``; half-precision inputs accumulate in float32 (``acc``), as PyTorch's do.

    The backward is PyTorch's ``linalg_vector_norm_backward``, written with Tensor ops (``sgn``, ``abs``,
    ``masked_fill``) so that gradients of gradients follow, for complex inputs too."""

    save_inputs = True
    save_output = True

    def name(self) -> str:  # (pairwise_distance's node is PyTorch's NormBackward1)
        return self.__dict__.get("label", "LinalgVectorNormBackward0")

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        p, axes, keep = self.ord, self.axes, self.keepdim
        a = xp.abs(x)
        res = a.dtype
        if self.acc is not None:
            a = a.astype(self.acc)
        if p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=keep))
        elif p == math.inf:
            out = a.max(axis=axes, keepdims=keep)
        elif p == -math.inf:
            out = a.min(axis=axes, keepdims=keep)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=keep)
        elif p == 1:
            out = a.sum(axis=axes, keepdims=keep)
        else:
            out = (a ** p).sum(axis=axes, keepdims=keep) ** (1.0 / p)
        return out.astype(res, copy=False)

    def backward(self, grad: Tensor) -> Tensor | None:
        (x,) = self.saved_inputs
        shape, axes, p = x._data.shape, self.axes, self.ord
        xd = x._data
        if p == 0:  # a count: PyTorch gives no gradient at all (x.grad stays None)
            return None
        g = with_kept_dims(grad, shape, axes, self.keepdim)
        if p == 1:
            return x.sgn() * g
        norm = with_kept_dims(self.saved_output, shape, axes, self.keepdim)
        zero_norm = _from_array(norm._data == 0)
        if p == 2:
            return x * (g / norm).masked_fill(zero_norm, 0)
        sgn = x.sgn()
        if math.isinf(p):  # the gradient is shared among the elements that reach the norm (NaN ones, if any)
            xp = array_module(xd)
            a = xp.abs(xd)
            mask = (a == norm._data) | xp.isnan(a)
            count = _from_array(mask.sum(axis=axes, keepdims=True).astype(norm._data.dtype))
            return sgn * ((g / count) * const(mask, norm))
        ax = x.abs()
        if p < 1:
            scaled = (sgn * ax ** (p - 1)).masked_fill(_from_array(xd == 0), 0)
            return scaled * g * norm ** (1 - p)
        scale = (g / norm ** (p - 1)).masked_fill(zero_norm, 0)
        if p < 2:
            return sgn * ax ** (p - 1) * scale
        return x * ax ** (p - 2) * scale


def ord_text(p: float) -> str:
    """An order as PyTorch prints it in messages: inf, -inf, 2, 0.5."""
    if math.isinf(p):
        return "inf" if p > 0 else "-inf"
    return str(int(p)) if float(p).is_integer() else str(p)


def _check_dtype(x: Tensor, dtype: Any) -> D.dtype | None:
    """The validated ``dtype=`` of linalg.vector_norm (None when not given), with PyTorch's messages."""
    if x.dtype.category < D.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{type_word(x.dtype)}")
    if dtype is None:
        return None
    dt = D.to_dtype(dtype)
    if dt.category < D.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or complex, but got {type_word(dt)}")
    is_complex = x.dtype.category == D.COMPLEX
    if is_complex != (dt.category == D.COMPLEX):
        kind = "complex" if is_complex else "real"
        raise RuntimeError(f"linalg.vector_norm: dtype should be {kind} for {kind} inputs, but got {type_word(dt)}")
    if D.promote_types(x.dtype, dt) is not dt:
        raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({type_word(x.dtype)}) should be "
                           f"convertible without narrowing to the specified dtype ({type_word(dt)})")
    return dt


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
                out: Tensor | None = None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements by default), as a vector."""
    if isinstance(ord, str):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    dt = _check_dtype(x, dtype)
    if dt is not None:
        x = cast(x, dt)
    p = float(ord)
    axes = reduce_axes(dim, x._data.ndim)
    if (p < 0 or p == math.inf) and empty_reduction(x, axes):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord_text(p)} norm on an empty tensor because "
                           "the operation does not have an identity")
    acc = D.float32.np if x.dtype in (D.float16, D.bfloat16) else None
    return write_out(LinalgVectorNorm.apply(x, ord=p, axes=axes, keepdim=keepdim, acc=acc), out)


@autocast_op("norm")
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, out: Tensor | None = None,
         dtype: Any = None) -> Tensor:
    """torch.norm: a vector norm, or (``p`` "nuc", or "fro" over more than two dims) a matrix norm."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype, out=out)
        from disttorch import linalg  # the matrix norms live there; linalg imports this module

        dims = list(range(input.ndim)) if dim is None else dim
        return write_out(linalg.matrix_norm(input, p, dims, keepdim, dtype=dtype), out)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype, out=out)


methods({"norm": norm})
