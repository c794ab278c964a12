"""``torch.backends.cudnn``: PyTorch's cuDNN flags. disttorch's cuda convolutions run on cupy's
arrays (im2col and GEMM), not cuDNN, so ``benchmark`` and ``allow_tf32`` are accepted and kept;
``deterministic`` asks for reproducible results, which disttorch's kernels already give."""
from __future__ import annotations

import sys
from typing import Any

from ._flags import set_flags

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Whether cuDNN can be used: cupy with cuDNN and a visible GPU."""
    return version() is not None


def version() -> int | None:
    try:
        from cupy.cuda import cudnn  # noqa: F401 (cupy's optional cuDNN bindings)
    except Exception:
        return None
    try:
        from .registry import get_backend

        if get_backend("cuda").device_count() == 0:
            return None
        return int(cudnn.getVersion())
    except Exception:
        return None


def is_acceptable(tensor: Any) -> bool:
    return enabled and is_available()


def flags(enabled: bool | None = None, benchmark: bool | None = None, benchmark_limit: int | None = None,
          deterministic: bool | None = None, allow_tf32: bool | None = None) -> Any:
    """Context manager setting these flags for a block (PyTorch's ``torch.backends.cudnn.flags``)."""
    return set_flags(sys.modules[__name__], enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
                     deterministic=deterministic, allow_tf32=allow_tf32)
