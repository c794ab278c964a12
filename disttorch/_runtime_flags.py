"""Process-wide debug and determinism switches PyTorch programs set: anomaly mode, warn-always, the
deterministic-algorithms debug mode, denormal flushing, inference-mode query."""
from __future__ import annotations

from typing import Any

from . import _runtime
from .autograd.grad_mode import is_inference_mode_enabled
from .autograd.graph import anomaly

__all__ = ["set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "set_warn_always",
           "is_warn_always_enabled", "set_deterministic_debug_mode", "get_deterministic_debug_mode",
           "is_deterministic_algorithms_warn_only_enabled", "is_inference_mode_enabled", "set_flush_denormal",
           "init_num_threads"]

_warn_always = [False]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for the whole process (``torch.autograd.set_detect_anomaly`` scoped)."""
    anomaly[0], anomaly[1] = bool(enabled), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return anomaly[0]


def is_anomaly_check_nan_enabled() -> bool:
    return anomaly[1]


def set_warn_always(b: bool) -> None:
    """Warnings that PyTorch gives once per process are given every time when set (kept for programs that
    toggle it; disttorch's own once-only warnings go through Python's ``warnings`` filters)."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled() -> bool:
    return _warn_always[0]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """0/"default": nothing; 1/"warn": deterministic algorithms, warning only; 2/"error": deterministic
    algorithms, raising (``use_deterministic_algorithms`` in one setting)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    _runtime.use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _runtime.are_deterministic_algorithms_enabled():
        return 0
    return 1 if _runtime.is_deterministic_algorithms_warn_only_enabled() else 2


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _runtime.is_deterministic_algorithms_warn_only_enabled()


def set_flush_denormal(mode: bool) -> bool:
    """numpy gives no control over the CPU's flush-to-zero mode, so this reports False (not configured), as
    PyTorch does on CPUs without the feature."""
    return False


def init_num_threads(*_: Any) -> None:
    """Nothing to set up: BLAS threads are sized by ``set_num_threads``."""
    return None
