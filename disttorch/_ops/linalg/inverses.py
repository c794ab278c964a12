"""Determinants, inverses, solvers and matrix powers: det, slogdet, logdet, inv, inverse, solve,
matrix_power."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from .._register import methods, write_out
from .._util import sum_to
from ..compare import masked_fill
from ..unary import conj
from ._common import (
    LinAlgError,
    _broadcast_shapes,
    _check_float,
    _check_square,
    _const,
    _device_failed,
    _mH,
    _mT,
    _reshape,
    _shape_x,
    _sname,
)
from .products import Matmul

__all__ = ["matrix_power", "det", "logdet", "slogdet", "inverse"]


class _EyeLike(Op):
    """Identity matrices shaped like the input (A**0); its gradient is zero."""

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        return xp.broadcast_to(xp.eye(x.shape[-1], dtype=x.dtype), x.shape).copy()

    def backward(self, grad: Tensor) -> Tensor:
        return grad * 0

    def name(self) -> str:
        return "CopyBackwards"


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


# -- inverse ------------------------------------------------------------------------------------------------
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
    host = backend_for_array(A).to_numpy(A)
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
            r = array_module(a).linalg.inv(a)
            if type(a) is not np.ndarray and _device_failed(r, a):
                raise np.linalg.LinAlgError
            return r
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
    return write_out(inv(input), out)


# -- determinants ---------------------------------------------------------------------------------------------
class LinalgDet(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any) -> Any:
        return array_module(a).linalg.det(a)

    def backward(self, grad: Tensor) -> Tensor:
        (a,) = self.saved_inputs
        det = self.saved_output
        g = grad * conj(det)
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
    return write_out(LinalgDet.apply(A), out)


class LinalgSlogdet(Op):
    save_inputs = True
    nondiff_outputs = (0,)

    def forward(self, a: Any) -> Any:
        sign, logabs = array_module(a).linalg.slogdet(a)
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
    return masked_fill(logabs, _const(negative), 0) + _const(xp.where(negative, xp.nan, 0).astype(logabs._data.dtype))


# -- solve ----------------------------------------------------------------------------------------------------
class LinalgSolveEx(Op):
    save_inputs = True
    save_output = True

    def forward(self, a: Any, b: Any) -> Any:
        xp = array_module(a)
        try:
            r = xp.linalg.solve(a, b[..., None])[..., 0] if self.vector else xp.linalg.solve(a, b)
            if type(a) is not np.ndarray and _device_failed(r, a, b):
                raise np.linalg.LinAlgError
            return r
        except np.linalg.LinAlgError:
            prefix = f"(Batch element {_singular_report(a)[0]}): " if a.ndim > 2 else ""
            raise LinAlgError(f"torch.linalg.solve: {prefix}The solver failed because the input matrix is singular.") \
                from None

    def backward(self, grad: Tensor) -> tuple:
        a, _ = self.saved_inputs
        x = self.saved_output
        na, nb = self.next_edges
        gb = LinalgSolveEx.apply(_mH(a), grad, vector=self.vector)
        ga = None
        if na is not None:
            if self.vector:
                ga = -Matmul.apply(_reshape(gb, gb._data.shape + (1,)), _reshape(conj(x), x._data.shape[:-1] +
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
        return write_out(_mT(solve(_mT(A), _mT(B))), out)
    sa, sb = A._data.shape, B._data.shape
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and sb == sa[:-1])
    rows = sb[-1] if vector else (sb[-2] if B._data.ndim >= 2 else None)
    if rows != sa[-1]:
        shown = f"{sb[-1]}x1" if vector or B._data.ndim < 2 else _shape_x(sb[-2:])
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({_shape_x(sa[-2:])} and {shown})")
    _broadcast_shapes(sa[:-2], sb[:-1] if vector else sb[:-2])
    return write_out(LinalgSolveEx.apply(A, B, vector=vector), out)


methods({"matrix_power": matrix_power, "det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse})
