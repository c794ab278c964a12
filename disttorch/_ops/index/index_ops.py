"""Ops that index one dim with a vector of positions: index_select, index_add, index_copy, index_fill;
and index_put (a tuple of index tensors). Their in-place forms come from ``inplace``."""
from __future__ import annotations

from typing import Any

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor

from .._register import inplace, methods, type_word, write_out
from .._util import wrap_dim
from .parse import _index_array, _parse
from .primitives import _check_put_dtype, _index, _put, _value_for

# PyTorch's index-dtype rule per op: (accepted dtype names, exception, message; {} is the index's dtype word)
_INDEX_DTYPES = {
    "index_select": (("int64", "int32"), RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
    "index_add": (("int64", "int32"), RuntimeError, "index_add_(): Expected dtype int32/int64 for index but got: {}"),
    "index_copy": (("int64",), RuntimeError, "index_copy_(): Expected a long tensor for index, but got {}"),
    "index_fill": (("int64",), IndexError, "index_fill_(): Expected dtype int64 for index."),
}


def _check_index_dtype(index: Any, op: str) -> None:
    accepted, exc, message = _INDEX_DTYPES[op]
    if isinstance(index, Tensor) and index.dtype.name not in accepted:
        raise exc(message.format(type_word(index.dtype)))


def _out_of_range(op: str, bad: int, dim: int, size: int, ndim: int) -> Exception:
    """PyTorch's error for an index outside the dim (its CPU kernels word it differently per op and dim)."""
    if op == "index_select":
        if dim == 1 and ndim > 1:
            return RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
        return IndexError("index out of range in self")
    text = f"index {bad} is out of bounds for dimension {dim} with size {size}"
    if op == "index_add":
        return RuntimeError(text)
    return IndexError(f"index_copy_(): {text}" if op == "index_copy" else text)


def _dim_index(input: Tensor, dim: int, index: Any, op: str) -> tuple[tuple, int]:
    """Index tuple selecting ``index`` (a vector) along ``dim``. Only index_fill takes negative positions."""
    _check_index_dtype(index, op)
    arr = _index_array(index, op, input)
    if arr.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    dim = wrap_dim(dim, input.ndim)
    size = input._data.shape[dim] if input.ndim else 1
    arr = arr.reshape(-1)
    low = -size if op == "index_fill" else 0
    if arr.size and (int(arr.min()) < low or int(arr.max()) >= size):
        bad = int(arr[(arr < low) | (arr >= size)][0])
        raise _out_of_range(op, bad, dim, size, input.ndim)
    if input.ndim == 0:
        return (arr.reshape(()) if arr.size == 1 else arr,), dim
    return (slice(None),) * dim + (arr,), dim


def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    idx, _ = _dim_index(input, dim, index, "index_select")
    return write_out(_index(input, idx, "IndexSelect", flat=input.ndim == 0), out)


def _source_check(input: Tensor, dim: int, idx: tuple, source: Tensor, op: str) -> None:
    if source._data.dtype != input._data.dtype:
        me, other = type_word(input.dtype), type_word(source.dtype)
        raise RuntimeError(f"index_add_(): self ({me}) and source ({other}) must have the same scalar type"
                           if op == "index_add_" else
                           f"{op}(): self and source expected to have the same dtype, but got (self) {me} and "
                           f"(source) {other}")
    n = idx[-1].shape[0]
    if source.ndim and source.shape[dim] != n:
        raise RuntimeError(f"{op}(): Number of indices ({n}) should be equal to source.size(dim): "
                           f"({source.shape[dim]}), for dim: {dim}")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1,
              out: Tensor | None = None) -> Tensor:
    idx, dim = _dim_index(input, dim, index, "index_add")
    _source_check(input, dim, idx, source, "index_add_")
    v = _value_for(input, source * alpha if alpha != 1 else source)
    return write_out(_put(input, idx, v, True, "IndexAdd", input.ndim == 0), out)


@autocast_op("index_copy")
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Tensor | None = None) -> Tensor:
    idx, dim = _dim_index(input, dim, index, "index_copy")
    _source_check(input, dim, idx, source, "index_copy_")
    return write_out(_put(input, idx, _value_for(input, source), False, "IndexCopy", input.ndim == 0), out)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    idx, _ = _dim_index(input, dim, index, "index_fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    return _put(input, idx, _value_for(input, value), False, "IndexFill", input.ndim == 0)


def _put_indices(input: Tensor, indices: Any) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    idx, adv, _ = _parse(input._data, tuple(slice(None) if i is None else i for i in indices))
    return idx


@autocast_op("index_put")
def index_put(input: Tensor, indices: Any, values: Tensor, accumulate: bool = False) -> Tensor:
    _check_put_dtype(input, values)
    return _put(input, _put_indices(input, indices), _value_for(input, values), accumulate, "IndexPut")


index_add_, index_copy_ = inplace(index_add), inplace(index_copy)
index_fill_ = inplace(index_fill, on_expanded="deprecated")
index_put_ = inplace(index_put, on_expanded="deprecated")

methods({
    "index_select": index_select, "index_add": index_add, "index_add_": index_add_, "index_copy": index_copy,
    "index_copy_": index_copy_, "index_fill": index_fill, "index_fill_": index_fill_, "index_put": index_put,
    "index_put_": index_put_,
})
