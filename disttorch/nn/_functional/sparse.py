"""Embedding lookups: embedding (gather of rows; backward scatter-adds into the rows) and embedding_bag."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch._ops.creation import zeros
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import no_grad
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

__all__ = ["embedding", "embedding_bag"]

_from_array = Tensor._from_array
_ONE_HOT_ROWS = 256  # tables up to this many rows take the gradient as a one-hot matrix product


class Embedding(Op):
    """out = weight[index]; the gradient of a row sums over its occurrences (padding row: none)."""

    def forward(self, weight: Any) -> Any:
        out = weight[self.index]
        if self.bad is None or out.dtype.kind not in "fc":
            return out
        return array_module(weight).where(self.bad[..., None], np.nan, out)

    def backward(self, grad: Tensor) -> Tensor:
        return EmbeddingGrad.apply(grad, index=self.index, num=self.num, padding_idx=self.padding_idx,
                                   scale=self.scale)

    def name(self) -> str:
        return "EmbeddingBackward0"


class EmbeddingGrad(Op):
    def forward(self, g: Any) -> Any:
        xp = array_module(g)
        dim = g.shape[-1]
        flat, rows = self.index.reshape(-1), g.reshape(-1, dim)
        factor = self._factor(xp, flat, g.dtype)
        if self.num <= _ONE_HOT_ROWS and g.dtype.kind == "f" and g.dtype.itemsize >= 4:
            # a small table: the sum over occurrences is one (num, n) one-hot matrix product, several times
            # faster than a scatter-add (which adds one row at a time on the host)
            hot = xp.zeros((self.num, flat.size), dtype=g.dtype)
            hot[flat, xp.arange(flat.size)] = 1 if factor is None else factor
            return hot @ rows
        if factor is not None:
            rows = rows * factor[:, None]
        out = xp.zeros((self.num, dim), dtype=g.dtype)
        return backend_for_array(g).kernels["scatter_add"](out, flat, rows)

    def _factor(self, xp: Any, flat: Any, dtype: Any) -> Any:
        """Per-position weight: 0 at padding_idx, 1/count with scale_grad_by_freq, else None."""
        factor = None
        if self.scale:
            counts = xp.bincount(flat, minlength=self.num)
            factor = (1.0 / counts[flat]).astype(dtype)
        if self.padding_idx >= 0:
            keep = (flat != self.padding_idx).astype(dtype)
            factor = keep if factor is None else factor * keep
        return factor

    def backward(self, grad: Tensor) -> Tensor:
        out = Embedding.apply(grad, index=self.index, num=self.num, padding_idx=self.padding_idx, scale=self.scale,
                              bad=None)
        factor = self._factor(grad._xp, self.index.reshape(-1), grad._data.dtype)
        if factor is not None:
            out = out * _from_array(factor.reshape(self.index.shape + (1,)))
        return out


def _check_indices(input: Tensor, fn: str) -> Any:
    if input._data.dtype.kind not in "iu" or input._data.dtype.itemsize < 4:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type_name()} instead (while checking arguments for {fn})")
    return input._data


def _padding_idx(padding_idx: int | None, num: int) -> int:
    if padding_idx is None:
        return -1
    if padding_idx >= 0:
        if padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        return padding_idx
    if padding_idx < -num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return num + padding_idx


def _renorm_(weight: Tensor, index: Any, max_norm: float, norm_type: float) -> None:
    """Rescale (in place, without a graph) the rows ``index`` refers to so their norm is at most max_norm."""
    xp = array_module(weight._data)
    # every occurrence of a row computes the same new row, so repeated indices write equal values (and no
    # unique, whose size a device would have to report to the host, is needed)
    rows = index.reshape(-1)
    w = weight._data
    norms = xp.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    with no_grad():
        w[rows] = (w[rows] * scale[:, None]).astype(w.dtype)
        weight._vc[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    index = _check_indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    num = weight.shape[0]
    pad = _padding_idx(padding_idx, num)
    bad = None
    if backend_for_array(index).device_type == "cpu":
        if index.size and (int(index.min()) < 0 or int(index.max()) >= num):
            raise IndexError("index out of range in self")
    else:  # on a device an out-of-range index reads row 0 and gives a nan row (raising needs a host transfer)
        bad = (index < 0) | (index >= num)
        index = array_module(index).where(bad, 0, index)
    if max_norm is not None:
        _renorm_(weight, index, max_norm, norm_type)
    return Embedding.apply(weight, index=index, num=num, padding_idx=pad, scale=scale_grad_by_freq, bad=bad)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    index = _check_indices(input, "embedding_bag")
    xp = array_module(index)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      "on the Pytorch GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                             f"then it must have the same shape as the input ({list(input.shape)})")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type Tensor")
        bags = input.shape[0]
        bag = xp.repeat(xp.arange(bags), input.shape[1])
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._data[:-1] if include_last_offset else offsets._data
        bags = starts.shape[0]
        bag = xp.searchsorted(starts, xp.arange(index.shape[0]), side="right") - 1
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    flat = index.reshape(-1)
    pad = _padding_idx(padding_idx, weight.shape[0])
    keep = xp.nonzero((flat != pad) & (bag >= 0))[0]
    flat_t = _from_array(flat[keep])
    emb = embedding(flat_t, weight, None, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        emb = emb * per_sample_weights.reshape(-1)[_from_array(keep)].unsqueeze(1)
    bag_t = _from_array(bag[keep])
    out = zeros(bags, weight.shape[1], dtype=weight.dtype, device=weight.device)
    if mode == "max":
        return out.scatter_reduce(0, bag_t.unsqueeze(1).expand(-1, weight.shape[1]), emb, "amax",
                                  include_self=False)
    out = out.index_add(0, bag_t, emb)
    if mode == "mean":
        counts = xp.bincount(bag[keep], minlength=bags).astype(weight._data.dtype)
        out = out / _from_array(xp.maximum(counts, 1)[:, None])
    return out
