"""``cupy.linalg`` of the stand-in. As in cupy, a singular or non-positive-definite input does not raise by default:
``inv``/``solve``/``cholesky`` give nan-filled results (cupy docs, ``cupyx.errstate(linalg='ignore')`` is the
default; errors are raised only under ``linalg='raise'``); shape and dtype errors still raise ``LinAlgError``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._core import unwrap, wrap
from .._funcs import _routine

LinAlgError = np.linalg.LinAlgError


def _nan_on_failure(name: str) -> Any:
    np_fn = getattr(np.linalg, name)

    def fn(*args: Any, **kwargs: Any) -> Any:
        uargs = unwrap(args)
        a = np.asarray(uargs[0])
        if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
            raise LinAlgError(f"{a.ndim}-dimensional array given. Array must be at least two-dimensional"
                              if a.ndim < 2 else "Last 2 dimensions of the array must be square")
        try:
            with np.errstate(all="ignore"):
                r = np_fn(*uargs, **kwargs)
        except LinAlgError:
            b = np.shape(uargs[1]) if name == "solve" else None
            if b is None:
                out_shape = a.shape
            elif len(b) == 1:  # one right-hand-side vector (numpy 2 and cupy: only a 1-d b is a vector)
                out_shape = a.shape[:-1]
            else:  # (batches of) matrices: the batch dims broadcast, the columns are b's
                out_shape = np.broadcast_shapes(a.shape[:-2], b[:-2]) + b[-2:]
            dt = np.result_type(*[np.asarray(u).dtype for u in uargs[:2]], np.float32)
            r = np.full(out_shape, np.nan, dtype=dt)
        return wrap(r)

    fn.__name__ = name
    return fn


inv = _nan_on_failure("inv")
solve = _nan_on_failure("solve")
cholesky = _nan_on_failure("cholesky")

_PLAIN = ("norm cond det matrix_rank slogdet lstsq pinv tensorinv tensorsolve qr svd eigh eigvalsh matrix_power "
          "multi_dot")
for _name in _PLAIN.split():
    globals()[_name] = _routine(_name, getattr(np.linalg, _name))

__all__ = ["LinAlgError", "inv", "solve", "cholesky", *_PLAIN.split()]
