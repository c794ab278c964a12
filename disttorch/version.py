"""``torch.version``: disttorch's version and, as ``cuda``, the CUDA runtime version of the installed cupy (None
without cupy, like PyTorch's CPU builds). ``hip``, ``xpu`` and ``rocm`` are None: there is no such backend."""
from __future__ import annotations

from disttorch import __version__

__all__ = ["__version__", "hip", "xpu", "rocm", "debug", "git_version",
           "cuda"]  # noqa: F822 (cuda comes from the module __getattr__)

hip = None
xpu = None
rocm = None
debug = False
git_version = "unknown"


def _cuda_runtime_version() -> str | None:
    try:
        import cupy
    except Exception:  # no cupy, or a cupy that cannot load its CUDA libraries
        return None
    try:
        v = int(cupy.cuda.runtime.runtimeGetVersion())
    except Exception:
        return None
    return f"{v // 1000}.{v % 1000 // 10}"


def __getattr__(name: str) -> object:
    if name == "cuda":  # looked up on first use only: importing cupy takes a while
        value = _cuda_runtime_version()
        globals()["cuda"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
