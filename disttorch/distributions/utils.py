"""Helpers shared by the distributions: broadcasting parameters, logits <-> probs, lazy properties."""
from __future__ import annotations

from functools import update_wrapper
from numbers import Number
from typing import Any

import disttorch as _t
from disttorch._ops.random import _generator_for

__all__ = ["broadcast_all", "logits_to_probs", "probs_to_logits", "clamp_probs", "lazy_property", "euler_constant",
           "tril_matrix_to_vec", "vec_to_tril_matrix", "is_tensor_like"]

euler_constant = 0.57721566490153286060


def is_tensor_like(x: Any) -> bool:
    """A Tensor, or an object that takes part in the torch function protocol."""
    return isinstance(x, _t.Tensor) or hasattr(x, "__torch_function__")


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


def _sum_rightmost(value: Any, dim: int) -> Any:
    """Sum out the rightmost ``dim`` dimensions of ``value`` (nothing when ``dim`` is 0)."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def _expand_params(self: Any, cls: type, batch_shape: Any, names: tuple, _instance: Any = None,
                   event_shape: Any = None) -> Any:
    """The ``expand`` every parametric distribution shares: each named parameter (of ``batch_shape +`` its own
    event part) expanded, the shapes set, validation carried over."""
    from .distribution import Distribution
    new = self._get_checked_instance(cls, _instance)
    batch_shape = _t.Size(batch_shape)
    nb = len(self.batch_shape)
    for name in names:
        if name in self.__dict__:
            value = self.__dict__[name]
            setattr(new, name, value.expand(batch_shape + value.shape[nb:]))
    event_shape = self.event_shape if event_shape is None else event_shape
    Distribution.__init__(new, batch_shape, event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


def _noise(kind: str, shape: Any, like: Any, **kw: Any) -> Any:
    """A tensor of ``shape`` (``like``'s dtype and device) drawn from the device generator: ``kind`` is one of
    the Generator methods numpy and cupy share (standard_normal, standard_exponential, random)."""
    shape = tuple(shape)
    arr = getattr(_rng(like), kind)(size=shape, **kw)
    return _t.as_tensor(arr, device=like.device).to(like.dtype)


def _uniform_open(shape: Any, like: Any) -> Any:
    """Uniform draws in (tiny, 1 - eps) of ``like``'s dtype (safe for logs on either side)."""
    finfo = _t.finfo(like.dtype)
    return _noise("random", shape, like).clamp(min=finfo.tiny, max=1 - finfo.eps)


def _gamma_dalpha(alpha: Any, x: Any) -> Any:
    """d x / d alpha for x ~ Gamma(alpha, 1) holding its CDF P(alpha, x) fixed (implicit reparameterisation):
    -dP/dalpha / density, dP/dalpha by a central difference of the regularized incomplete gamma in float64."""
    with _t.no_grad():
        a, xx = alpha.double(), x.double().clamp(min=_t.finfo(_t.float64).tiny)
        h = 1e-5 * a.clamp(min=1.0)
        dp = (_t.special.gammainc(a + h, xx) - _t.special.gammainc(a - h, xx)) / (2 * h)
        log_density = (a - 1) * xx.log() - xx - _t.lgamma(a)
        return (-dp / log_density.exp()).to(alpha.dtype)


class _StandardGamma(_t.autograd.Function):
    """Gamma(alpha, 1) draws whose gradient in alpha is the implicit reparameterisation gradient."""

    @staticmethod
    def forward(ctx: Any, alpha: Any) -> Any:
        draws = _rng(alpha).standard_gamma(alpha.detach().double()._data)
        x = _t.as_tensor(draws, device=alpha.device).to(alpha.dtype)
        x = x.clamp(min=_t.finfo(alpha.dtype).tiny)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        alpha, x = ctx.saved_tensors
        return grad * _gamma_dalpha(alpha, x)


def _standard_gamma(alpha: Any) -> Any:
    """Gamma(alpha, 1) draws of ``alpha``'s shape; differentiable in ``alpha`` (implicit gradients)."""
    if alpha.requires_grad and _t.is_grad_enabled():
        return _StandardGamma.apply(alpha)
    with _t.no_grad():
        return _StandardGamma.forward(_Ctx(), alpha)


class _Ctx:
    def save_for_backward(self, *tensors: Any) -> None:
        pass


class _BinaryProbsLogits:
    """Mixin of distributions over one binary event's probability: ``probs`` and ``logits``, whichever was not
    given computed from the other on first use (the given one is an instance attribute)."""

    @lazy_property
    def logits(self) -> Any:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Any:
        return logits_to_probs(self.logits, is_binary=True)
