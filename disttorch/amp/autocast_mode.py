"""torch.amp.autocast: regions where covered ops run in a lower-precision dtype (see disttorch._autocast)."""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from disttorch import _autocast as S
from disttorch import _dtype as D

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_SUPPORTED = {"cpu": (D.bfloat16, D.float16), "cuda": (D.float16, D.bfloat16, D.float32)}


def is_autocast_available(device_type: str) -> bool:
    """True for the device types autocast knows (cpu, cuda)."""
    return device_type in _SUPPORTED


class autocast:
    """Context manager and decorator: ops in the region follow autocast's per-op dtype policy."""

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = S.dtypes[device_type] if dtype is None else dtype
        self._cache_enabled = S.cache_enabled if cache_enabled is None else cache_enabled
        self._enabled = bool(enabled)
        if device_type == "cuda" and self._enabled:
            from disttorch import cuda
            if not cuda.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling",
                              stacklevel=2)
                self._enabled = False
        if self._enabled and self.fast_dtype not in _SUPPORTED[device_type]:
            names = " and ".join(f"torch.{d.name}" if hasattr(d, "name") else str(d) for d in _SUPPORTED[device_type])
            warnings.warn(f"In {device_type} autocast, but the target dtype is not supported. Disabling autocast.\n"
                          f"{device_type.upper()} Autocast only supports dtypes of {names} currently.", stacklevel=2)
            self._enabled = False

    def __enter__(self) -> autocast:
        self._prev = (S.enabled[self.device], S.dtypes[self.device], S.cache_enabled)
        S.enabled[self.device] = self._enabled
        S.dtypes[self.device] = self.fast_dtype
        S.cache_enabled = self._cache_enabled
        S.nesting += 1
        S._refresh()
        return self

    def __exit__(self, *exc: Any) -> bool:
        S.nesting -= 1
        if S.nesting == 0:
            S.clear_cache()
        S.enabled[self.device], S.dtypes[self.device], S.cache_enabled = self._prev
        S._refresh()
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return wrapper


def _cast_floats(value: Any, dtype: Any) -> Any:
    from disttorch._tensor import Tensor
    if isinstance(value, Tensor):
        return value.to(dtype) if value.dtype.is_floating_point else value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floats(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Callable:
    """Decorator for a custom Function's forward: records the autocast state (and with ``cast_inputs``, runs
    forward with autocast off on inputs cast to that dtype)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        args[0]._dtype = S.dtypes[device_type]
        if cast_inputs is None:
            args[0]._fwd_used_autocast = S.enabled[device_type]
            return fwd(*args, **kwargs)
        autocast_on = S.enabled[device_type]
        args[0]._fwd_used_autocast = False
        if autocast_on:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast_floats(args, cast_inputs), **_cast_floats(kwargs, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorator for a custom Function's backward: runs it under the autocast state forward saw."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
