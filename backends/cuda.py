"""``torch.backends.cuda``: PyTorch's CUDA flags (TF32 matmul, reduced-precision reductions, which
scaled-dot-product-attention kernels may run). disttorch's attention is one math kernel, so the SDPA
switches are kept but every choice runs that kernel; ``matmul.allow_tf32`` is what
``torch.set_float32_matmul_precision`` reads and writes."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["is_built", "matmul", "cufft_plan_cache", "preferred_linalg_library", "preferred_blas_library",
           "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp",
           "math_sdp_enabled", "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp", "sdp_kernel",
           "SDPBackend"]


def is_built() -> bool:
    """Whether cuda support is installed (cupy importable); PyTorch: built with CUDA."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None


def _runtime_version() -> str | None:
    """The CUDA runtime version of the installed cupy ("12.4"), None without a working cupy (torch.version.cuda)."""
    try:
        import cupy

        v = int(cupy.cuda.runtime.runtimeGetVersion())
    except Exception:  # no cupy, or a cupy that cannot load its CUDA libraries
        return None
    return f"{v // 1000}.{v % 1000 // 10}"


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: settable attributes, as in PyTorch."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    @property
    def fp32_precision(self) -> str:
        return "tf32" if self.allow_tf32 else "ieee"

    @fp32_precision.setter
    def fp32_precision(self, value: str) -> None:
        if value not in ("ieee", "tf32", "none"):
            raise RuntimeError(f"Invalid precision value: {value!r}; expected 'ieee', 'tf32' or 'none'")
        self.allow_tf32 = value == "tf32"

    def __repr__(self) -> str:
        return (f"matmul(allow_tf32={self.allow_tf32}, allow_fp16_reduced_precision_reduction="
                f"{self.allow_fp16_reduced_precision_reduction})")


class _PlanCache:
    """``torch.backends.cuda.cufft_plan_cache``: cupy manages its own FFT plans."""

    size = 0
    max_size = 4096

    def clear(self) -> None:
        return None

    def __getitem__(self, device: Any) -> _PlanCache:
        return self


matmul = _MatmulFlags()
cufft_plan_cache = _PlanCache()
_linalg_library = ["default"]
_blas_library = ["cublas"]
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def preferred_linalg_library(backend: Any = None) -> str:
    if backend is not None:
        name = str(backend).lower()
        if name not in ("default", "cusolver", "magma"):
            raise RuntimeError(f"Unknown input value {backend!r}; choose 'default', 'cusolver' or 'magma'")
        _linalg_library[0] = name
    return _linalg_library[0]


def preferred_blas_library(backend: Any = None) -> str:
    if backend is not None:
        name = str(backend).lower()
        if name not in ("cublas", "cublaslt", "ck"):
            raise RuntimeError(f"Unknown input value {backend!r}; choose 'cublas', 'cublaslt' or 'ck'")
        _blas_library[0] = name
    return _blas_library[0]


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _sdp["cudnn"] = bool(enabled)


class SDPBackend:
    """The kernel names of ``torch.nn.attention.SDPBackend``."""

    ERROR, MATH, FLASH_ATTENTION, EFFICIENT_ATTENTION, CUDNN_ATTENTION, OVERRIDEABLE = -1, 0, 1, 2, 3, 4


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True) -> Iterator[None]:
    """The (deprecated in PyTorch) context manager choosing SDPA kernels for a block."""
    old = dict(_sdp)
    _sdp.update(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient),
                cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _sdp.update(old)
