"""The classical orthogonal polynomials of torch.special: Chebyshev T, U, V, W (and their shifted forms on
[0, 1]), Hermite H and He, Laguerre L and Legendre P, of degree ``n`` at ``input``.

``n`` is truncated to an integer (a negative degree gives 0) and broadcasts with ``input``; one three-term
recurrence runs up to the largest degree and each element keeps its own degree's value. As in PyTorch the
result has no gradient (PyTorch defines none).
"""
from __future__ import annotations

from typing import Any, Callable

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from .._register import write_out
from .._util import promote_operands
from ._common import floating

_from_array = Tensor._from_array

# degree 1 from x, then P_{k+1} from (x, k, P_k, P_{k-1})
Recurrence = tuple[Callable[[Any], Any], Callable[[Any, int, Any, Any], Any]]
_RECURRENCES: dict[str, Recurrence] = {
    "chebyshev_polynomial_t": (lambda x: x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda x, k, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda x, k, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda x, k, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x, lambda x, k, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _evaluate(name: str, x: Any, n: Any) -> Any:
    xp = array_module(x)
    x, n = xp.broadcast_arrays(x, n)
    degree = xp.where(xp.isnan(n), -1, n).astype(xp.int64) if n.dtype.kind == "f" else n.astype(xp.int64)
    first, step = _RECURRENCES[name]
    result = xp.where(degree == 0, xp.ones_like(x), xp.zeros_like(x))
    top = int(degree.max()) if degree.size else 0
    if top >= 1:
        q, p = xp.ones_like(x), first(x)
        result = xp.where(degree == 1, p, result)
        for k in range(1, top):
            q, p = p, step(x, k, p, q)
            result = xp.where(degree == k + 1, p, result)
    return result.astype(x.dtype, copy=False)


def _polynomial(name: str, shifted: bool = False) -> Callable[..., Tensor]:
    base = name.replace("shifted_", "")

    def fn(input: Any, n: Any, *, out: Tensor | None = None) -> Tensor:
        x, degree, dt = promote_operands(input, n)
        if dt.category < D.FLOAT:
            x = floating(x)
        arr = x._data
        if shifted:
            arr = 2 * arr - 1
        return write_out(_from_array(_evaluate(base, arr, degree._data)), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}(input, n): the polynomial of degree n at input (no gradient)."
    return fn


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t", shifted=True)
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u", shifted=True)
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v", shifted=True)
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w", shifted=True)
hermite_polynomial_h = _polynomial("hermite_polynomial_h")
hermite_polynomial_he = _polynomial("hermite_polynomial_he")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l")
legendre_polynomial_p = _polynomial("legendre_polynomial_p")

__all__ = [name for name in globals() if name.endswith(("_polynomial_t", "_polynomial_u", "_polynomial_v",
                                                        "_polynomial_w", "_polynomial_h", "_polynomial_he",
                                                        "_polynomial_l", "_polynomial_p"))]
