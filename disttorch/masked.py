"""torch.masked: reductions and normalizations that ignore the elements where ``mask`` is False (the
functions on strided tensors; ``MaskedTensor`` is not provided). A masked-out element counts as the
operation's identity (0 for sums, 1 for products, -inf for maxima, ...); a fully masked reduction gives
what PyTorch gives (0 for sum, nan for mean, -inf for amax, ...)."""
from __future__ import annotations

import math
from typing import Any

from disttorch._tensor import Tensor

__all__ = ["sum", "mean", "amax", "amin", "argmax", "argmin", "prod", "cumsum", "cumprod", "softmax",
           "log_softmax", "softmin", "norm", "var", "std", "logsumexp", "normalize", "median", "logaddexp"]

def _prep(input: Tensor, mask: Tensor | None, dtype: Any) -> tuple[Tensor, Tensor]:
    x = input if dtype is None else input.to(dtype)
    if mask is None:
        import disttorch

        return x, disttorch.ones_like(x, dtype=disttorch.bool)
    if mask.dtype.name != "bool":
        raise ValueError(f"mask must have dtype bool, got {mask.dtype}")
    return x, mask.broadcast_to(x.shape)


def _dims(x: Tensor, dim: Any) -> tuple:
    if dim is None or dim == () or dim == []:
        return tuple(range(x.dim()))
    return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)


def _fill(x: Tensor, mask: Tensor, value: float) -> Tensor:
    return x.masked_fill(~mask, value)


def sum(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
        mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, 0).sum(dim=_dims(x, dim), keepdim=keepdim)


def prod(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    out = _fill(x, m, 1)
    for d in sorted((d % max(x.dim(), 1) for d in _dims(x, dim)), reverse=True):
        out = out.prod(dim=d, keepdim=keepdim) if x.dim() else out
    return out


def mean(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    dims = _dims(x, dim)
    return _fill(x, m, 0).sum(dim=dims, keepdim=keepdim) / m.sum(dim=dims, keepdim=keepdim).to(x.dtype)


def amax(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, -math.inf).amax(dim=_dims(x, dim), keepdim=keepdim)


def amin(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, math.inf).amin(dim=_dims(x, dim), keepdim=keepdim)


def argmax(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, -math.inf).argmax(dim=dim, keepdim=keepdim).to(x.dtype)  # PyTorch: in input's dtype


def argmin(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, math.inf).argmin(dim=dim, keepdim=keepdim).to(x.dtype)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, 0).cumsum(dim)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, 1).cumprod(dim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, -math.inf).softmax(dim)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, -math.inf).log_softmax(dim)


def softmin(input: Tensor, dim: int, *, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(-x, m, -math.inf).softmax(dim)


def logsumexp(input: Tensor, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
              mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, -math.inf).logsumexp(dim=_dims(x, dim), keepdim=keepdim)


def norm(input: Tensor, ord: float | None = 2.0, dim: Any = None, *, keepdim: bool = False, dtype: Any = None,
         mask: Tensor | None = None) -> Tensor:
    import disttorch

    x, m = _prep(input, mask, dtype)
    identity = math.inf if ord == -math.inf else 0
    return disttorch.linalg.vector_norm(_fill(x, m, identity), 2.0 if ord is None else ord, dim=_dims(x, dim),
                                        keepdim=keepdim)


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, *, correction: float | None = None,
        keepdim: bool = False, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    dims = _dims(x, dim)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    count = m.sum(dim=dims, keepdim=True).to(x.dtype)
    centred = _fill(x - _fill(x, m, 0).sum(dim=dims, keepdim=True) / count, m, 0)
    total = (centred * centred.conj()).real.sum(dim=dims, keepdim=keepdim)
    count = count if keepdim else count.sum(dim=dims)  # the size-1 dims dropped
    return total / (count - correction).clamp(min=0)


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, *, correction: float | None = None,
        keepdim: bool = False, dtype: Any = None, mask: Tensor | None = None) -> Tensor:
    return var(input, dim, unbiased, correction=correction, keepdim=keepdim, dtype=dtype, mask=mask).sqrt()


def normalize(input: Tensor, ord: float, dim: int, *, eps: float = 1e-12, dtype: Any = None,
              mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    n = norm(x, ord, dim, keepdim=True, mask=m)
    return _fill(x, m, 0) / n.clamp(min=eps)


def median(input: Tensor, dim: int = -1, *, keepdim: bool = False, dtype: Any = None,
           mask: Tensor | None = None) -> Tensor:
    x, m = _prep(input, mask, dtype)
    return _fill(x, m, math.nan).nanmedian(dim=dim, keepdim=keepdim).values


def logaddexp(input: Tensor, other: Tensor, *, dtype: Any = None, input_mask: Tensor | None = None,
              other_mask: Tensor | None = None) -> Tensor:
    x, mx = _prep(input, input_mask, dtype)
    y, my = _prep(other, other_mask, dtype)
    return _fill(x, mx, -math.inf).logaddexp(_fill(y, my, -math.inf))
