"""Helpers shared by the distributions: broadcasting parameters, logits <-> probs, lazy properties."""
from __future__ import annotations

from functools import update_wrapper
from numbers import Number
from typing import Any

import disttorch as _t
from disttorch._ops.random import _generator_for

__all__ = ["broadcast_all", "logits_to_probs", "probs_to_logits", "clamp_probs", "lazy_property", "euler_constant",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060


def broadcast_all(*values: Any) -> tuple:
    """Tensors and numbers as tensors of one broadcast shape (numbers take the tensors' dtype)."""
    if not all(isinstance(v, (_t.Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, torch.Tensor or objects "
                         "implementing __torch_function__.")
    if not any(isinstance(v, _t.Tensor) for v in values):
        values = tuple(_t.tensor(v, dtype=_t.get_default_dtype()) for v in values)
    else:
        like = next(v for v in values if isinstance(v, _t.Tensor))
        values = tuple(v if isinstance(v, _t.Tensor) else _t.tensor(v, dtype=like.dtype, device=like.device)
                       for v in values)
    return tuple(_t.broadcast_tensors(*values))


def clamp_probs(probs: Any) -> Any:
    eps = _t.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Any, is_binary: bool = False) -> Any:
    if is_binary:
        return _t.sigmoid(logits)
    return _t.softmax(logits, dim=-1)


def probs_to_logits(probs: Any, is_binary: bool = False) -> Any:
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return _t.log(ps_clamped) - _t.log1p(-ps_clamped)
    return _t.log(ps_clamped)


class lazy_property:
    """Computed on first access, then stored on the instance (so ``probs``/``logits`` are made once)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        with _t.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def tril_matrix_to_vec(mat: Any, diag: int = 0) -> Any:
    n = mat.shape[-1]
    rows, cols = _t.tril_indices(n, n, offset=diag, device=mat.device)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec: Any, diag: int = 0) -> Any:
    n = int((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2)
    mat = vec.new_zeros(vec.shape[:-1] + _t.Size((n, n)))
    rows, cols = _t.tril_indices(n, n, offset=diag, device=vec.device)
    mat[..., rows, cols] = vec
    return mat


def _rng(like: Any) -> Any:
    """The default generator of ``like``'s device (so ``manual_seed`` fixes every sample)."""
    return _generator_for(like.device, None)


def _from_numpy_like(arr: Any, like: Any) -> Any:
    """A tensor on ``like``'s device and dtype from a (numpy or backend) array."""
    return _t.as_tensor(arr, device=like.device).to(like.dtype)
