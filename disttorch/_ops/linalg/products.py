"""matmul and its relatives: mm, bmm, mv, dot, vdot, inner, outer, the fused add-products (addmm, addmv,
addbmm, baddbmm) and chains of products (multi_dot, chain_matmul).

Every backward is again a matmul (plus views and arithmetic), so gradients of gradients work.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op, plain_backward
from disttorch.backends import array_module
from disttorch.backends.blas_threads import one_thread_if_small, restore

from .._register import inplace, methods, write_out
from .._util import sum_to
from ..unary import conj
from ._common import _BOOL, _broadcast_shapes, _check_expand, _check_tensor, _cpp, _mH, _reshape, _shape_x, _sname
from .contractions import tensordot

_ndarray = np.ndarray

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addbmm",
           "baddbmm", "chain_matmul"]


class Matmul(Op):
    save_inputs = True
    saved_needs = ((1,), (0,))  # each factor is read by the other's gradient only

    def forward(self, a: Any, b: Any) -> Any:
        self.nd = (a.ndim, b.ndim)
        mnk = (a.shape[-2] * a.shape[-1] if a.ndim >= 2 else a.size) * b.shape[-1] if b.ndim >= 2 else 0
        if mnk and type(a) is _ndarray and one_thread_if_small(mnk):
            try:  # a small product on one thread (backends/blas_threads.py)
                return self._product(a, b)
            finally:
                restore()
        return self._product(a, b)

    def _product(self, a: Any, b: Any) -> Any:
        if b.ndim == 2 and a.ndim > 2:  # one matrix product over the folded batch: much faster
            y = (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + b.shape[1:])
        else:
            y = array_module(a).matmul(a, b)
        return y.astype(a.dtype, copy=False)  # numpy's bfloat16 matmul answers in float32

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        na, nb = self.next_edges
        g = grad._data
        if g.ndim == 2 and a._data.ndim == 2 and b._data.ndim == 2 and g.dtype.char in "fd" \
                and plain_backward(grad):  # real matrices on numpy, no graph wanted: on the arrays
            small = one_thread_if_small(g.size * a._data.shape[1])
            try:
                return (Tensor._from_array(g @ b._data.T) if na is not None else None,
                        Tensor._from_array(a._data.T @ g) if nb is not None else None)
            finally:
                if small:
                    restore()
        return _matmul_backward(grad, a, b, na is not None, nb is not None)

    def name(self) -> str:
        return _MATMUL_NAMES.get(self.nd, "UnsafeViewBackward0")

    def saved_spec(self) -> dict:
        if self.nd == (1, 2):  # vector @ matrix: PyTorch saves the vector as a row, (1, n)
            return _VEC_MAT
        return _MATMUL_SAVED.get(self.name(), _SELF_OTHER)


# in the order PyTorch packs them for saved-tensors hooks
_SELF_OTHER = {"other": 1, "self": 0}
_MATMUL_SAVED = {"MmBackward0": {"mat2": 1, "self": 0}, "BmmBackward0": {"mat2": 1, "self": 0},
                 "MvBackward0": {"self": 0, "vec": 1}, "DotBackward0": {"self": 0, "tensor": 1},
                 "VdotBackward0": {"other": 1, "self": 0}}
_VEC_MAT = {"other": 1, "self": (0, lambda t: t.unsqueeze(0), lambda t: t.squeeze(0))}
_MATMUL_NAMES = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4",
                 (2, 2): "MmBackward0"}


class Mm(Matmul):
    def name(self) -> str:
        return "MmBackward0"


class Bmm(Matmul):
    def name(self) -> str:
        return "BmmBackward0"


class Mv(Matmul):
    def name(self) -> str:
        return "MvBackward0"


class Dot(Matmul):
    def name(self) -> str:
        return "DotBackward0"


class Vdot(Matmul):
    def name(self) -> str:
        return "VdotBackward0"


def _matmul_backward(grad: Tensor, a: Tensor, b: Tensor, need_a: bool, need_b: bool) -> tuple:
    """Gradients of ``a @ b`` (any of matmul's cases; ``grad`` may broadcast against the batch)."""
    if a._data.ndim == 1 and b._data.ndim == 1:
        return (grad * conj(b) if need_a else None), (grad * conj(a) if need_b else None)
    A = a if a._data.ndim > 1 else _reshape(a, (1,) + a._data.shape)
    B = b if b._data.ndim > 1 else _reshape(b, b._data.shape + (1,))
    G = grad
    gs = grad._data.shape
    if a._data.ndim == 1:
        G = _reshape(G, gs[:-1] + (1, gs[-1]))
    elif b._data.ndim == 1:
        G = _reshape(G, gs + (1,))
    ga = gb = None
    if need_a:
        ga = _reshape(sum_to(Matmul.apply(G, _mH(B)), A._data.shape), a._data.shape)
    if need_b:
        sa, sg = A._data.shape, G._data.shape
        if B._data.ndim == 2 and len(sa) > 2 and sg[:-2] == sa[:-2]:
            # fold the batch into the rows: one matrix product instead of a batch and a sum
            gb = Matmul.apply(_mH(_reshape(A, (-1, sa[-1]))), _reshape(G, (-1, sg[-1])))
        else:
            gb = sum_to(Matmul.apply(_mH(A), G), B._data.shape)
        gb = _reshape(gb, b._data.shape)
    return ga, gb


# -- PyTorch's errors -----------------------------------------------------------------------------------
def _matmul_errors(a: Tensor, b: Tensor) -> None:
    """Raise PyTorch's error for ``a @ b`` (called when dtypes differ or the product failed)."""
    da, db = a._data.ndim, b._data.ndim
    sa, sb = a._data.shape, b._data.shape
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if a._data.dtype != b._data.dtype:
        if da == 1 and db == 1:
            _dot_dtype_error(a, b)
        if db == 1:
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_sname(b)}, {_sname(a)}, "
                               f"and {_sname(b)}")
        if db == 2:
            _mm_dtype_error(a, b)
        raise RuntimeError(f"expected scalar type {_sname(a)} but found {_sname(b)}")
    if a._data.dtype == _BOOL:
        kernel = "dot" if da == 1 and db == 1 else "addmm_impl_cpu_"
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    if da == 1 and db == 1:
        _dot_size_error(a, b)
    if db == 1:
        rows = math.prod(sa[:-1])
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{sa[-1]}), vec ({sb[0]})")
    if db == 2 and da <= 2 or da >= 3 and db == 2:
        rows = math.prod(sa[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{sa[-1]} and {_shape_x(sb)})")
    batch = _broadcast_shapes(sa[:-2], sb[:-2])
    n = math.prod(batch)
    k = sa[-1]
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k}] but got: "
                       f"[{n}, {sb[-2]}].")


def _mm_dtype_error(a: Tensor, b: Tensor) -> None:
    raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_cpp(a)} != {_cpp(b)}")


def _dot_dtype_error(a: Tensor, b: Tensor) -> None:
    raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_sname(a)} and {_sname(b)}")


def _dot_size_error(a: Tensor, b: Tensor) -> None:
    na, nb = a._data.shape[0], b._data.shape[0]
    raise RuntimeError(f"inconsistent tensor size, expected tensor [{na}] and src [{nb}] to have the same number "
                       f"of elements, but got {na} and {nb} elements respectively")


def _check_bmm(b1: Tensor, b2: Tensor) -> None:
    if b1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    s1, s2 = b1._data.shape, b2._data.shape
    if s2[0] != s1[0] or s2[1] != s1[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{s1[0]}, {s1[2]}] but "
                           f"got: [{s2[0]}, {s2[1]}].")
    if b1._data.dtype != b2._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(b1)} but found {_sname(b2)}")
    if b1._data.dtype == _BOOL:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")


def _check_mv(bias: Tensor | None, mat: Tensor, vec: Tensor) -> None:
    bias_nd = 1 if bias is None else bias._data.ndim
    if mat._data.ndim != 2 or vec._data.ndim != 1 or bias_nd > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {bias_nd}, {mat._data.ndim}, {vec._data.ndim}")
    m, k = mat._data.shape
    n_bias = m if bias is None or bias._data.ndim == 0 else bias._data.shape[0]
    if vec._data.shape[0] != k or n_bias not in (1, m):
        raise RuntimeError(f"size mismatch, got input ({n_bias}), mat ({m}x{k}), vec ({vec._data.shape[0]})")
    first = vec if bias is None else bias
    if not mat._data.dtype == vec._data.dtype == first._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_sname(first)}, {_sname(mat)}, "
                           f"and {_sname(vec)}")
    if mat._data.dtype == _BOOL:
        raise NotImplementedError("\"addmv_impl_cpu\" not implemented for 'Bool'")


def _check_dot(a: Tensor, b: Tensor) -> None:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        _dot_dtype_error(a, b)
    if a._data.shape[0] != b._data.shape[0]:
        _dot_size_error(a, b)
    if a._data.dtype == _BOOL:
        raise NotImplementedError("\"dot\" not implemented for 'Bool'")


# -- the public products -----------------------------------------------------------------------------------
@autocast_op("matmul")
def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with NumPy/PyTorch broadcasting rules for 1-D and batched operands."""
    if type(input) is not Tensor or type(other) is not Tensor:
        _check_tensor("matmul", "input", 1, input)
        _check_tensor("matmul", "other", 2, other)
    da, db = input._data.dtype, other._data.dtype
    if da != db or da == _BOOL:
        _matmul_errors(input, other)
    try:
        result = Matmul.apply(input, other)
    except ValueError:
        _matmul_errors(input, other)
        raise
    return write_out(result, out)


def _rmatmul(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(other, self)


def _matmul_op(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(self, other)


@autocast_op("mm")
def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input._data.dtype != mat2._data.dtype:
        _mm_dtype_error(input, mat2)
    if input._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_x(input.shape)} and "
                           f"{_shape_x(mat2.shape)})")
    if input._data.dtype == _BOOL:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    return write_out(Mm.apply(input, mat2), out)


@autocast_op("bmm")
def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_bmm(input, mat2)
    return write_out(Bmm.apply(input, mat2), out)


@autocast_op("mv")
def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_mv(None, input, vec)
    return write_out(Mv.apply(input, vec), out)


@autocast_op("dot")
def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_dot(input, tensor)
    return write_out(Dot.apply(input, tensor), out)


def vdot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sum(conj(input) * other)."""
    _check_dot(input, other)
    result = Dot.apply(conj(input), other) if input.is_complex() else Vdot.apply(input, other)
    return write_out(result, out)


def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return write_out(_reshape(input, (input._data.shape[0], 1)) * vec2, out)


ger = outer


def inner(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim == 0 or other._data.ndim == 0:
        result = input * other
    else:
        if input._data.shape[-1] != other._data.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(input.shape)} and {list(other.shape)}")
        result = tensordot(input, other, dims=([-1], [-1]))
    return write_out(result, out)


# -- beta * input + alpha * product ---------------------------------------------------------------------------
class _AddMatmul(Op):
    """beta * input + alpha * (a @ b), summed over the batch for addbmm."""

    save_inputs = True
    reduce = False
    saved_names = {"mat1": 1, "mat2": 2, "alpha": lambda n: n.alpha, "beta": lambda n: n.beta}

    def forward(self, c: Any, a: Any, b: Any) -> Any:
        self.c_shape = c.shape
        p = array_module(a).matmul(a, b)
        if self.reduce:
            p = p.sum(0)
        if self.alpha != 1:
            p = p * self.alpha
        if self.beta != 0:
            p = p + (c if self.beta == 1 else c * self.beta)
        return p.astype(a.dtype, copy=False)

    def backward(self, grad: Tensor) -> tuple:
        _, a, b = self.saved_inputs
        nc, na, nb = self.next_edges
        gc = None
        if nc is not None:
            gc = sum_to(grad if self.beta == 1 else grad * self.beta, self.c_shape)
        g = grad if self.alpha == 1 else grad * self.alpha
        ga, gb = _matmul_backward(g, a, b, na is not None, nb is not None)
        return gc, ga, gb


class Addmm(_AddMatmul):
    pass


_ALPHA_BETA = {"alpha": lambda n: n.alpha, "beta": lambda n: n.beta}


class Addmv(_AddMatmul):
    saved_names = {"mat": 1, "vec": 2, **_ALPHA_BETA}


class Baddbmm(_AddMatmul):
    saved_names = {"batch1": 1, "batch2": 2, **_ALPHA_BETA}


class Addbmm(_AddMatmul):
    reduce = True
    saved_names = {"batch1": 1, "batch2": 2, **_ALPHA_BETA}


def _check_add_dtype(input: Tensor, mat2: Tensor) -> None:
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_sname(input)} and {_sname(mat2)}")


def check_addmm_dtypes(input: Tensor, mat1: Tensor, mat2: Tensor) -> None:
    """addmm's dtype checks in PyTorch's order (F.linear with a bias makes the same ones)."""
    _check_add_dtype(input, mat2)
    if mat1._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_sname(mat1)} and {_sname(mat2)}")


def check_mm_dtypes(a: Tensor, b: Tensor) -> None:
    """mm's dtype check (F.linear without a bias makes the same one)."""
    if a._data.dtype != b._data.dtype:
        _mm_dtype_error(a, b)


@autocast_op("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t._data.ndim}-D tensor")
    if mat1._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_x(mat1.shape)} and "
                           f"{_shape_x(mat2.shape)})")
    _check_expand(input._data.shape, (mat1._data.shape[0], mat2._data.shape[1]))
    check_addmm_dtypes(input, mat1, mat2)
    return write_out(Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha), out)


@autocast_op("addmv")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    _check_mv(input, mat, vec)
    return write_out(Addmv.apply(input, mat, vec, beta=beta, alpha=alpha), out)


@autocast_op("baddbmm")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1,
            out: Tensor | None = None) -> Tensor:
    _check_bmm(batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    _check_expand(input._data.shape, (s1[0], s1[1], s2[2]))
    _check_add_dtype(input, batch2)
    return write_out(Baddbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha), out)


@autocast_op("addbmm")
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1,
           out: Tensor | None = None) -> Tensor:
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    s1, s2 = batch1._data.shape, batch2._data.shape
    if s1[0] != s2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {s1[0]} and {s2[0]}")
    if s1[2] != s2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({s1[1]}x{s1[2]} and {s2[1]}x{s2[2]})")
    _check_expand(input._data.shape, (s1[1], s2[2]))
    if batch1._data.dtype != batch2._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(batch1)} but found {_sname(batch2)}")
    _check_add_dtype(input, batch2)
    return write_out(Addbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha), out)


# -- chains of products ---------------------------------------------------------------------------------------
@autocast_op("multi_dot")
def multi_dot(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor:
    """torch.linalg.multi_dot: a chain of matrix products; a 1-D first (last) operand is a row (column)
    vector."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        edge = i == 0 or i == len(tensors) - 1
        if nd != 2 and not (edge and nd == 1):
            if edge:
                which = "first" if i == 0 else "last"
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {nd}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
    result = tensors[0]
    for t in tensors[1:]:
        result = matmul(result, t)
    return write_out(result, out)


@autocast_op("chain_matmul")
def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    return multi_dot(list(matrices), out=out)


methods({
    "__matmul__": _matmul_op, "__rmatmul__": _rmatmul,
    "matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot, "inner": inner, "outer": outer,
    "ger": ger, "addmm": addmm, "addmv": addmv, "addbmm": addbmm, "baddbmm": baddbmm,
    "addmm_": inplace(addmm), "addmv_": inplace(addmv), "addbmm_": inplace(addbmm), "baddbmm_": inplace(baddbmm),
})
