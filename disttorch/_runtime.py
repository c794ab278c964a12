"""Process-wide settings: BLAS threads, type helpers, printing options."""
from __future__ import annotations

import math
import os
from typing import Any

from . import _dtype as D
from ._device import get_default_device, set_default_device
from ._tensor import Tensor
from ._type_info import finfo, iinfo
from .backends import blas_threads
from .backends import cuda as _cuda_flags

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None

__all__ = ["set_num_threads", "get_num_threads", "is_floating_point", "is_complex", "numel", "result_type",
           "can_cast", "is_nonzero", "set_printoptions", "get_num_interop_threads", "set_num_interop_threads",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "typename", "is_storage",
           "compile", "pi", "e", "inf", "nan", "newaxis", "set_float32_matmul_precision",
           "get_float32_matmul_precision", "set_default_device", "get_default_device", "finfo", "iinfo"]

_threads: list[int] = []


def _controller() -> Any:
    """A fresh view of the loaded BLAS libraries: one taken earlier misses those loaded since (scipy's own)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def set_num_threads(n: int) -> None:
    """Size the BLAS thread pool (through threadpoolctl) used by matmul and friends."""
    if int(n) < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    ctl = _controller()
    if ctl is not None:  # threadpoolctl is a dependency; a --no-deps install without it only records n
        ctl.limit(limits=int(n), user_api="blas")
    _threads[:] = [int(n)]
    blas_threads.configured(int(n))  # large products use n threads from now on (small ones one)


def get_num_threads() -> int:
    if _threads:
        return _threads[0]
    ctl = _controller()
    if ctl is not None:
        infos = [i for i in ctl.info() if i.get("user_api") == "blas"]
        if infos:
            return int(infos[0]["num_threads"])
    return os.cpu_count() or 1


def get_num_interop_threads() -> int:
    return 1


def set_num_interop_threads(n: int) -> None:
    return None


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def is_complex(t: Tensor) -> bool:
    return t.is_complex()


def is_nonzero(t: Tensor) -> bool:
    return t.is_nonzero()


def numel(t: Tensor) -> int:
    return t.numel()


def result_type(tensor1: Any, tensor2: Any) -> D.dtype:
    return D.result_type(tensor1, tensor2)


def can_cast(from_: D.dtype, to: D.dtype) -> bool:
    return from_.category <= to.category


def typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return obj.type_name()
    return type(obj).__module__ + "." + type(obj).__qualname__


def is_storage(obj: Any) -> bool:
    return False


_print_options: dict[str, Any] = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                  "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: int | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    if profile == "default":
        _print_options.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _print_options.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _print_options.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            _print_options[key] = value
    _print_options["sci_mode"] = sci_mode


_deterministic = [False, False]  # [enabled, warn only]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    _deterministic[:] = [bool(mode), bool(warn_only)]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic[1]


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic[0]


def compile(model: Any = None, **kwargs: Any) -> Any:
    """No compiler here: returns the model (or function) unchanged, so scripts that call it still run."""
    if model is None:
        return lambda m: m
    return model


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """"highest" (full float32), "high" or "medium" (TF32 or bf16 allowed on GPUs that have it): PyTorch's
    setting, kept in ``torch.backends.cuda.matmul.allow_tf32``. cpu matmuls are full float32 either way."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision value: {precision!r}; expected 'highest', 'high' or 'medium'")
    _matmul_precision[0] = precision
    _cuda_flags.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    if _cuda_flags.matmul.allow_tf32 != (_matmul_precision[0] != "highest"):  # the flag was set directly
        return "high" if _cuda_flags.matmul.allow_tf32 else "highest"
    return _matmul_precision[0]
