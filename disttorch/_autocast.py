"""Autocast state and the per-op cast policy (used by disttorch.amp and by the ops it covers).

Kept free of heavy imports so that ops can import it. An op opts in with ``@autocast_op("name")``; while no
autocast region is active, the wrapper costs one module-attribute test.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from disttorch import _dtype as D

on = False  # some device has autocast enabled right now
enabled: dict[str, bool] = {"cpu": False, "cuda": False}
dtypes: dict[str, Any] = {"cpu": D.bfloat16, "cuda": D.float16}
cache_enabled = True
nesting = 0

# PyTorch's documented op lists (the ops disttorch has); anything not listed runs in its inputs' dtypes
_LOWER_COMMON = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "bmm",
                 "mm", "baddbmm", "addmm", "addbmm", "linear", "matmul", "prelu", "scaled_dot_product_attention"}
LOWER: dict[str, set[str]] = {
    "cpu": _LOWER_COMMON | {"linalg_vecdot"},
    "cuda": _LOWER_COMMON | {"addmv", "addr", "mv", "chain_matmul", "multi_dot"},
}
_FP32_LOSSES = {"binary_cross_entropy_with_logits", "cosine_embedding_loss", "cross_entropy", "hinge_embedding_loss",
                "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multilabel_margin_loss", "multi_margin_loss",
                "nll_loss", "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
                "huber_loss"}
FP32: dict[str, set[str]] = {
    "cpu": _FP32_LOSSES | {"binary_cross_entropy", "cdist", "prod", "trace", "inverse", "pinverse", "cholesky",
                           "quantile", "nanquantile"},
    "cuda": _FP32_LOSSES | {"softmax", "log_softmax", "softmin", "layer_norm", "group_norm", "cumsum", "cumprod",
                            "exp", "expm1", "log", "log10", "log1p", "log2", "pow", "reciprocal", "rsqrt", "sum",
                            "prod", "softplus", "norm", "normalize", "cosine_similarity", "cdist", "pdist", "dist",
                            "acos", "asin", "cosh", "sinh", "tan", "erfinv", "renorm"},
}
# ops that run in the widest floating dtype of their inputs (they refuse mixed dtypes outside autocast)
PROMOTE: dict[str, set[str]] = {
    "cpu": {"cat", "stack", "index_copy"},
    "cuda": {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "index_put", "scatter_add",
             "tensordot"},
}
_LOW = frozenset({D.float16, D.bfloat16})
# Casts of fp32 leaf tensors that require grad (a model's weights) to the low dtype are kept until the outermost
# autocast region exits, so a weight used by several ops is cast once (and its casts share one ToCopy node).
_cache: dict[tuple[int, Any], tuple[Any, Any]] = {}


def clear_cache() -> None:
    _cache.clear()


def _refresh() -> None:
    global on
    on = enabled["cpu"] or enabled["cuda"]


def _device_type(args: tuple, kwargs: dict) -> str | None:
    from disttorch._tensor import Tensor
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            return a.device.type
    return None


def _cast(value: Any, to: Any, only_low: bool) -> Any:
    from disttorch._tensor import Tensor
    if isinstance(value, Tensor):
        dt = value.dtype
        if dt.is_floating_point and dt != to and (not only_low or dt in _LOW):
            if not (cache_enabled and to in _LOW and dt == D.float32 and value._requires_grad
                    and value._grad_fn is None and value._base is None):
                return value.to(to)
            key = (id(value), to)
            hit = _cache.get(key)
            if hit is None or hit[0] is not value:
                hit = _cache[key] = (value, value.to(to))
            return hit[1]
        return value
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, Tensor) for v in value):
        return type(value)(_cast(v, to, only_low) for v in value)
    return value


def _widest(values: Any) -> Any:
    """The widest floating dtype among the tensors in ``values`` (lists looked into), or None."""
    from disttorch._tensor import Tensor
    best = None
    for v in values:
        for t in (v if isinstance(v, (list, tuple)) else (v,)):
            if isinstance(t, Tensor) and t.dtype.is_floating_point:
                best = t.dtype if best is None else D.promote_types(best, t.dtype)
    return best


def _run(name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    global on
    dev = _device_type(args, kwargs)
    if dev is None or not enabled.get(dev, False):
        return fn(*args, **kwargs)
    if name in LOWER[dev]:
        to, only_low = dtypes[dev], False
    elif name in FP32[dev]:
        to, only_low = (None if kwargs.get("dtype") is not None else D.float32), True
    elif name in PROMOTE[dev]:
        to, only_low = _widest((*args, *kwargs.values())), False
    else:
        to = None
    if to is not None:
        args = tuple(_cast(a, to, only_low) for a in args)
        kwargs = {k: _cast(v, to, only_low) for k, v in kwargs.items()}
    # as PyTorch's dispatcher does, the op's own inner calls are not cast again
    saved, on = on, False
    try:
        return fn(*args, **kwargs)
    finally:
        on = saved


def cast_input(name: str, value: Any) -> Any:
    """``value`` cast as op ``name``'s policy says, for ops that test ``on`` in their own body."""
    dev = _device_type((value,), {})
    if dev is None or not enabled.get(dev, False):
        return value
    if name in LOWER[dev]:
        return _cast(value, dtypes[dev], False)
    if name in FP32[dev]:
        return _cast(value, D.float32, True)
    return value


def autocast_op(name: str) -> Callable[[Callable], Callable]:
    """Give ``fn`` autocast's cast policy for op ``name`` (looked up per device in LOWER / FP32 / PROMOTE)."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not on:
                return fn(*args, **kwargs)
            return _run(name, fn, args, kwargs)

        return wrapper

    return deco
