"""Sampled calculus: trapezoid (trapz), cumulative_trapezoid and gradient (central differences, first or second
order edges, uniform spacing or coordinates), and polar. Written with Tensor ops, so all are differentiable."""
from __future__ import annotations

from typing import Any, Sequence

from disttorch._tensor import Tensor

from .creation import zeros


def _diffs(t: Tensor, dim: int) -> Tensor:
    n = t.shape[dim]
    return t.narrow(dim, 1, n - 1) - t.narrow(dim, 0, n - 1)


def _mids(y: Tensor, dim: int) -> Tensor:
    n = y.shape[dim]
    return (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)) / 2


def _spacing(y: Tensor, x: Any, dx: Any, dim: int, fn: str) -> Any:
    if x is not None and dx is not None:
        raise TypeError(f"{fn}() received an invalid combination of arguments: pass either x or dx, not both")
    if isinstance(x, Tensor):
        d = _diffs(x, -1 if x.ndim == 1 else dim)
        if x.ndim == 1:
            shape = [1] * y.ndim
            shape[dim] = d.shape[0]
            d = d.reshape(shape)
        return d
    return 1.0 if x is None and dx is None else (x if x is not None else dx)


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x`` (a tensor) or a constant spacing ``dx``."""
    dim = dim % y.ndim if y.ndim else 0
    if y.shape[dim] == 0:
        return zeros(tuple(s for i, s in enumerate(y.shape) if i != dim), dtype=y.dtype)
    return (_mids(y, dim) * _spacing(y, x, dx, dim, "trapezoid")).sum(dim)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y`` there)."""
    dim = dim % y.ndim if y.ndim else 0
    return (_mids(y, dim) * _spacing(y, x, dx, dim, "cumulative_trapezoid")).cumsum(dim)


def _gradient_along(f: Tensor, dim: int, h: Any, edge_order: int) -> Tensor:
    """One dimension of torch.gradient: ``h`` a number (uniform spacing) or a 1-d tensor of coordinates."""
    from .shape import cat

    n = f.shape[dim]
    if n < edge_order + 1:
        raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")

    def at(start: int, length: int = 1) -> Tensor:
        return f.narrow(dim, start % n, length)

    def spread(v: Tensor) -> Tensor:  # a 1-d tensor along ``dim``
        shape = [1] * f.ndim
        shape[dim] = v.shape[0]
        return v.reshape(shape)

    if isinstance(h, Tensor):
        steps = h[1:] - h[:-1]
        hl, hr = spread(steps[:-1]), spread(steps[1:])
        interior = (hl ** 2 * at(2, n - 2) - hr ** 2 * at(0, n - 2) + (hr ** 2 - hl ** 2) * at(1, n - 2)) / \
            (hl * hr * (hl + hr))
        h0, h1, hm, hn = steps[0], steps[1] if n > 2 else steps[0], steps[-2] if n > 2 else steps[-1], steps[-1]
    else:
        interior = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
        h0 = h1 = hm = hn = h
    if edge_order == 1:
        first, last = (at(1) - at(0)) / h0, (at(-1) - at(-2)) / hn
    else:  # second-order one-sided differences (numpy's formulas, exact for quadratics)
        first = (-(2 * h0 + h1) / (h0 * (h0 + h1)) * at(0) + (h0 + h1) / (h0 * h1) * at(1)
                 - h0 / (h1 * (h0 + h1)) * at(2))
        last = (hn / (hm * (hm + hn)) * at(-3) - (hm + hn) / (hm * hn) * at(-2)
                + (2 * hn + hm) / (hn * (hm + hn)) * at(-1))
    return cat([first, interior, last], dim)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple[Tensor, ...]:
    """Estimated partial derivatives of ``input`` along each dimension in ``dim`` (all by default)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [d % input.ndim for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                               f"dim arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        steps: Sequence[Any] = spacing
    else:
        steps = [spacing] * len(dims)
    return tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, steps))


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``abs * (cos(angle) + i sin(angle))``, complex."""
    from ._register import write_out
    from .shape import stack
    from .views_extra import view_as_complex

    return write_out(view_as_complex(stack([abs * angle.cos(), abs * angle.sin()], -1)), out)


__all__ = ["trapezoid", "trapz", "cumulative_trapezoid", "gradient", "polar"]
