"""``torch.embedding_bag`` (ATen's signature and 4-tuple result) and ``torch.embedding_renorm_``."""
from __future__ import annotations

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import array_module

from .sparse import _renorm_
from .sparse import embedding_bag as _embedding_bag

__all__ = ["embedding_bag", "embedding_renorm_"]

_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Rescale, in place, the rows of ``input`` that ``indices`` names whose ``norm_type``-norm exceeds
    ``max_norm`` to norm ``max_norm`` (what ``Embedding(max_norm=...)`` does before each lookup)."""
    _renorm_(input, indices._data, max_norm, norm_type)
    return input


def _fast_sum_dtype(weight: Tensor) -> bool:
    return weight.dtype.name in ("float32", "float16", "bfloat16")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False,
                  mode: int = 0, sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> tuple:
    """(output, offset2bag, bag_size, max_indices) as ATen's CPU kernel returns them: ``offset2bag`` is the bag
    of each index (empty in sum mode without padding_idx for 16/32-bit weights), ``bag_size`` the count of
    non-padding indices per bag (zeros in sum mode, one per offset when the weight needs no gradient),
    ``max_indices`` the weight row each max came from (max mode; ``bag_size`` otherwise)."""
    if mode not in _MODES:
        raise RuntimeError(f"Unknown mode for embedding_bag: {mode}")
    output = _embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, _MODES[mode], sparse,
                            per_sample_weights, include_last_offset, padding_idx)
    idx = indices._data.reshape(-1)
    xp = array_module(idx)
    starts = offsets._data[:-1] if include_last_offset else offsets._data
    bag = (xp.searchsorted(starts, xp.arange(idx.shape[0]), side="right") - 1).astype(np.int64)
    n_bags = starts.shape[0]
    if mode == 0:
        zeros = xp.zeros(n_bags if weight.requires_grad else offsets.shape[0], dtype=np.int64)
        fast = padding_idx is None and _fast_sum_dtype(weight)  # ATen's fast sum path keeps no offset2bag
        o2b = xp.zeros(0, dtype=np.int64) if fast else bag
        return output, Tensor._from_array(o2b), Tensor._from_array(zeros), Tensor._from_array(zeros.copy())
    pad = -1 if padding_idx is None else padding_idx % weight.shape[0]
    keep = idx != pad
    bag_size = xp.bincount(bag[keep & (bag >= 0)], minlength=n_bags).astype(np.int64)[:n_bags]
    if mode == 1:
        return output, Tensor._from_array(bag), Tensor._from_array(bag_size), Tensor._from_array(bag_size.copy())
    w = weight._data
    dim = w.shape[1]
    max_idx = xp.zeros((n_bags, dim), dtype=np.int64)
    best = xp.full((n_bags, dim), -xp.inf, dtype=np.float64)
    for j in range(idx.shape[0]):  # first maximum wins, as in ATen's loop
        b = int(bag[j])
        if not bool(keep[j]) or b < 0:
            continue
        row = w[int(idx[j])].astype(np.float64)
        better = row > best[b]
        best[b] = xp.where(better, row, best[b])
        max_idx[b] = xp.where(better, idx[j], max_idx[b])
    return output, Tensor._from_array(bag), Tensor._from_array(bag_size), Tensor._from_array(max_idx)
