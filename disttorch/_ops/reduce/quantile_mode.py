"""quantile / nanquantile (PyTorch's five interpolations, differentiable through sort and gather) and mode
(the most frequent value along a dim; ties go to the smallest value, the index to its last occurrence)."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch import return_types
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from .._register import methods
from ._common import check_nonempty_dims, kept_shape, one_dim, write_outs
from .extremes import PickAlongDim

__all__ = ["quantile", "nanquantile", "mode"]

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_quantile_args(input: Tensor, q: Any, interpolation: str, what: str) -> Any:
    """The q values as an array of input's dtype (0-d for a scalar q), after PyTorch's checks."""
    if input.dtype not in (D.float32, D.float64):
        raise RuntimeError(f"{what}() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{what}() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{what}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    xp = input._xp
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{what}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{what}() q tensor must be same dtype as the input tensor")
        if q.device != input.device:
            raise RuntimeError(f"{what}() q tensor must be on the same device as the input tensor")
        qs = q._data
        if bool(((qs < 0) | (qs > 1)).any()):
            raise RuntimeError(f"{what}() q values must be in the range [0, 1]")
        return qs
    q = float(q)
    if not 0 <= q <= 1:
        raise RuntimeError(f"{what}() q must be in the range [0, 1] but got {q}")
    return xp.asarray(q, dtype=input._data.dtype)


def _quantile(input: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool,
              out: Any) -> Tensor:
    what = "nanquantile" if ignore_nan else "quantile"
    qs = _check_quantile_args(input, q, interpolation, what)
    xp = input._xp
    if dim is None:
        rows = input.reshape(-1)
        out_shape = tuple(1 for _ in input.shape) if keepdim else ()
    else:
        axis = one_dim(dim, max(input.ndim, 1))
        if input.ndim:
            check_nonempty_dims(input, (axis,), what)
        rows = input.movedim(axis, -1) if input.ndim else input.reshape(1)
        shape = tuple(input.shape)
        out_shape = kept_shape(shape, (axis,)) if keepdim else shape[:axis] + shape[axis + 1:]
    ordered = rows.sort(dim=-1).values  # NaN sorts last
    n = rows.shape[-1]
    nan = xp.isnan(rows._data)
    count = (n - nan.sum(axis=-1, keepdims=True)) if ignore_nan else xp.full(rows.shape[:-1] + (1,), n)
    qflat = qs.reshape(-1)  # (Q,)
    rank = qflat * (count - 1).astype(qflat.dtype)  # (..., Q)
    if not ignore_nan:  # a slice holding NaN gives NaN: point every rank at its last element (a NaN)
        rank = xp.where(nan.any(axis=-1, keepdims=True), float(n - 1), rank)
    empty_slice = count == 0  # nanquantile of all-NaN slices: NaN
    rank = xp.where(empty_slice, float(n - 1), rank)
    if interpolation == "nearest":
        rank = xp.round(rank)  # half to even, as PyTorch
    lower = xp.floor(rank).astype(xp.int64)
    upper = xp.minimum(xp.ceil(rank).astype(xp.int64), n - 1)
    lo = ordered.gather(-1, Tensor._from_array(lower))
    if interpolation in ("lower", "nearest"):
        result = lo
    else:
        hi = ordered.gather(-1, Tensor._from_array(upper))
        if interpolation == "higher":
            result = hi
        elif interpolation == "midpoint":
            result = lo + (hi - lo) * 0.5
        else:
            weight = Tensor._from_array((rank - lower).astype(qflat.dtype))
            result = lo + weight * (hi - lo)
    if ignore_nan and bool(empty_slice.any()):
        result = result.masked_fill(Tensor._from_array(xp.broadcast_to(empty_slice, result.shape)), float("nan"))
    # (..., Q) -> (Q, *out_shape), or out_shape for a scalar q
    result = result.movedim(-1, 0).reshape((qflat.size, *out_shape)) if qs.ndim else result.reshape(out_shape)
    return write_outs(result, out)


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", out: Any = None) -> Tensor:
    """The q-th quantiles of ``input`` (over all elements, or along ``dim``); a 1-D ``q`` adds a leading dim."""
    return _quantile(input, q, dim, keepdim, interpolation, False, out)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out: Any = None) -> Tensor:
    """``quantile`` ignoring NaN values (NaN where a slice holds nothing else)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, out)


class _ModeDim(PickAlongDim):
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        self.in_shape = x.shape
        a = x if x.ndim else x.reshape(1)
        rows = xp.moveaxis(a, self.axis, -1)
        order = xp.argsort(rows, axis=-1, kind="stable")  # equal values keep their original order
        ordered = xp.take_along_axis(rows, order, axis=-1)
        n = rows.shape[-1]
        starts = xp.ones(rows.shape, dtype=bool)
        starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]  # NaN != NaN: every NaN is its own run
        position = xp.broadcast_to(xp.arange(n), rows.shape)
        # where each element's run starts (no cummax: cupy's ufuncs have no accumulate): the sorted start
        # positions, looked up by run number
        run_id = xp.cumsum(starts, axis=-1) - 1
        start_positions = xp.sort(xp.where(starts, position, n), axis=-1)
        run_start = xp.take_along_axis(start_positions, run_id, axis=-1)
        # the first position reaching the longest run ends the smallest most frequent value's run, and
        # (stable order) holds that value's last occurrence
        best = xp.argmax(position - run_start, axis=-1)[..., None]
        values = xp.moveaxis(xp.take_along_axis(ordered, best, axis=-1), -1, self.axis)
        index = xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, self.axis)
        return self._result(x, values, index)

    def name(self) -> str:
        return "ModeBackward0"


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """(values, indices): the most frequent value of each slice along ``dim`` and where it last occurs."""
    nd = input._data.ndim
    axis = one_dim(dim, max(nd, 1))
    if nd:
        check_nonempty_dims(input, (axis,), "mode")
    values, indices = _ModeDim.apply(input, axis=axis if nd else 0, keepdim=keepdim)
    return return_types.mode(write_outs((values, indices), out))


methods({"quantile": quantile, "nanquantile": nanquantile, "mode": mode})
