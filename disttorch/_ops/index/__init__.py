"""Indexing: ``t[...]`` and ``t[...] = v``, gather/scatter, index_* ops, masked ops, take/put, nonzero.

Basic indexing (ints, slices, None, Ellipsis) returns a view; anything with an index tensor,
list, array or mask returns a copy. Every op here reduces to two differentiable primitives on
a normalised numpy-style index tuple (``primitives``): ``Index`` (read ``x[idx]``) and ``IndexPut``
(write or accumulate ``v`` into ``x[idx]``). Modules: ``parse`` (index tuples), ``item`` (``t[...]``),
``gather_scatter``, ``index_ops``, ``masked``, ``flat`` (take/put).
"""
from .flat import _flat_index, _put_source, put, put_, take
from .gather_scatter import (
    ScatterReduce, _along, _check_range, _gather_idx, _scatter_idx, gather, scatter, scatter_, scatter_add,
    scatter_add_, scatter_reduce, scatter_reduce_, take_along_dim,
)
from .index_ops import (
    _dim_index, index_add, index_add_, index_copy, index_copy_, index_fill, index_fill_, index_put, index_put_,
    index_select,
)
from .item import __getitem__, __setitem__
from .masked import argwhere, masked_scatter, masked_scatter_, masked_select, nonzero
from .parse import _convert, _index_array, _is_basic, _on_device_of, _parse
from .primitives import (
    Index, IndexPut, View, _broadcast_message, _check_put_dtype, _index, _IndexGrad, _MaskOut, _put, _scatter,
    _value_for,
)

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy",
           "index_fill", "index_put", "masked_select", "masked_scatter", "take", "take_along_dim", "nonzero",
           "argwhere", "put"]
