"""addr (beta * input + alpha * outer(vec1, vec2)), renorm (cap the p-norm of each slice along a dim) and
index_reduce (reduce a source into the positions an index vector names along a dim)."""
from __future__ import annotations

from typing import Any

from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor

from ._register import inplace, methods, type_word, write_out
from ._util import wrap_dim
from .compare import where
from .index.gather_scatter import scatter_reduce
from .linalg.products import outer
from .reduce.norms import vector_norm

__all__ = ["addr", "renorm", "index_reduce"]


@autocast_op("addr")
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1,
         out: Tensor | None = None) -> Tensor:
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    integral = D.result_type(input, vec1, vec2).category <= D.INT
    if integral and any(isinstance(s, float) for s in (beta, alpha)):
        name = "beta" if isinstance(beta, float) else "alpha"
        raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    prod = outer(vec1, vec2)
    if alpha != 1:
        prod = prod * alpha
    shape = tuple(prod.shape)
    base = input.expand(*shape)  # PyTorch's message when input does not broadcast to the outer product
    if beta == 0:  # input is ignored, nan and inf included
        return write_out(prod.to(D.result_type(input, vec1, vec2)), out)
    return write_out(prod + (base * beta if beta != 1 else base), out)


_addr_into = inplace(addr, name="addr_")


def addr_(self: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    if self.ndim != 2:
        raise RuntimeError(f"2D tensor expected, got {self.ndim}D tensor for input")
    if vec1.ndim == 1 and vec2.ndim == 1 and tuple(self.shape) != (vec1.shape[0], vec2.shape[0]):
        raise RuntimeError(f"size mismatch, input: {list(self.shape)}, v1: {list(vec1.shape)}, "
                           f"v2: {list(vec2.shape)}")
    return _addr_into(self, vec1, vec2, beta=beta, alpha=alpha)


@autocast_op("renorm")
def renorm(input: Tensor, p: Any, dim: int, maxnorm: Any, *, out: Tensor | None = None) -> Tensor:
    """Scale each slice ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` down to norm ``maxnorm``."""
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dtype.category < D.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {type_word(input.dtype)}")
    d = wrap_dim(dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norm = vector_norm(input, p, dim=others, keepdim=True)
    # PyTorch adds 1e-7 to the norm before dividing
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), norm.new_ones(()))
    return write_out(input * factor.to(input.dtype), out)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """``scatter_reduce`` with ``index`` spread over the other dims of ``source``."""
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if index.dtype not in (D.int64, D.int32):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {type_word(index.dtype)}")
    if index.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.ndim} with "
                           f"type: {type_word(index.dtype)} and size: {list(index.shape)}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_reduce_(): self ({type_word(input.dtype)}) and source "
                           f"({type_word(source.dtype)}) must have the same scalar type")
    n_dim = max(input.ndim, 1)
    d = wrap_dim(dim, n_dim)
    src = source.reshape(1) if source.ndim == 0 else source
    n = index.numel()
    if src.shape[d] != n:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to source.size(dim): "
                           f"({src.shape[d]}), for dim: {d}")
    size = input.shape[d] if input.ndim else 1
    flat = index.reshape(-1)
    if n and (int(flat.max()) >= size or int(flat.min()) < -size):
        raise IndexError("index out of range in self")
    flat = flat.to(D.int64)
    flat = where(flat < 0, flat + size, flat)
    spread = flat.reshape(*[(-1 if i == d else 1) for i in range(src.ndim)]).expand(*src.shape)
    base = input.reshape(1) if input.ndim == 0 else input
    result = scatter_reduce(base, d, spread, src, reduce, include_self=include_self)
    return write_out(result.reshape(()) if input.ndim == 0 else result, out)


methods({
    "addr": addr, "addr_": addr_, "renorm": renorm, "renorm_": inplace(renorm),
    "index_reduce": index_reduce, "index_reduce_": inplace(index_reduce),
})
