"""Host BLAS threads per matrix product.

numpy's OpenBLAS starts its worker threads for any product over about 2^18 multiply-adds. On a small or busy
machine their wake-up and barrier cost outweighs the work: on a 2-core Xeon VM a 16x784 @ 784x256 product made
a small MLP step 12x slower with two threads than with one (5.2 vs 0.44 ms), and 128^3 took 45 us to 8.6 ms
with two threads against 28 us with one. PyTorch runs such products on one thread. The framework's main host
products (Linear, matmul/mm/bmm, and through ``matmul`` below those inside convolutions, recurrent steps and
attention) run on one thread when under ``SMALL`` multiply-adds and put the configured
count back after (``torch.set_num_threads``, else what the BLAS started with), so every other product sees the
count as before. Without OpenBLAS (or threadpoolctl) nothing is switched.
"""
from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

SMALL = 1 << 24  # 256^3: from here two threads won (1.4x at 256^3, 2x at 512^3 and 1024^3 on that machine)

_big: list[int] = []  # the count for large products (empty: not looked up yet)
_set: list[Any] = []  # the library's set_num_threads (empty: none found, so nothing is switched)


def _lookup() -> None:
    try:
        from threadpoolctl import ThreadpoolController

        libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
    except Exception:  # threadpoolctl missing or failing: leave the BLAS alone
        libs = []
    count = 1
    for lib in libs[:1]:
        dll = ctypes.CDLL(lib.filepath)
        names = [f"{pre}openblas_set_num_threads{suf}" for pre in ("scipy_", "") for suf in ("64_", "")]
        name = next((n for n in names if hasattr(dll, n)), None)
        if name is not None:
            _set.append(getattr(dll, name))
            count = max(1, int(lib.num_threads))
    _big[:] = [count]


def one_thread_if_small(mnk: int) -> bool:
    """Before a product of ``mnk`` multiply-adds: True (and the BLAS on one thread) when it is small and the BLAS
    has more; the caller then calls ``restore()`` after the product. Elsewhere the thread count stays as set."""
    if mnk >= SMALL:
        return False
    if not _big:
        _lookup()
    if _big[0] == 1 or not _set:
        return False
    _set[0](1)
    return True


def restore() -> None:
    _set[0](_big[0])


def configured(n: int) -> None:
    """``torch.set_num_threads(n)`` has set every BLAS pool to n: large products use n from now on."""
    if not _big:
        _lookup()
    _big[:] = [max(1, int(n))]


def matmul(xp: Any, a: Any, b: Any, out: Any = None) -> Any:
    """``xp.matmul(a, b, out=out)`` for arrays of two or more dimensions, on one BLAS thread when the product is
    small (host arrays only): the products inside convolutions, recurrent steps and attention."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim >= 2 and b.ndim >= 2:
        if one_thread_if_small(max(a.size * b.shape[-1], b.size * a.shape[-2])):
            try:
                return np.matmul(a, b, out=out)
            finally:
                restore()
    return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
