"""A strict stand-in for cupy over numpy, for CI machines without a GPU (enabled by ``DISTTORCH_FAKE_CUDA=1``:
tests/conftest.py puts ``tests/fakecuda`` first on ``sys.path``). Arrays are not numpy arrays and behave like
cupy's where cupy differs from numpy (see ``_core``); only names cupy has exist (``_funcs``). ``_core.HOST_SYNCS``
counts device-to-host transfers."""
from __future__ import annotations

import sys as _sys

from . import _core, _funcs
from ._core import HOST_SYNCS as _HOST_SYNCS  # noqa: F401  (tests read it)

globals().update(_funcs.namespace())

from . import cuda, fft, lib, linalg, random  # noqa: E402

_sys.modules.setdefault("cupy.cuda.nccl", cuda.nccl)
_sys.modules.setdefault("cupy.cuda.runtime", cuda.runtime)
_sys.modules.setdefault("cupy.cuda.memory", cuda.memory)
_sys.modules.setdefault("cupy.cuda.nvtx", cuda.nvtx)

__version__ = "13.6.0"
_fake = True


def __getattr__(name: str):
    raise AttributeError(f"module 'cupy' has no attribute '{name}' (not in cupy's API; this is the strict "
                         f"stand-in from tests/fakecuda)")
