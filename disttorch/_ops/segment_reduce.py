"""``torch.segment_reduce``: reduce consecutive segments of ``data`` along ``axis`` (sum, mean, max, min, prod),
the segments given by ``lengths`` or ``offsets``; ``initial`` joins every segment's reduction (a mean divides
by the segment's length only), and an empty segment without it gives 0, nan, -inf, inf or 1. Built on scatter_reduce, so
gradients flow as PyTorch's do."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from disttorch._tensor import Tensor

__all__ = ["segment_reduce"]

_EMPTY = {"sum": 0.0, "mean": math.nan, "max": -math.inf, "min": math.inf, "prod": 1.0}
_SCATTER = {"sum": "sum", "mean": "sum", "max": "amax", "min": "amin", "prod": "prod"}


def _one(data: Tensor, reduce: str, lengths: Any, initial: Any) -> Tensor:
    """Segments along dim 0 of ``data`` with the host array ``lengths``."""
    from disttorch._ops.creation import full, tensor

    segments = len(lengths)
    ids = np.repeat(np.arange(segments), lengths)
    index = tensor(ids, device=data.device).reshape((-1,) + (1,) * (data.dim() - 1)).expand(len(ids),
                                                                                           *data.shape[1:])
    fill = _EMPTY[reduce] if initial is None else float(initial)
    if reduce in ("sum", "mean") and initial is None:
        fill = 0.0
    base = full((segments, *data.shape[1:]), fill, dtype=data.dtype, device=data.device)
    out = base.scatter_reduce(0, index, data, _SCATTER[reduce], include_self=initial is not None)
    if reduce == "mean":
        counts = np.asarray(lengths, dtype=np.float64)
        if initial is not None:  # PyTorch: (initial + sum) / length, and initial for an empty segment
            counts = np.maximum(counts, 1)
        count = tensor(counts, dtype=data.dtype, device=data.device).reshape((-1,) + (1,) * (data.dim() - 1))
        out = out / count
    return out


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None, indices: Tensor | None = None,
                   offsets: Tensor | None = None, axis: int = 0, unsafe: bool = False,
                   initial: Any = None) -> Tensor:
    if reduce not in _EMPTY:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if indices is not None:
        raise NotImplementedError("segment_reduce(): indices based reduction is not supported yet.")
    if (lengths is None) == (offsets is None):
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    seg = lengths if lengths is not None else offsets
    host = np.asarray(seg.cpu().numpy() if hasattr(seg, "cpu") else seg).astype(np.int64)
    if offsets is not None:
        host = np.diff(host, axis=-1)
    axis = axis % data.dim()
    if host.ndim - 1 != axis:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of lengths but got {axis}.")
    if not unsafe and (host < 0).any():
        raise RuntimeError("segment_reduce(): lengths contains negative value!")
    if not unsafe and (host.sum(axis=-1) != data.shape[axis]).any():
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    if host.ndim == 1:
        return _one(data, reduce, host, initial)
    # lengths with leading batch dims: one segmentation per leading index (data's leading dims match)
    from disttorch._ops.shape import stack

    lead = host.shape[:-1]
    rows = []
    for idx in np.ndindex(*lead):
        part = data[idx]
        rows.append(_one(part, reduce, host[idx], initial))
    return stack(rows).reshape(*lead, host.shape[-1], *data.shape[axis + 1:])
