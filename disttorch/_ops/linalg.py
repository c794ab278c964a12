"""Matrix products and contractions (matmul and its relatives, einsum, tensordot, kron, cross, trace)
and the decompositions behind ``torch.linalg``.

Every backward is written with the ops of this module (matmul, einsum, inv, solve and a few private
view/mask ops) plus arithmetic, so that gradients of gradients work.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op

from ._util import attach, self_xp, sum_to, wrap_dim
from .arith import _out

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addbmm",
           "baddbmm", "einsum", "tensordot", "kron", "cross", "trace", "matrix_power", "det", "logdet",
           "slogdet", "inverse", "pinverse", "cholesky", "svd", "qr", "chain_matmul"]

_from_array = Tensor._from_array
_BOOL = np.dtype(bool)

_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "Bool",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


class LinAlgError(RuntimeError):
    """Raised when a matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


def _cpp(t: Tensor) -> str:
    return _CPP_NAMES.get(t.dtype.name, t.dtype.name)


def _sname(t: Tensor) -> str:
    return _SCALAR_NAMES.get(t.dtype.name, t.dtype.name)


def _shape_x(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


def _check_tensor(fname: str, argname: str, pos: int, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")


def _broadcast_shapes(sa: Sequence[int], sb: Sequence[int]) -> tuple[int, ...]:
    n = max(len(sa), len(sb))
    sa = (1,) * (n - len(sa)) + tuple(sa)
    sb = (1,) * (n - len(sb)) + tuple(sb)
    out = []
    for i, (x, y) in enumerate(zip(sa, sb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _check_expand(shape: Sequence[int], target: Sequence[int]) -> None:
    """PyTorch's error for an ``input`` that does not broadcast to the product's shape."""
    shape, target = tuple(shape), tuple(target)
    lead = len(target) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == t for s, t in zip(shape, target[lead:]))
    if ok:
        return
    if lead < 0:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(target)}): the number of sizes "
                           "provided must be greater or equal to the number of dimensions in the tensor")
    for i in range(len(shape) - 1, -1, -1):
        s, t = shape[i], target[lead + i]
        if s != 1 and s != t:
            raise RuntimeError(f"The expanded size of the tensor ({t}) must match the existing size ({s}) at "
                               f"non-singleton dimension {lead + i}.  Target sizes: {list(target)}.  Tensor "
                               f"sizes: {list(shape)}")


# -- private helper ops (views, reshapes, masks) used by the backward formulas ----------------------
class _Transpose(Op):
    """Swap the last two dimensions (``.mT``)."""

    view = True

    def forward(self, x: Any) -> Any:
        return x.swapaxes(-1, -2)

    def backward(self, grad: Tensor) -> Tensor:
        return _Transpose.apply(grad)

    def name(self) -> str:
        return "TransposeBackward0"


class _Permute(Op):
    view = True

    def forward(self, x: Any) -> Any:
        return x.transpose(self.perm)

    def backward(self, grad: Tensor) -> Tensor:
        return _Permute.apply(grad, perm=tuple(np.argsort(self.perm)))

    def name(self) -> str:
        return "PermuteBackward0"


class _Reshape(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: Tensor) -> Tensor:
        return _Reshape.apply(grad, shape=self.in_shape)

    def name(self) -> str:
        return "ViewBackward0"


class _Conj(Op):
    def forward(self, x: Any) -> Any:
        return x.conj()

    def backward(self, grad: Tensor) -> Tensor:
        return _Conj.apply(grad)

    def name(self) -> str:
        return "ConjBackward0"


class _MaskZero(Op):
    """Zero where the constant ``mask`` is set (PyTorch's ``masked_fill(mask, 0)``)."""

    def forward(self, x: Any) -> Any:
        return self_xp(x).where(self.mask, 0, x)

    def backward(self, grad: Tensor) -> Tensor:
        return _MaskZero.apply(grad, mask=self.mask)

    def name(self) -> str:
        return "MaskedFillBackward0"


def _mT(t: Tensor) -> Tensor:
    return _Transpose.apply(t)


def _conj(t: Tensor) -> Tensor:
    return _Conj.apply(t) if t._data.dtype.kind == "c" else t


def _mH(t: Tensor) -> Tensor:
    return _mT(_conj(t))


def _reshape(t: Tensor, shape: Sequence[int]) -> Tensor:
    shape = tuple(shape)
    return t if t._data.shape == shape else _Reshape.apply(t, shape=shape)


def _const(arr: Any) -> Tensor:
    return _from_array(arr)


def _permute(t: Tensor, perm: Sequence[int]) -> Tensor:
    perm = tuple(perm)
    return t if perm == tuple(range(len(perm))) else _Permute.apply(t, perm=perm)


def _sgn(x: Any) -> Any:
    """sign for real arrays, x/|x| (0 at 0) for complex ones."""
    xp = self_xp(x)
    if x.dtype.kind == "c":
        a = xp.abs(x)
        return xp.where(a == 0, 0, x / xp.where(a == 0, 1, a))
    return xp.sign(x)


def _abs(t: Tensor) -> Tensor:
    """|t| written as a product with the constant sign, so it stays differentiable."""
    s = _sgn(t._data)
    return t * _const(s.conj()) if s.dtype.kind == "c" else t * _const(s)


# -- matmul and friends -----------------------------------------------------------------------------
class Matmul(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        self.nd = (a.ndim, b.ndim)
        if b.ndim == 2 and a.ndim > 2:  # one matrix product over the folded batch: much faster
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + b.shape[1:])
        return self_xp(a).matmul(a, b)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        na, nb = self.next_edges
        return _matmul_backward(grad, a, b, na is not None, nb is not None)

    def name(self) -> str:
        return _MATMUL_NAMES.get(self.nd, "UnsafeViewBackward0")


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
        return (grad * _conj(b) if need_a else None), (grad * _conj(a) if need_b else None)
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
    return result if out is None else _out(result, out)


def _rmatmul(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(other, self)


def _matmul_op(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(self, other)


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
    result = Mm.apply(input, mat2)
    return result if out is None else _out(result, out)


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


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_bmm(input, mat2)
    result = Bmm.apply(input, mat2)
    return result if out is None else _out(result, out)


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


def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_mv(None, input, vec)
    result = Mv.apply(input, vec)
    return result if out is None else _out(result, out)


def _check_dot(a: Tensor, b: Tensor) -> None:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        _dot_dtype_error(a, b)
    if a._data.shape[0] != b._data.shape[0]:
        _dot_size_error(a, b)
    if a._data.dtype == _BOOL:
        raise NotImplementedError("\"dot\" not implemented for 'Bool'")


def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_dot(input, tensor)
    result = Dot.apply(input, tensor)
    return result if out is None else _out(result, out)


def vdot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sum(conj(input) * other)."""
    _check_dot(input, other)
    result = Dot.apply(_conj(input), other) if input.is_complex() else Vdot.apply(input, other)
    return result if out is None else _out(result, out)


def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    result = _reshape(input, (input._data.shape[0], 1)) * vec2
    return result if out is None else _out(result, out)


ger = outer


def inner(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    if input._data.ndim == 0 or other._data.ndim == 0:
        result = input * other
    else:
        if input._data.shape[-1] != other._data.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                               f"{list(input.shape)} and {list(other.shape)}")
        result = tensordot(input, other, dims=([-1], [-1]))
    return result if out is None else _out(result, out)


class _AddMatmul(Op):
    """beta * input + alpha * (a @ b), summed over the batch for addbmm."""

    save_inputs = True
    reduce = False

    def forward(self, c: Any, a: Any, b: Any) -> Any:
        self.c_shape = c.shape
        p = self_xp(a).matmul(a, b)
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


class Addmv(_AddMatmul):
    pass


class Baddbmm(_AddMatmul):
    pass


class Addbmm(_AddMatmul):
    reduce = True


def _check_add_dtype(input: Tensor, mat2: Tensor) -> None:
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_sname(input)} and {_sname(mat2)}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t._data.ndim}-D tensor")
    if mat1._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_x(mat1.shape)} and "
                           f"{_shape_x(mat2.shape)})")
    _check_expand(input._data.shape, (mat1._data.shape[0], mat2._data.shape[1]))
    if mat1._data.dtype != mat2._data.dtype:
        _mm_dtype_error(mat1, mat2)
    _check_add_dtype(input, mat2)
    result = Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)
    return result if out is None else _out(result, out)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1,
          out: Tensor | None = None) -> Tensor:
    _check_mv(input, mat, vec)
    result = Addmv.apply(input, mat, vec, beta=beta, alpha=alpha)
    return result if out is None else _out(result, out)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1,
            out: Tensor | None = None) -> Tensor:
    _check_bmm(batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    _check_expand(input._data.shape, (s1[0], s1[1], s2[2]))
    _check_add_dtype(input, batch2)
    result = Baddbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha)
    return result if out is None else _out(result, out)


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
    result = Addbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha)
    return result if out is None else _out(result, out)


def _inplace(fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._apply_inplace(lambda alias: fn(alias, *args, **kwargs), *args)

    method.__name__ = fn.__name__ + "_"
    return method


def chain_matmul(*matrices: Tensor, out: Tensor | None = None) -> Tensor:
    from disttorch.linalg import multi_dot

    result = multi_dot(list(matrices))
    return result if out is None else _out(result, out)


# -- einsum and tensordot ---------------------------------------------------------------------------
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_OPTIMIZE_WORK = 1 << 14  # below this many multiply-adds the path search costs more than it saves


class Einsum(Op):
    """A contraction given by explicit subscripts (``terms`` per operand, ``out``), no ellipsis.

    The gradient of each operand is again an einsum: the output gradient contracted with the other
    operands. A subscript repeated within an operand (a diagonal) becomes an identity matrix
    operand in the gradient; a subscript summed only within that operand becomes a ones vector."""

    save_inputs = True

    def forward(self, *arrays: Any) -> Any:
        xp = self_xp(arrays[0])
        eq = ",".join(self.terms) + "->" + self.out
        res = xp.einsum(eq, *arrays, optimize=self.optimize)
        if len(arrays) == 1 and getattr(res, "base", None) is not None:
            res = res.copy()  # a single-operand einsum can be a view of its input
        return res

    def backward(self, grad: Tensor) -> tuple:
        inputs = self.saved_inputs
        return tuple(_einsum_grad(self, i, grad, inputs) if edge is not None else None
                     for i, edge in enumerate(self.next_edges))

    def name(self) -> str:
        return getattr(self, "label", "EinsumBackward0")


def _einsum_grad(node: Einsum, i: int, grad: Tensor, inputs: tuple) -> Tensor:
    terms, x = node.terms, inputs[i]
    ops = [grad] + [_conj(t) for j, t in enumerate(inputs) if j != i]
    subs = [node.out] + [s for j, s in enumerate(terms) if j != i]
    seen: dict[str, int] = {}
    for s, t in zip(subs, ops):
        for letter, n in zip(s, t._data.shape):
            seen[letter] = max(seen.get(letter, 1), n)
    used = set("".join(terms) + node.out)
    fresh = (c for c in _LETTERS if c not in used)
    xp = grad._xp
    target = []
    for letter, n in zip(terms[i], x._data.shape):
        if letter in target:  # repeated subscript: spread the gradient onto the diagonal
            f = next(fresh)
            ops.append(_const(xp.eye(n, dtype=grad._data.dtype)))
            subs.append(letter + f)
            target.append(f)
            continue
        if seen.get(letter, 0) < n or letter not in seen:  # summed only here: broadcast back
            ops.append(_const(xp.ones(n, dtype=grad._data.dtype)))
            subs.append(letter)
            seen[letter] = n
        target.append(letter)
    out = "".join(target)
    res = Einsum.apply(*ops, terms=subs, out=out, optimize=_einsum_optimize(subs, ops))
    return sum_to(res, x._data.shape) if res._data.shape != x._data.shape else res


def _einsum_optimize(terms: Sequence[str], ops: Sequence[Tensor]) -> bool:
    if len(ops) > 2:
        return True
    sizes: dict[str, int] = {}
    for s, t in zip(terms, ops):
        for letter, n in zip(s, t._data.shape):
            sizes[letter] = max(sizes.get(letter, 1), n)
    return math.prod(sizes.values()) >= _OPTIMIZE_WORK


def _parse_term(term: str, start: int, op_index: int | None) -> tuple[list[str], bool]:
    """Subscript letters of one term ('.' marks the ellipsis as '...')."""
    letters: list[str] = []
    ellipsis = False
    k = 0
    while k < len(term):
        c = term[k]
        if c == ".":
            who = f"for operand {op_index}" if op_index is not None else "in the output"
            if ellipsis:
                raise RuntimeError(f"einsum(): found '.' {who} for which an ellipsis was already found")
            if term[k:k + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' {who} that is not part of any ellipsis")
            ellipsis = True
            letters.append("...")
            k += 3
            continue
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + k} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
        letters.append(c)
        k += 1
    return letters, ellipsis


def _sublist_equation(args: Sequence[Any]) -> tuple[str, list]:
    """einsum(op0, sublist0, op1, sublist1, ..., [sublist_out]) as an equation string."""
    def term(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
    ops = list(args[0::2])
    subs = list(args[1::2])
    if len(ops) > len(subs):  # a trailing output sublist
        eq = ",".join(term(s) for s in subs) + "->" + term(ops.pop())
    else:
        eq = ",".join(term(s) for s in subs)
    return eq, ops


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``, with '...' and implicit outputs."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    eq = equation.replace(" ", "")
    arrow = eq.find("->")
    lhs = eq if arrow < 0 else eq[:arrow]
    raw_terms = lhs.split(",")
    if len(raw_terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(raw_terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    parsed = []
    start = 0
    for i, (term, t) in enumerate(zip(raw_terms, operands)):
        letters, ell = _parse_term(term, start, i)
        start += len(term) + 1
        nd = t._data.ndim
        n_sub = len(letters) - ell
        if not ell and n_sub != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_sub}) does not match the "
                               f"number of dimensions ({nd}) for operand {i} and no ellipsis was given")
        if ell and n_sub > nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_sub}) is more than the "
                               f"number of dimensions ({nd}) for operand {i}")
        parsed.append((letters, ell))
    # ellipsis dimensions get letters not used anywhere in the equation, right-aligned
    used = set(c for c in eq if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    ell_nd = max((t._data.ndim - (len(p[0]) - 1) for p, t in zip(parsed, operands) if p[1]), default=0)
    ell_letters = free[:ell_nd]
    terms = []
    ell_sizes = [1] * ell_nd
    for i, ((letters, ell), t) in enumerate(zip(parsed, operands)):
        if ell:
            k = t._data.ndim - (len(letters) - 1)
            pos = letters.index("...")
            mine = ell_letters[ell_nd - k:]
            for j in range(len(mine)):
                n = t._data.shape[pos + j]
                slot = ell_nd - k + j
                if n != 1 and ell_sizes[slot] != 1 and n != ell_sizes[slot]:
                    raise RuntimeError(f"einsum(): dimension {j} covered by ellipsis in operand {i}has size {n} "
                                       f"which does not broadcast with previously seen ellipsis with size "
                                       f"{ell_sizes[slot]} for the respective dimension")
                if n != 1:
                    ell_sizes[slot] = n
            letters = letters[:pos] + mine + letters[pos + 1:]
        terms.append("".join(letters))
    sizes: dict[str, int] = {}
    for i, (term, t) in enumerate(zip(terms, operands)):
        mine: dict[str, int] = {}
        for letter, n in zip(term, t._data.shape):
            if letter in mine and mine[letter] != n:
                raise RuntimeError(f"einsum(): subscript {letter} is repeated for operand {i} but the sizes don't "
                                   f"match, {n} != {mine[letter]}")
            mine[letter] = n
            old = sizes.get(letter)
            if old is not None and old != n and old != 1 and n != 1:
                raise RuntimeError(f"einsum(): subscript {letter} has size {n} for operand {i} which does not "
                                   f"broadcast with previously seen size {old}")
            if old is None or old == 1:
                sizes[letter] = n
    if arrow < 0:
        counts: dict[str, int] = {}
        for term in terms:
            for letter in term:
                counts[letter] = counts.get(letter, 0) + 1
        singles = sorted(c for c, k in counts.items() if k == 1 and c not in ell_letters)
        out = "".join(ell_letters) + "".join(singles)
    else:
        letters, ell = _parse_term(eq[arrow + 2:], arrow + 2, None)
        for letter in letters:
            if letter != "..." and letter not in sizes:
                raise RuntimeError(f"einsum(): output subscript {letter} does not appear in the equation for any "
                                   "input operand")
            if letter != "..." and letters.count(letter) > 1:
                raise RuntimeError(f"einsum(): output subscript {letter} appears more than once in the output")
        out = "".join("".join(ell_letters) if c == "..." else c for c in letters)
    first = operands[0]
    for t in operands[1:]:
        if t._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {_sname(first)} but found {_sname(t)}")
    work = math.prod(sizes.values())
    return Einsum.apply(*operands, terms=terms, out=out, optimize=len(operands) > 2 or work >= _OPTIMIZE_WORK)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contract ``dims`` of ``a`` with ``dims`` of ``b`` (an int: the last/first dims; or two lists)."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.item() if dims._data.ndim == 0 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > na or dims > nb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        for k, d in enumerate((da, db)):
            if isinstance(d, int):
                raise TypeError(f"tensordot(): argument '{('dims_self', 'dims_other')[k]}' (position {3 + k}) must "
                                "be tuple of ints, not int")
        da, db = list(da), list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
        da = [wrap_dim(d, na) for d in da]
        db = [wrap_dim(d, nb) for d in db]
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    ta = list(_LETTERS[:na])
    tb = list(_LETTERS[na:na + nb])
    for x, y in zip(da, db):
        sx, sy = a._data.shape[x], b._data.shape[y]
        if sx != sy:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sx} in dim {x} and "
                               f"second has size {sy} in dim {y}")
        tb[y] = ta[x]
    out_terms = [c for k, c in enumerate(ta) if k not in da] + [c for k, c in enumerate(tb) if k not in db]
    work = math.prod(a._data.shape) * math.prod(s for k, s in enumerate(b._data.shape) if k not in db)
    result = Einsum.apply(a, b, terms=["".join(ta), "".join(tb)], out="".join(out_terms),
                          optimize=work >= _OPTIMIZE_WORK, label="ViewBackward0")
    return result if out is None else _out(result, out)


def kron(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    a = _reshape(input, [v for s in sa for v in (s, 1)])
    b = _reshape(other, [v for s in sb for v in (1, s)])
    result = _reshape(a * b, [x * y for x, y in zip(sa, sb)])
    return result if out is None else _out(result, out)


class Cross(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return self_xp(a).cross(a, b, axis=self.dim)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        na, nb = self.next_edges
        ga = sum_to(Cross.apply(b, grad, dim=self.dim), a._data.shape) if na is not None else None
        gb = sum_to(Cross.apply(grad, a, dim=self.dim), b._data.shape) if nb is not None else None
        return ga, gb

    def name(self) -> str:
        return "LinalgCrossBackward0"


def _cross(input: Tensor, other: Tensor, dim: int) -> Tensor:
    if input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input._data.ndim)
    sa, sb = input._data.shape[d], other._data.shape[d]
    if sa != 3 or sb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa} and {sb}")
    _broadcast_shapes(input._data.shape, other._data.shape)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(input)} but found {_sname(other)}")
    return Cross.apply(input, other, dim=d)


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    """torch.cross: without ``dim``, the first dimension of size 3."""
    if dim is None:
        import warnings

        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        try:
            shape = _broadcast_shapes(input._data.shape, other._data.shape)
        except RuntimeError:
            shape = input._data.shape
        dim = next((k for k, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    result = _cross(input, other, dim)
    return result if out is None else _out(result, out)


class Trace(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        r = self_xp(x).trace(x)
        return r.astype(np.int64) if x.dtype.kind in "iub" else r

    def backward(self, grad: Tensor) -> Tensor:
        n, m = self.in_shape
        return grad * _const(grad._xp.eye(n, m, dtype=grad._data.dtype))


def trace(input: Tensor) -> Tensor:
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    if input._data.dtype == _BOOL:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Trace.apply(input)


class _EyeLike(Op):
    """Identity matrices shaped like the input (A**0); its gradient is zero."""

    def forward(self, x: Any) -> Any:
        xp = self_xp(x)
        return xp.broadcast_to(xp.eye(x.shape[-1], dtype=x.dtype), x.shape).copy()

    def backward(self, grad: Tensor) -> Tensor:
        return grad * 0

    def name(self) -> str:
        return "CopyBackwards"


def _check_square(A: Tensor, fname: str) -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are {m} by {n} matrices")


def _check_float(A: Tensor, fname: str) -> None:
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got {_sname(A)}")


def matrix_power(input: Tensor, n: int) -> Tensor:
    _check_square(input, "linalg.matrix_power")
    if n == 0:
        return _EyeLike.apply(input)
    if n < 0:
        input, n = inv(input, fname="linalg.inv"), -n
    # binary powering, as PyTorch does
    result = None
    z = input
    while n > 0:
        if n & 1:
            result = z if result is None else Matmul.apply(result, z)
        n >>= 1
        if n:
            z = Matmul.apply(z, z)
    return result


# -- decompositions and solvers ---------------------------------------------------------------------
def _first_zero_pivot(m: np.ndarray) -> int | None:
    """1-based index of the first exactly-zero pivot of a partially pivoted LU (LAPACK getrf's info)."""
    u = np.array(m, copy=True)
    n = u.shape[0]
    first = None
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            first = k + 1 if first is None else first
            continue
        if p != k:
            u[[k, p]] = u[[p, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return first


def _singular_report(A: Any) -> tuple[int, int]:
    """(batch element, diagonal element) of the first singular matrix in a batch."""
    host = A if type(A) is np.ndarray else A.get()
    mats = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(mats):
        k = _first_zero_pivot(m)
        if k is not None:
            return b, k
    return 0, mats.shape[-1]  # our rounding differed from LAPACK's: report the last pivot


class LinalgInvEx(Op):
    save_output = True

    def forward(self, a: Any) -> Any:
        try:
            return self_xp(a).linalg.inv(a)
        except np.linalg.LinAlgError:
            b, k = _singular_report(a)
            prefix = f"(Batch element {b}): " if a.ndim > 2 else ""
            raise LinAlgError(f"{self.fname}: {prefix}The diagonal element {k} is zero, the inversion could not be "
                              "completed because the input matrix is singular.") from None

    def backward(self, grad: Tensor) -> Tensor:
        inv_h = _mH(self.saved_output)
        return -Matmul.apply(Matmul.apply(inv_h, grad), inv_h)


def inv(A: Tensor, *, fname: str = "linalg.inv") -> Tensor:
    _check_square(A, fname)
    _check_float(A, fname)
    return LinalgInvEx.apply(A, fname=fname)


def inverse(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    result = inv(input)
    return result if out is None else _out(result, out)


class LinalgDet(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any) -> Any:
        return self_xp(a).linalg.det(a)

    def backward(self, grad: Tensor) -> Tensor:
        (a,) = self.saved_inputs
        det = self.saved_output
        g = grad * _conj(det)
        g = _reshape(g, g._data.shape + (1, 1))
        singular = det._data == 0
        if not bool(singular.any()):
            return g * _mH(inv(a))
        # PyTorch's gradient is det * A^{-H}, i.e. zero where det == 0; invert the others (first order)
        xp = a._xp
        safe = xp.where(singular[..., None, None], xp.eye(a._data.shape[-1], dtype=a._data.dtype), a._data)
        return g * _const(xp.linalg.inv(safe).swapaxes(-1, -2).conj())

    def name(self) -> str:
        return "LinalgDetBackward0"


def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    _check_square(A, "linalg.det")
    _check_float(A, "linalg.det")
    result = LinalgDet.apply(A)
    return result if out is None else _out(result, out)




class LinalgSlogdet(Op):
    save_inputs = True
    nondiff_outputs = (0,)

    def forward(self, a: Any) -> Any:
        sign, logabs = self_xp(a).linalg.slogdet(a)
        return sign.astype(a.dtype, copy=False), logabs.astype(a.real.dtype, copy=False)

    def backward(self, gsign: Tensor, glogabs: Tensor) -> Tensor:
        (a,) = self.saved_inputs
        return _reshape(glogabs, glogabs._data.shape + (1, 1)) * _mH(inv(a))


def _slogdet(A: Tensor, fname: str) -> tuple[Tensor, Tensor]:
    _check_square(A, fname)
    _check_float(A, fname)
    return LinalgSlogdet.apply(A)


def slogdet(input: Tensor) -> Any:
    return return_types.slogdet(_slogdet(input, "linalg.slogdet"))


def logdet(input: Tensor) -> Tensor:
    """log(det(A)): nan for a negative determinant, -inf for a singular matrix."""
    sign, logabs = _slogdet(input, "linalg.slogdet")
    xp = input._xp
    negative = sign._data.real < 0  # nan there, with no gradient (PyTorch selects a constant nan)
    return _MaskZero.apply(logabs, mask=negative) + _const(xp.where(negative, xp.nan, 0).astype(logabs._data.dtype))


class LinalgSolveEx(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        xp = self_xp(a)
        try:
            if self.vector:
                return xp.linalg.solve(a, b[..., None])[..., 0]
            return xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") \
                from None

    def backward(self, grad: Tensor) -> tuple:
        a, _ = self.saved_inputs
        x = self.saved_output
        na, nb = self.next_edges
        gb = LinalgSolveEx.apply(_mH(a), grad, vector=self.vector)
        ga = None
        if na is not None:
            if self.vector:
                ga = -Matmul.apply(_reshape(gb, gb._data.shape + (1,)), _reshape(_conj(x), x._data.shape[:-1] +
                                                                                (1, x._data.shape[-1])))
            else:
                ga = -Matmul.apply(gb, _mH(x))
            ga = sum_to(ga, a._data.shape)
        return ga, (sum_to(gb, self.saved_inputs[1]._data.shape) if nb is not None else None)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    _check_square(A, "linalg.solve")
    _check_float(A, "linalg.solve")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_sname(A)} and B of type {_sname(B)} instead")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        result = _mT(solve(_mT(A), _mT(B)))
        return result if out is None else _out(result, out)
    sa, sb = A._data.shape, B._data.shape
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and sb == sa[:-1])
    rows = sb[-1] if vector else (sb[-2] if B._data.ndim >= 2 else None)
    if rows != sa[-1]:
        shown = f"{sb[-1]}x1" if vector or B._data.ndim < 2 else _shape_x(sb[-2:])
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({_shape_x(sa[-2:])} and {shown})")
    _broadcast_shapes(sa[:-2], sb[:-1] if vector else sb[:-2])
    result = LinalgSolveEx.apply(A, B, vector=vector)
    return result if out is None else _out(result, out)


class LinalgCholeskyEx(Op):
    save_output = True

    def forward(self, a: Any) -> Any:
        xp = self_xp(a)
        try:
            low = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            b, k = _not_pd_report(a)
            prefix = f"(Batch element {b}): " if a.ndim > 2 else ""
            raise LinAlgError(f"linalg.cholesky: {prefix}The factorization could not be completed because the input "
                              f"is not positive-definite (the leading minor of order {k} is not "
                              "positive-definite).") from None
        return low.swapaxes(-1, -2).conj() if self.upper else low

    def backward(self, grad: Tensor) -> Tensor:
        L = self.saved_output
        if self.upper:
            L, grad = _mH(L), _mH(grad)
        n = L._data.shape[-1]
        xp = L._xp
        mask = xp.tril(xp.ones((n, n), dtype=L._data.real.dtype)) - 0.5 * xp.eye(n, dtype=L._data.real.dtype)
        phi = Matmul.apply(_mH(L), grad) * _const(mask)
        l_inv = inv(L)
        g = Matmul.apply(Matmul.apply(_mH(l_inv), phi), l_inv)
        return (g + _mH(g)) * 0.5

    def name(self) -> str:
        return "LinalgCholeskyExBackward0"


def _not_pd_report(a: Any) -> tuple[int, int]:
    host = a if type(a) is np.ndarray else a.get()
    mats = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(mats):
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return b, k
    return 0, mats.shape[-1]


def cholesky(A: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    _check_square(A, "linalg.cholesky")
    _check_float(A, "linalg.cholesky")
    result = LinalgCholeskyEx.apply(A, upper=upper)
    return result if out is None else _out(result, out)




class LinalgQr(Op):
    def forward(self, a: Any) -> Any:
        xp = self_xp(a)
        if self.mode == "r":
            r = xp.linalg.qr(a, mode="r")
            return xp.empty((0,), dtype=a.dtype), r
        q, r = xp.linalg.qr(a, mode=self.mode)
        self.q, self.r = q, r
        return q, r

    def backward(self, gq: Tensor, gr: Tensor) -> Tensor:
        m, n = self.q.shape[-2], self.r.shape[-1]
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if m < n or (self.mode == "complete" and m > n):
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols "
                               "or when nrows < ncols.")
        # A = QR: gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q
        q, r = _const(self.q), _const(self.r)
        M = Matmul.apply(r, _mH(gr)) - Matmul.apply(_mH(gq), q)
        xp = q._xp
        low = xp.tril(xp.ones((n, n), dtype=self.r.real.dtype), -1)
        Ml = M * _const(low)
        sym = Ml + _mH(Ml) + M * _const(xp.eye(n, dtype=low.dtype))
        return Matmul.apply(gq + Matmul.apply(q, sym), _mH(inv(r)))

    def name(self) -> str:
        return "LinalgQrBackward0"


def _qr(A: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    if A._data.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _check_float(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    return LinalgQr.apply(A, mode=mode)


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    return return_types.qr(_qr(input, "reduced" if some else "complete"))




class LinalgSvd(Op):
    """(U, S, Vh). Backward (first order): through S always; through U and Vh for real inputs with
    distinct singular values, the standard formula for the reduced decomposition."""

    def forward(self, a: Any) -> Any:
        u, s, vh = self_xp(a).linalg.svd(a, full_matrices=self.full_matrices)
        self.u, self.s, self.vh = u, s, vh
        return u, s.astype(a.real.dtype, copy=False), vh

    def backward(self, gu: Tensor, gs: Tensor, gvh: Tensor) -> Tensor:
        xp = gs._xp
        s = self.s
        k = s.shape[-1]
        m, n = self.u.shape[-2], self.vh.shape[-1]
        U, Vh = _const(self.u[..., :, :k]), _const(self.vh[..., :k, :])
        inner = _diag_embed(gs)
        uv_grad = bool(xp.any(gu._data)) or bool(xp.any(gvh._data))
        if not uv_grad:
            return Matmul.apply(Matmul.apply(U, inner), Vh)
        if self.full_matrices and m != n:
            raise RuntimeError("linalg.svd: The derivative of linalg.svd is not implemented when full_matrices=True "
                               "and the matrix is not square. Use full_matrices=False.")
        gu = _const(gu._data[..., :, :k]) if gu._data.shape[-1] != k else gu
        gvh = _const(gvh._data[..., :k, :]) if gvh._data.shape[-2] != k else gvh
        e = s[..., None, :] ** 2 - s[..., :, None] ** 2
        F = _const(xp.where(e == 0, 0, 1 / xp.where(e == 0, 1, e)).astype(s.dtype))
        S_row = _const(s[..., None, :])  # scales columns
        S_col = _const(s[..., :, None])  # scales rows
        J = Matmul.apply(_mH(U), gu)
        K = Matmul.apply(Vh, _mH(gvh))
        inner = inner + (J - _mH(J)) * F * S_row + S_col * ((K - _mH(K)) * F)
        g = Matmul.apply(Matmul.apply(U, inner), Vh)
        s_inv = _const(xp.where(s == 0, 0, 1 / xp.where(s == 0, 1, s))[..., None, :])
        if m > k:  # the part of gU outside the column space of U
            proj = gu - Matmul.apply(U, J)
            g = g + Matmul.apply(proj * s_inv, Vh)
        if n > k:
            gv = _mH(gvh)
            proj = gv - Matmul.apply(_mH(Vh), K)
            g = g + Matmul.apply(U * s_inv, _mH(proj))
        return g

    def name(self) -> str:
        return "LinalgSvdBackward0"


def _diag_embed(v: Tensor) -> Tensor:
    n = v._data.shape[-1]
    return _reshape(v, v._data.shape[:-1] + (1, n)) * _const(v._xp.eye(n, dtype=v._data.dtype))


def _svd(A: Tensor, full_matrices: bool, fname: str) -> tuple[Tensor, Tensor, Tensor]:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    _check_float(A, fname)
    return LinalgSvd.apply(A, full_matrices=full_matrices)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """torch.svd: (U, S, V) with V = Vh^H (reduced unless ``some=False``)."""
    u, s, vh = _svd(input, not some, "linalg.svd")
    if not compute_uv:
        xp = input._xp
        return return_types.svd((_const(xp.zeros_like(u._data)), s, _const(xp.zeros_like(vh._data))))
    return return_types.svd((u, s, _mH(vh)))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    from disttorch.linalg import pinv

    return pinv(input, rtol=rcond)


# -- Tensor methods ---------------------------------------------------------------------------------
Tensor.__matmul__ = _matmul_op
Tensor.__rmatmul__ = _rmatmul
for _name in ("matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv", "addbmm",
              "baddbmm", "kron", "cross", "trace", "matrix_power", "det", "logdet", "slogdet", "inverse",
              "pinverse", "cholesky", "svd", "qr"):
    attach(_name, globals()[_name])
for _name in ("addmm", "addmv", "addbmm", "baddbmm"):
    attach(_name + "_", _inplace(globals()[_name]))
del _name
