"""Shape and view ops, one family per module: ``views`` (view/reshape, squeeze, transpose/permute,
unfold, atleast_nd), ``expand`` (expand, broadcast, repeat/tile, meshgrid), ``join_split`` (cat/stack,
narrow/select, the split family, unbind), ``reorder`` (flip, roll, rot90), ``diagonal`` (tril/triu,
diagonals).

View ops (``view = True``, or ``_share`` for multi-output ones) return tensors over the same
storage and version counter as their input, as in PyTorch; the rest copy.
"""
from ._common import _ALL, _as_strided, _dims_arg, _share
from .diagonal import (
    DiagEmbed, Diagonal, DiagonalCopy, Tril, Triu, _diag_dims, _diag_view, diag, diag_embed, diagonal, tril, triu,
)
from .expand import (
    Expand, Repeat, _expand_shape, broadcast_shapes, broadcast_tensors, broadcast_to, expand, expand_as,
    expand_copy, meshgrid, repeat, tile,
)
from .join_split import (
    Cat, SplitView, Stack, Unbind, _basic_view, _promote_all, _result_dtype, _split_sizes, cat,
    chunk, column_stack, concat, concatenate, dsplit, dstack, hsplit, hstack, narrow, row_stack, select, split,
    split_with_sizes, stack, tensor_split, unbind, vsplit, vstack,
)
from .reorder import Flip, Roll, Rot90, flip, fliplr, flipud, roll, rot90
from .views import (
    Permute, Squeeze, Transpose, TransposeT, Unfold, UnfoldBackward, UnsafeView, Unsqueeze, View, _infer_size,
    _mT, _reshape_view, _T, _view, _view_strides, adjoint, atleast_1d, atleast_2d, atleast_3d, flatten, movedim,
    moveaxis, permute, ravel, reshape, reshape_as, squeeze, swapaxes, swapdims, t, transpose, unflatten, unfold,
    unsqueeze, view_as,
)

__all__ = [
    "reshape", "flatten", "unflatten", "ravel", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims",
    "permute", "t", "adjoint", "expand_copy", "broadcast_to", "broadcast_tensors", "broadcast_shapes", "tile",
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack", "split",
    "tensor_split", "hsplit", "vsplit", "dsplit", "chunk", "unbind", "narrow", "select", "movedim", "moveaxis",
    "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diagonal", "diag", "diag_embed", "meshgrid",
    "atleast_1d", "atleast_2d", "atleast_3d",
]
