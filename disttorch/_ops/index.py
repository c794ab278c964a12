"""Indexing: ``t[...]`` and ``t[...] = v``, gather/scatter, index_* ops, masked ops, nonzero.

Basic indexing (ints, slices, None, Ellipsis) returns a view; anything with an index tensor,
list, array or mask returns a copy. Every op here reduces to two differentiable primitives on
a normalised numpy-style index tuple: ``Index`` (read ``x[idx]``) and ``IndexPut`` (write or
accumulate ``v`` into ``x[idx]``); their backwards are each other (plus ``_IndexGrad`` /
``_MaskOut`` for the gradient of the indexed tensor).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import backend_for_array

from ._util import BroadcastTo, as_tensor_like, attach, cast, self_xp, sum_to, to_device_of, wrap_dim

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy",
           "index_fill", "index_put", "masked_select", "masked_scatter", "take", "take_along_dim", "nonzero",
           "argwhere", "put"]

_from_array = Tensor._from_array
_ndarray = np.ndarray
_INT_KINDS = "iu"


# -- raw-array helpers -----------------------------------------------------------------------------------
def _scatter_add(target: Any, idx: Any, values: Any) -> None:
    """target[idx] += values with repeated indices summed."""
    if type(target) is _ndarray:
        np.add.at(target, idx, values)
    else:
        backend_for_array(target).kernels["scatter_add"](target, idx, values)


def _ufunc_at(target: Any, idx: Any, values: Any, op: str) -> None:
    """Unbuffered in-place ``op`` (add, multiply, maximum, minimum) of values into target[idx]."""
    if op == "add":
        return _scatter_add(target, idx, values)
    ufunc = getattr(self_xp(target), op)
    if hasattr(ufunc, "at"):
        ufunc.at(target, idx, values)
        return None
    import cupyx  # cupy spells the unbuffered reductions differently

    fn = {"maximum": "scatter_max", "minimum": "scatter_min"}.get(op)
    if fn is None:
        raise NotImplementedError(f"unbuffered {op} is not available on this device")
    getattr(cupyx, fn)(target, idx, values)
    return None


def _xp_index(arr: Any, like: Any) -> Any:
    """An index array on the device of ``like``."""
    if type(like) is _ndarray:
        return arr if type(arr) is _ndarray else backend_for_array(arr).to_numpy(arr)
    return backend_for_array(like).xp.asarray(arr)


def _is_basic(idx: tuple) -> bool:
    return all(type(i) in (int, slice) or i is None or i is Ellipsis for i in idx)


# -- parsing t[index] ------------------------------------------------------------------------------------
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
              "(got {})")


def _convert(item: Any) -> Any:
    """One index item as int, slice, None, Ellipsis, bool, or an array (int or bool)."""
    t = type(item)
    if t is int or t is slice or item is None or item is Ellipsis or t is bool:
        return item
    if isinstance(item, Tensor):
        arr = item._data
        kind = arr.dtype.kind
        if kind in _INT_KINDS and arr.dtype != np.uint8:
            return int(arr.item()) if arr.ndim == 0 else arr
        if kind == "b" or arr.dtype == np.uint8:
            if arr.ndim == 0:
                return bool(arr.item())
            return arr.astype(bool) if kind != "b" else arr
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if isinstance(item, np.integer):
        return int(item)
    if isinstance(item, np.bool_):
        return bool(item)
    if isinstance(item, (list, tuple, np.ndarray)):
        arr = np.asarray([_host(i) for i in item] if isinstance(item, (list, tuple)) else item)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr
    raise IndexError(_BAD_INDEX.format(type(item).__name__))


def _host(v: Any) -> Any:
    return v.__array__() if isinstance(v, Tensor) else v


def _check_int_array(arr: Any, size: int, dim: int) -> None:
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    if hi >= size or lo < -size:
        bad = hi if hi >= size else lo
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _parse(x: Any, index: Any) -> tuple[tuple, bool, str]:
    """Normalise ``index`` against array ``x``: (numpy index tuple, advanced?, torch node kind)."""
    items = [_convert(i) for i in (index if type(index) is tuple else (index,))]
    consumed = 0
    for it in items:
        if it is None or it is Ellipsis or type(it) is bool:
            continue
        consumed += it.ndim if not isinstance(it, (int, slice)) and it.dtype.kind == "b" else 1
    shape = x.shape
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out: list = []
    adv = False
    kind = "Alias"
    dim = 0
    seen_ellipsis = False
    for it in items:
        t = type(it)
        if t is int:
            size = shape[dim]
            if it >= size or it < -size:
                raise IndexError(f"index {it} is out of bounds for dimension {dim} with size {size}")
            out.append(it)
            kind = "Select"
            dim += 1
        elif t is slice:
            if it.step is not None and _host_int(it.step) <= 0:
                raise ValueError("step must be greater than zero")
            if it.start is not None or it.stop is not None or it.step is not None:
                it = slice(_host_int(it.start), _host_int(it.stop), _host_int(it.step))
                kind = "Slice"
            out.append(it)
            dim += 1
        elif it is None:
            out.append(None)
            kind = "Unsqueeze"
        elif it is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            out.append(Ellipsis)
            dim += len(shape) - consumed
        elif t is bool:
            out.append(np.bool_(it))
            adv = True
        elif it.dtype.kind == "b":
            for j in range(it.ndim):
                if it.shape[j] != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(it.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {dim + j}")
            out.extend(_xp_index(a, x) for a in it.nonzero())
            adv = True
            dim += it.ndim
        else:
            _check_int_array(it, shape[dim], dim)
            out.append(_xp_index(it, x))
            adv = True
            dim += 1
    if adv:
        return tuple(out), True, "Index"
    if not seen_ellipsis:
        out.append(Ellipsis)  # numpy then returns a 0-dim view instead of a scalar copy
    return tuple(out), False, kind


def _host_int(v: Any) -> Any:
    return int(v) if isinstance(v, (Tensor, np.integer)) else v


# -- the primitives --------------------------------------------------------------------------------------
class Index(Op):
    """out = x[idx] (a copy: advanced indexing); ``flat`` indexes x viewed as 1-D."""

    kind = "Index"
    flat = False

    def forward(self, x: Any) -> Any:
        self.shape = x.shape
        return (x.reshape(-1) if self.flat else x)[self.idx]

    def backward(self, grad: Tensor) -> Tensor:
        return _IndexGrad.apply(grad, shape=self.shape, idx=self.idx, accumulate=True, flat=self.flat)

    def name(self) -> str:
        return self.kind + "Backward0"


class View(Index):
    """out = x[idx] for basic indices: shares storage and version counter with x."""

    view = True

    def backward(self, grad: Tensor) -> Tensor:
        return _IndexGrad.apply(grad, shape=self.shape, idx=self.idx, accumulate=False, flat=False)


class _IndexGrad(Op):
    """zeros(shape) with g written (or accumulated, for repeated indices) at idx."""

    flat = False

    def forward(self, g: Any) -> Any:
        out = self_xp(g).zeros(self.shape, g.dtype)
        target = out.reshape(-1) if self.flat else out
        if self.accumulate:
            _scatter_add(target, self.idx, g)
        else:
            target[self.idx] = g
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return Index.apply(grad, idx=self.idx, flat=self.flat)


class _MaskOut(Op):
    """g with zeros at idx (the gradient of a tensor whose entries at idx were overwritten)."""

    flat = False

    def forward(self, g: Any) -> Any:
        out = g.copy()
        (out.reshape(-1) if self.flat else out)[self.idx] = 0
        return out

    def backward(self, grad: Tensor) -> Tensor:
        return _MaskOut.apply(grad, idx=self.idx, flat=self.flat)


class IndexPut(Op):
    """out = x with v written (accumulate=False) or added (True) at idx; v broadcasts to x[idx]."""

    kind = "IndexPut"
    inplace = False
    flat = False

    def forward(self, x: Any, v: Any) -> Any:
        out = x if self.inplace else x.copy()
        self.vshape = v.shape
        target = out
        if self.flat:
            target = out.reshape(-1) if out.flags.c_contiguous else out.flatten()
        try:
            if self.accumulate:
                _scatter_add(target, self.idx, v)
            else:
                target[self.idx] = v
        except ValueError:
            raise RuntimeError(_broadcast_message(target, v.shape, self.idx)) from None
        if self.flat and not out.flags.c_contiguous:
            out[...] = target.reshape(out.shape)
        return out

    def backward(self, grad: Tensor) -> tuple:
        gx_edge, gv_edge = self.next_edges
        gx = gv = None
        if gx_edge is not None:
            gx = grad if self.accumulate else _MaskOut.apply(grad, idx=self.idx, flat=self.flat)
        if gv_edge is not None:
            gv = sum_to(Index.apply(grad, idx=self.idx, flat=self.flat), self.vshape)
        return gx, gv

    def name(self) -> str:
        return self.kind if ":" in self.kind or "Backward" in self.kind else self.kind + "Backward0"


def _broadcast_message(x: Any, vshape: tuple, idx: tuple) -> str:
    target = x[idx].shape
    if not _is_basic(idx):
        return (f"shape mismatch: value tensor of shape {list(vshape)} cannot be broadcast to indexing result "
                f"of shape {list(target)}")
    lead = len(target) - len(vshape)
    for i in range(len(vshape) - 1, -1, -1):
        t = target[lead + i] if lead + i >= 0 else 1
        if vshape[i] != 1 and vshape[i] != t:
            return (f"The expanded size of the tensor ({t}) must match the existing size ({vshape[i]}) at "
                    f"non-singleton dimension {lead + i}.  Target sizes: {list(target)}.  Tensor sizes: "
                    f"{list(vshape)}")
    return f"cannot broadcast value of shape {list(vshape)} to {list(target)}"


def _value_for(self: Tensor, value: Any) -> Tensor:
    """``value`` as a tensor of self's dtype on self's device (kept differentiable)."""
    if not isinstance(value, Tensor):
        return as_tensor_like(value, self, self.dtype)
    if type(value._data) is not type(self._data):
        value = value.to(self.device)
    return cast(value, self.dtype)


def _put(self: Tensor, idx: tuple, value: Tensor, accumulate: bool, kind: str, inplace: bool,
         flat: bool = False) -> Tensor:
    """Out-of-place or in-place IndexPut with autograd handled like PyTorch's in-place ops."""
    if not inplace:
        return IndexPut.apply(self, value, idx=idx, accumulate=accumulate, kind=kind, flat=flat)
    if self._needs_graph_for_inplace(value):
        return self._apply_inplace(
            lambda s: IndexPut.apply(s, value, idx=idx, accumulate=accumulate, kind=kind, flat=flat), value)
    IndexPut.apply(_from_array(self._data), _from_array(value._data), idx=idx, accumulate=accumulate,
                   inplace=True, flat=flat)
    self._version[0] += 1
    return self


def _index(x: Tensor, idx: tuple, kind: str = "Index", flat: bool = False) -> Tensor:
    return Index.apply(x, idx=idx, kind=kind, flat=flat)


# -- t[index] and t[index] = value -----------------------------------------------------------------------
def __getitem__(self: Tensor, index: Any) -> Tensor:
    idx, adv, kind = _parse(self._data, index)
    if adv:
        return Index.apply(self, idx=idx)
    return View.apply(self, idx=idx, kind=kind)


_SCALAR_NAMES = {"float64": "Double", "float32": "Float", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _check_put_dtype(self: Tensor, value: Any) -> None:
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        dst, src = (_SCALAR_NAMES.get(str(t._data.dtype), str(t._data.dtype)) for t in (self, value))
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got {dst} for the "
                           f"destination and {src} for the source.")


def _has_mask(index: Any) -> bool:
    items = index if type(index) is tuple else (index,)
    for i in items:
        arr = i._data if isinstance(i, Tensor) else i
        if isinstance(arr, (list, tuple)):
            arr = np.asarray(arr)
        if getattr(arr, "dtype", None) is not None and arr.dtype.kind == "b" and getattr(arr, "ndim", 0):
            return True
    return False


def __setitem__(self: Tensor, index: Any, value: Any) -> None:
    idx, adv, _ = _parse(self._data, index)
    if adv and isinstance(value, Tensor) and value._data.dtype != self._data.dtype and not _has_mask(index):
        _check_put_dtype(self, value)
    if self._needs_graph_for_inplace(value):
        if not adv and self._grad_fn is None and self._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        v = _value_for(self, value)
        kind = "IndexPut" if adv else "torch::autograd::CopySlices"
        self._apply_inplace(lambda s: IndexPut.apply(s, v, idx=idx, accumulate=False, kind=kind), v)
        return
    if isinstance(value, Tensor):
        arr = value._data
        if type(arr) is not type(self._data):
            arr = value.to(self.device)._data
    else:
        arr = value
    try:
        self._data[idx] = arr
    except ValueError:
        raise RuntimeError(_broadcast_message(self._data, np.shape(arr), idx)) from None
    self._version[0] += 1


attach("__getitem__", __getitem__)
attach("__setitem__", __setitem__)


# -- gather / scatter ------------------------------------------------------------------------------------
def _index_array(index: Any, op: str, like: Tensor) -> Any:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    arr = index._data
    if arr.dtype.kind not in _INT_KINDS:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")
    return _xp_index(arr, like._data)


def _along(index: Any, dim: int) -> tuple:
    """Index tuple selecting ``x[..., index[i, j, ...], ...]`` along ``dim`` (gather/scatter layout)."""
    xp = self_xp(index)
    nd = index.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            out.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(out)


def _check_range(index: Any, size: int, dim: int) -> None:
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _gather_idx(input: Tensor, dim: int, index: Tensor, op: str) -> tuple:
    idx = _index_array(index, op, input)
    shape = input._data.shape
    if idx.ndim != len(shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    dim = wrap_dim(dim, len(shape))
    for d in range(len(shape)):
        if d != dim and idx.shape[d] > shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(shape)} apart from dimension {dim}")
    _check_range(idx, shape[dim], dim)
    return _along(idx, dim)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out: Any = None) -> Tensor:
    return _index(input, _gather_idx(input, dim, index, "gather"), "Gather")


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out: Any = None) -> Tensor:
    if dim is None:
        arr = _index_array(indices, "take_along_dim", input).reshape(-1)
        _check_range(arr, int(input._data.size), 0)
        return _index(input, (arr,), "Gather", flat=True)
    dim = wrap_dim(dim, input.ndim)
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    shape_in, shape_ix = list(input.shape), list(indices.shape)
    shape_in[dim] = shape_ix[dim] = 1
    common = np.broadcast_shapes(tuple(shape_in), tuple(shape_ix))
    tgt_in = list(common)
    tgt_in[dim] = input.shape[dim]
    tgt_ix = list(common)
    tgt_ix[dim] = indices.shape[dim]
    x = input if tuple(input.shape) == tuple(tgt_in) else BroadcastTo.apply(input, shape=tuple(tgt_in))
    ix = _index_array(indices, "take_along_dim", input)
    ix = self_xp(ix).broadcast_to(ix, tuple(tgt_ix))
    _check_range(ix, x._data.shape[dim], dim)
    return _index(x, _along(ix, dim), "Gather")


def _scatter_idx(input: Tensor, dim: int, index: Tensor, src: Any, op: str) -> tuple[tuple, Any]:
    """The scatter index tuple and the part of ``src`` it reads (a tensor shaped like index)."""
    idx = _index_array(index, op, input)
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    if idx.ndim != len(shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    src_shape = src._data.shape if isinstance(src, Tensor) else None
    for d in range(len(shape)):
        if (d != dim and idx.shape[d] > shape[d]) or (src_shape is not None and idx.shape[d] > src_shape[d]):
            tail = f" and to be no larger size than src {list(src_shape)}" if src_shape is not None else ""
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} apart "
                               f"from dimension {dim}{tail}")
    _check_range(idx, shape[dim], dim)
    if isinstance(src, Tensor):
        src = cast(to_device_of(src, input), input.dtype)
        if src_shape != idx.shape:
            src = View.apply(src, idx=tuple(slice(0, n) for n in idx.shape), kind="Slice")
    else:
        src = as_tensor_like(src, input, input.dtype)
    return _along(idx, dim), src


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None, out: Any = None) -> Tensor:
    return _scatter(input, dim, index, src, value, reduce, False)


def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    return _scatter(self, dim, index, src, value, reduce, True)


def _scatter(input: Tensor, dim: int, index: Tensor, src: Any, value: Any, reduce: str | None,
             inplace: bool) -> Tensor:
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    idx, v = _scatter_idx(input, dim, index, src, "scatter")
    if reduce is None:
        return _put(input, idx, v, False, "Scatter" if isinstance(src, Tensor) else "ScatterBackward1", inplace)
    if reduce == "add":
        return _put(input, idx, v, True, "ScatterAdd", inplace)
    if reduce == "multiply":
        return _reduce_put(input, idx, v, "prod", True, inplace)
    raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    idx, v = _scatter_idx(input, dim, index, src, "scatter_add")
    return _put(input, idx, v, True, "ScatterAdd", False)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    idx, v = _scatter_idx(self, dim, index, src, "scatter_add")
    return _put(self, idx, v, True, "ScatterAdd", True)


_REDUCE_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


class ScatterReduce(Op):
    """out = x with src reduced into x[idx]; gradients follow PyTorch's scatter_reduce rules."""

    inplace = False

    def forward(self, x: Any, src: Any) -> Any:
        xp = self_xp(x)
        op = _REDUCE_UFUNC[self.reduce]
        out = x if self.inplace else x.copy()
        idx = self.idx
        keep = x.copy() if self.reduce in ("amax", "amin", "prod") else None
        count = None
        if not self.include_self:
            identity = {"add": 0, "multiply": 1, "maximum": _lowest(x.dtype), "minimum": _highest(x.dtype)}[op]
            out[idx] = identity
        _ufunc_at(out, idx, src, op)
        if self.reduce == "mean":
            count = xp.full(x.shape, 1 if self.include_self else 0, x.dtype)
            _scatter_add(count, idx, xp.ones(src.shape, x.dtype))
            count = xp.maximum(count, 1)
            out[...] = out // count if x.dtype.kind in "iub" else out / count
        self.saved = (keep, src, out.copy() if self.reduce in ("amax", "amin", "prod") else None, count)
        return out

    def backward(self, grad: Tensor) -> tuple:
        keep, src, res, count = self.saved
        idx, incl = self.idx, self.include_self
        xp = self_xp(grad._data)
        if self.reduce in ("sum", "mean"):
            g = grad if count is None else grad / _from_array(count)
            gx = g if incl else _MaskOut.apply(g, idx=idx)
            return gx, Index.apply(g, idx=idx)
        if self.reduce == "prod":
            # d(prod)/d(elem) = product of the other elements of the slot, zeros included
            nz_prod = xp.where(keep != 0, keep, 1) if incl else xp.ones_like(keep)
            zeros = (keep == 0).astype(np.int64) if incl else xp.zeros(keep.shape, np.int64)
            _ufunc_at(nz_prod, idx, xp.where(src != 0, src, 1), "multiply")
            _scatter_add(zeros, idx, (src == 0).astype(np.int64))
            others = xp.where(zeros == 1, nz_prod, 0)

            def deriv(vals: Any, r: Any, o: Any) -> Any:
                with np.errstate(divide="ignore", invalid="ignore"):
                    return xp.where(vals != 0, r / xp.where(vals != 0, vals, 1), o)

            dx = deriv(keep, res, others) if incl else xp.zeros_like(keep)
            dsrc = deriv(src, res[idx], others[idx])
            gx = grad * _from_array(dx) if incl else _MaskOut.apply(grad, idx=idx)
            return gx, Index.apply(grad, idx=idx) * _from_array(dsrc)
        # amax / amin: the gradient is shared evenly between all elements equal to the result
        hit_x = (keep == res) if incl else xp.zeros(keep.shape, bool)
        hit_src = src == res[idx]
        n = hit_x.astype(grad._data.dtype)
        _scatter_add(n, idx, hit_src.astype(grad._data.dtype))
        untouched = xp.zeros(keep.shape, bool)
        untouched[...] = True
        untouched[idx] = False
        share = xp.where(untouched, 1, hit_x / xp.maximum(n, 1))
        g = grad / _from_array(xp.maximum(n, 1).astype(grad._data.dtype))
        return grad * _from_array(share.astype(grad._data.dtype)), Index.apply(g, idx=idx) * _from_array(
            hit_src.astype(grad._data.dtype))

    def name(self) -> str:
        return "ScatterReduceBackward0"


def _lowest(dt: Any) -> Any:
    return -np.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min)


def _highest(dt: Any) -> Any:
    return np.inf if dt.kind == "f" else (True if dt.kind == "b" else np.iinfo(dt).max)


def _reduce_put(input: Tensor, idx: tuple, src: Tensor, reduce: str, include_self: bool, inplace: bool) -> Tensor:
    if not inplace:
        return ScatterReduce.apply(input, src, idx=idx, reduce=reduce, include_self=include_self)
    if input._needs_graph_for_inplace(src):
        return input._apply_inplace(
            lambda s: ScatterReduce.apply(s, src, idx=idx, reduce=reduce, include_self=include_self), src)
    ScatterReduce.apply(_from_array(input._data), _from_array(src._data), idx=idx, reduce=reduce,
                        include_self=include_self, inplace=True)
    input._version[0] += 1
    return input


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Any = None) -> Tensor:
    return _scatter_reduce(input, dim, index, src, reduce, include_self, False)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    return _scatter_reduce(self, dim, index, src, reduce, include_self, True)


def _scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool,
                    inplace: bool) -> Tensor:
    if reduce not in _REDUCE_UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx, v = _scatter_idx(input, dim, index, src, "scatter_reduce")
    return _reduce_put(input, idx, v, reduce, include_self, inplace)


# -- index_* ops -----------------------------------------------------------------------------------------
def _dim_index(input: Tensor, dim: int, index: Any, op: str) -> tuple[tuple, int]:
    """Index tuple selecting ``index`` (a vector) along ``dim``."""
    arr = _index_array(index, op, input)
    if arr.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    dim = wrap_dim(dim, input.ndim)
    size = input._data.shape[dim] if input.ndim else 1
    arr = arr.reshape(-1)
    if arr.size and (int(arr.min()) < -size or int(arr.max()) >= size):
        if op == "index_select":
            raise IndexError("index out of range in self")
        bad = int(arr.max()) if int(arr.max()) >= size else int(arr.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
    if input.ndim == 0:
        return (arr.reshape(()) if arr.size == 1 else arr,), dim
    return (slice(None),) * dim + (arr,), dim


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Any = None) -> Tensor:
    idx, _ = _dim_index(input, dim, index, "index_select")
    return _index(input, idx, "IndexSelect", flat=input.ndim == 0)


def _source_check(input: Tensor, dim: int, idx: tuple, source: Tensor, op: str) -> None:
    n = idx[-1].shape[0]
    if source.ndim and source.shape[dim] != n:
        raise RuntimeError(f"{op}(): Number of indices ({n}) should be equal to source.size(dim): "
                           f"({source.shape[dim]}), for dim: {dim}")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1,
              out: Any = None) -> Tensor:
    return _index_add(input, dim, index, source, alpha, False)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    return _index_add(self, dim, index, source, alpha, True)


def _index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, alpha: Any, inplace: bool) -> Tensor:
    idx, dim = _dim_index(input, dim, index, "index_add")
    _source_check(input, dim, idx, source, "index_add_")
    v = _value_for(input, source * alpha if alpha != 1 else source)
    return _put(input, idx, v, True, "IndexAdd", inplace, input.ndim == 0)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Any = None) -> Tensor:
    return _index_copy(input, dim, index, source, False)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return _index_copy(self, dim, index, source, True)


def _index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, inplace: bool) -> Tensor:
    idx, dim = _dim_index(input, dim, index, "index_copy")
    _source_check(input, dim, idx, source, "index_copy_")
    return _put(input, idx, _value_for(input, source), False, "IndexCopy", inplace, input.ndim == 0)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    idx, _ = _dim_index(input, dim, index, "index_fill")
    return _put(input, idx, _fill_value(input, value, "index_fill"), False, "IndexFill", False,
                input.ndim == 0)


def index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    idx, _ = _dim_index(self, dim, index, "index_fill")
    return _put(self, idx, _fill_value(self, value, "index_fill_"), False, "IndexFill", True,
                self.ndim == 0)


def _fill_value(input: Tensor, value: Any, op: str) -> Tensor:
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    return _value_for(input, value)


def _put_indices(input: Tensor, indices: Any) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    idx, adv, _ = _parse(input._data, tuple(slice(None) if i is None else i for i in indices))
    return idx


def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    _check_put_dtype(input, values)
    return _put(input, _put_indices(input, indices), _value_for(input, values), accumulate, "IndexPut", False)


def index_put_(self: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    _check_put_dtype(self, values)
    return _put(self, _put_indices(self, indices), _value_for(self, values), accumulate, "IndexPut", True)


# -- masks, take, put, nonzero ---------------------------------------------------------------------------
def _mask_array(mask: Tensor, op: str) -> Any:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op}: expected BoolTensor for mask (got {got})")
    return mask._data


def masked_select(input: Tensor, mask: Tensor, *, out: Any = None) -> Tensor:
    m = _xp_index(_mask_array(mask, "masked_select"), input._data)
    shape = np.broadcast_shapes(input._data.shape, m.shape)
    x = input if input._data.shape == shape else BroadcastTo.apply(input, shape=shape)
    m = self_xp(m).broadcast_to(m, shape)
    return _index(x, tuple(m.nonzero()), "MaskedSelect")


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return _masked_scatter(input, mask, source, False)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return _masked_scatter(self, mask, source, True)


def _masked_scatter(input: Tensor, mask: Tensor, source: Tensor, inplace: bool) -> Tensor:
    m = _xp_index(_mask_array(mask, "masked_scatter_"), input._data)
    if inplace:
        m = self_xp(m).broadcast_to(m, input._data.shape)
    else:
        shape = np.broadcast_shapes(input._data.shape, m.shape)
        if input._data.shape != shape:
            input = BroadcastTo.apply(input, shape=shape)
        m = self_xp(m).broadcast_to(m, shape)
    xp = self_xp(m)
    idx = tuple(m.nonzero()) if m.ndim else (m.reshape(1),)
    n = int(idx[0].shape[0]) if m.ndim else int(bool(m))
    if n > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    v = _value_for(input, _index(source, (xp.arange(n),), "MaskedScatter", flat=True))
    return _put(input, idx, v, False, "MaskedScatter", inplace, input.ndim == 0)


def _flat_index(input: Tensor, index: Tensor, op: str) -> tuple:
    arr = _index_array(index, op, input)
    numel = int(input._data.size)
    if arr.size and (int(arr.min()) < -numel or int(arr.max()) >= numel):
        bad = int(arr.max()) if int(arr.max()) >= numel else int(arr.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {numel} elements.")
    return (arr,)


def take(input: Tensor, index: Tensor) -> Tensor:
    return _index(input, _flat_index(input, index, "take"), "Take", flat=True)


def _put_source(input: Tensor, index: Tensor, source: Tensor) -> Tensor:
    v = _value_for(input, source)
    if v.numel() != index.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {v.numel()}, index.numel() = {index.numel()}")
    return v if v._data.shape == index._data.shape else v.reshape(index.shape)


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    idx = _flat_index(self, index, "put_")
    return _put(self, idx, _put_source(self, index, source), accumulate, "Put", True, True)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    idx = _flat_index(input, index, "put")
    return _put(input, idx, _put_source(input, index, source), accumulate, "Put", False, True)


def nonzero(input: Tensor, *, out: Any = None, as_tuple: bool = False) -> Any:
    arr = input._data
    xp = self_xp(arr)
    if as_tuple:
        if arr.ndim == 0:
            return (_from_array(xp.zeros(int(bool(arr)), np.int64)),)
        return tuple(_from_array(i.astype(np.int64, copy=False)) for i in arr.nonzero())
    if arr.ndim == 0:
        return _from_array(xp.zeros((int(bool(arr)), 0), np.int64))
    return _from_array(xp.stack(arr.nonzero(), axis=1).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


for _name in ("gather", "scatter", "scatter_", "scatter_add", "scatter_add_", "scatter_reduce", "scatter_reduce_",
              "index_select", "index_add", "index_add_", "index_copy", "index_copy_", "index_fill",
              "index_fill_", "index_put", "index_put_", "masked_select", "masked_scatter", "masked_scatter_",
              "take", "take_along_dim", "put_", "put", "nonzero", "argwhere"):
    attach(_name, globals()[_name])
