"""``cupyx.scipy.special`` of the stand-in: the functions disttorch's cuda backend maps its kernels to, computed by
scipy.special when it is installed (else the names are absent, as on a cupy without them)."""
from __future__ import annotations

from typing import Any

from cupy._core import call

try:
    import scipy.special as _sp
except ImportError:  # pragma: no cover
    _sp = None

_NAMES = ("erf erfc erfinv erfcx ndtr log_ndtr ndtri gammaln digamma zeta polygamma gammainc gammaincc i0 i0e "
          "i1 i1e j0 j1 y0 y1 k0 k0e k1 k1e xlogy xlog1py entr expit logit softmax log_softmax logsumexp").split()


def _make(name: str) -> Any:
    np_fn = getattr(_sp, name)

    def fn(*args: Any, **kwargs: Any) -> Any:
        return call(np_fn, args, kwargs)

    fn.__name__ = name
    return fn


if _sp is not None:
    for _name in _NAMES:
        globals()[_name] = _make(_name)
