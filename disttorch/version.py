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


def __getattr__(name: str) -> object:
    if name == "cuda":  # looked up on first use only: importing cupy takes a while
        from disttorch.backends.cuda import _runtime_version

        value = _runtime_version()
        globals()["cuda"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
