"""Top-level autocast state functions (torch.get_autocast_dtype, torch.is_autocast_enabled...)."""
from __future__ import annotations

from typing import Any

from disttorch import _autocast as S

__all__ = ["get_autocast_dtype", "set_autocast_dtype", "is_autocast_enabled", "set_autocast_enabled",
           "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype",
           "is_autocast_cpu_enabled", "set_autocast_cpu_enabled", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache", "autocast_increment_nesting",
           "autocast_decrement_nesting", "autocast", "GradScaler"]

from disttorch.amp import GradScaler, autocast  # noqa: E402


def _dev(device_type: str) -> str:
    if device_type not in S.enabled:
        raise RuntimeError(f"unsupported autocast device_type '{device_type}'")
    return device_type


def get_autocast_dtype(device_type: str) -> Any:
    return S.dtypes[_dev(device_type)]


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    S.dtypes[_dev(device_type)] = dtype


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """With no argument: the cuda state, as PyTorch answers."""
    return S.enabled[_dev("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type: Any, enabled: bool | None = None) -> None:
    if enabled is None:  # the old one-argument form sets cuda
        device_type, enabled = "cuda", device_type
    S.enabled[_dev(device_type)] = bool(enabled)
    S._refresh()


def get_autocast_cpu_dtype() -> Any:
    return S.dtypes["cpu"]


def get_autocast_gpu_dtype() -> Any:
    return S.dtypes["cuda"]


def set_autocast_cpu_dtype(dtype: Any) -> None:
    S.dtypes["cpu"] = dtype


def set_autocast_gpu_dtype(dtype: Any) -> None:
    S.dtypes["cuda"] = dtype


def is_autocast_cpu_enabled() -> bool:
    return S.enabled["cpu"]


def set_autocast_cpu_enabled(enabled: bool) -> None:
    set_autocast_enabled("cpu", enabled)


def is_autocast_cache_enabled() -> bool:
    return S.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    S.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Drop the cached low-precision casts of weights (autocast does this when its outermost region exits)."""
    S.clear_cache()


def autocast_increment_nesting() -> int:
    S.nesting += 1
    return S.nesting


def autocast_decrement_nesting() -> int:
    S.nesting -= 1
    return S.nesting
