"""The ops that take float8 tensors, as PyTorch 2.13's CPU kernels do; every other op refuses them with
PyTorch's NotImplementedError (``Op.float8``, checked in ``Op.apply``; views take every dtype).

PyTorch on CPU runs data movement (clone, cat, stack, indexing, index_select, expand, repeat, roll, constant
pad, diag, copies and casts), ``abs``, ``mul`` of two tensors, and the products with a matrix on the right
(``mm``, ``matmul``, ``linear``) on float8 (``float8_e8m0fnu``: data movement and ``mul`` only); add, neg,
sum, exp, max, sort, ``bmm``, ``dot`` or a comparison other than ``==``/``!=`` has no float8 kernel there.
The arithmetic is done in float32 and rounded once to the float8 type with PyTorch's conversion
(``float8_e4m3fn`` saturates at 448). Ops that write without a graph node (``scatter_``, ``index_add_``,
``masked_fill_`` through ``t[mask] = v``, ``torch.equal``...) are not gated and run on float8 here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch.autograd.broadcast import BroadcastTo
from disttorch.autograd.graph import float8_unsupported
from disttorch.backends.float8 import check_scalar_fits, to_float8
from disttorch.nn._functional.linear import Linear
from disttorch.nn._functional.misc import ConstantPad

from .arith import Mul
from .creation import Clone, ToCopy
from .index.primitives import Index, IndexPut
from .linalg.products import Bmm, Matmul
from .shape.diagonal import DiagEmbed
from .shape.expand import Expand, Repeat
from .shape.join_split import Cat, SplitView, Stack, Unbind
from .shape.reorder import Roll
from .storage_views import PinMemory
from .unary.rounding_sign import Abs

_F32 = np.float32


def _mul(node: Any, a: Any, b: Any) -> Any:
    if (a.ndim == 0) != (b.ndim == 0):  # a tensor times a scalar: PyTorch's reduced-float scalar kernel
        raise float8_unsupported("mul_cpu_reduced_float", a.dtype)
    return to_float8(a.astype(_F32) * b.astype(_F32), a.dtype)


_E8M0 = "float8_e8m0fnu"  # a bare exponent: no abs and no matrix products either


def _abs(node: Any, x: Any) -> Any:
    if x.dtype.name == _E8M0:
        raise float8_unsupported("abs_cpu", x.dtype)
    return node.forward(x)


def _matmul(node: Any, a: Any, b: Any) -> Any:
    """Products PyTorch computes as one ``mm`` (a matrix on the right); vectors on the right (``mv``, ``dot``)
    and batches of matrices (``bmm``) have no float8 kernel."""
    node.nd = (a.ndim, b.ndim)
    if a.dtype.name == _E8M0 and b.ndim == 2:
        raise float8_unsupported("addmm_impl_cpu_", a.dtype)
    if b.ndim != 2:
        raise float8_unsupported("dot" if node.nd == (1, 1) else "addmv_impl_cpu" if b.ndim == 1 else "bmm",
                                 a.dtype)
    return to_float8(a.astype(_F32) @ b.astype(_F32), a.dtype)


def _linear(node: Any, x: Any, w: Any, b: Any) -> Any:
    if x.dtype.name == _E8M0:
        raise float8_unsupported("addmm_impl_cpu_", x.dtype)
    node.ndim, node.has_bias = x.ndim, b is not None
    y = x.astype(_F32) @ w.astype(_F32).T
    return to_float8(y if b is None else y + b.astype(_F32), x.dtype)


def _constant_pad(node: Any, x: Any) -> Any:
    check_scalar_fits(node.value, x.dtype, D._SCALAR_NAMES[D.from_np[x.dtype]])
    return node.forward(x)


def _refused_bmm(node: Any, a: Any, b: Any) -> Any:
    raise float8_unsupported("bmm", a.dtype)


for _op in (Clone, ToCopy, Index, IndexPut, Expand, Repeat, Cat, Stack, SplitView, Unbind, BroadcastTo,
            PinMemory, Roll, DiagEmbed):
    _op.float8 = True
Mul.float8 = _mul
Abs.float8 = _abs
ConstantPad.float8 = _constant_pad
Linear.float8 = _linear
Matmul.float8 = _matmul  # and Mm
Bmm.float8 = _refused_bmm
