"""Statistics of samples: ``cov``, ``corrcoef``, ``cdist``, ``histogram``, ``histogramdd``.

``cov``, ``corrcoef`` and ``cdist`` are compositions of differentiable ops; histograms are not differentiable
(as in PyTorch) and count on arrays."""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import disttorch
from disttorch import _dtype as D
from disttorch import return_types
from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from ._register import methods, type_word, write_out

__all__ = ["cov", "corrcoef", "cdist", "histogram", "histogramdd"]

_from_array = Tensor._from_array
for _name in ("histogram", "histogramdd"):  # PyTorch's named tuples torch.return_types.histogram...
    if not hasattr(return_types, _name):
        setattr(return_types, _name, return_types._make(_name, "hist", "bin_edges"))


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    num_obs = x.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if wt.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{wt.ndim} dimensions")
        if wt.numel() != num_obs:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {wt.numel()} != {num_obs}")
        if name == "fweights" and (wt.dtype.is_floating_point or wt.dtype.is_complex):
            raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights with "
                               f"{type_word(wt.dtype)} dtype")
        if name == "aweights" and not wt.dtype.is_floating_point:
            raise RuntimeError("cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{type_word(wt.dtype)} dtype")
        if wt.numel() and bool((wt < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    if w is None:
        w_sum: Any = num_obs
        avg = x.sum(1) / num_obs
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
    if w is None:
        norm: Any = disttorch.tensor(float(w_sum - correction), dtype=avg.dtype.to_real() if avg.dtype.is_complex
                                     else avg.dtype, device=x.device)
    elif correction != 0 and aweights is not None:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if bool(norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = norm.clamp(min=0) if isinstance(norm, Tensor) else 0
    xm = x - avg.unsqueeze(1)
    other = xm if w is None else xm * w
    c = disttorch.mm(xm, other.t().conj())
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    std = (d.real if d.dtype.is_complex else d).sqrt()
    c = c / std.unsqueeze(1)
    c = c / std.unsqueeze(0)
    if c.dtype.is_complex:
        return disttorch.complex(c.real.clip(-1, 1), c.imag.clip(-1, 1))
    return c.clip(-1, 1)


@autocast_op("cdist")
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between each row of ``x1`` and each row of ``x2`` (batched over leading dims)."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {type_word(t.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist", None):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:  # the count of differing coordinates; through sign() so that its gradient is zero as in PyTorch
        return diff.abs().sign().sum(-1)
    return disttorch.linalg.vector_norm(diff, ord=p, dim=-1)


def _edges(xp: Any, lo: float, hi: float, bins: int, dt: Any) -> Any:
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return xp.linspace(lo, hi, bins + 1).astype(dt)


def _check_float(input: Tensor) -> None:
    if not input.dtype.is_floating_point:  # PyTorch's histogram is histogramdd underneath, and says so
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{type_word(input.dtype)}'")


_C_NAMES = {"float64": "double", "float32": "float", "float16": "c10::Half", "bfloat16": "c10::BFloat16"}


def _cname(dt: D.dtype) -> str:
    name = str(dt).split(".")[-1]
    return _C_NAMES.get(name, name)


def _num(v: float) -> str:
    return f"{v:g}"  # as C++ streams print a double: 1, 0.5, inf


def _hist_nd(name: str, input: Tensor, bins: Any, range: Sequence[float] | None, weight: Tensor | None,
             density: bool) -> tuple[Any, list]:
    """Counts of the rows of a (N, D) array over D axes, and the D edge arrays."""
    _check_float(input)
    pts = input._data.reshape(-1, input.shape[-1])
    xp = array_module(pts)
    ndim = pts.shape[1]
    if isinstance(bins, int):
        bins = [bins] * ndim
    if len(bins) != ndim:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * ndim:
        raise RuntimeError(f"torch.histogramdd: for a {ndim}-dimensional histogram range should have {2 * ndim} "
                           f"elements, but got {len(range)}")
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError("torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should "
                           f"have the same dtype, but got input({_cname(input.dtype)}), and "
                           f"weight({_cname(weight.dtype)})")
    if weight is not None and tuple(weight.shape) != tuple(input.shape[:-1]):
        raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                           "input tensor excluding its innermost dimension, but got input with shape "
                           f"{list(input.shape)} and weight with shape {list(weight.shape)}")
    edges = []
    for k, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b.ndim != 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {b.ndim} "
                                   f"dimensions in the bins tensor for dimension {k}")
            if b.dtype != input.dtype:
                raise RuntimeError("torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                                   f"but got input with dtype {_cname(input.dtype)} and bins for dimension {k} with "
                                   f"dtype {_cname(b.dtype)}")
            if b.shape[0] < 2:
                raise RuntimeError(f"torch.{name}(): bins must be > 0, but got {b.shape[0] - 1} for dimension {k}")
            edges.append(b._data.astype(pts.dtype))
            continue
        b = int(b)
        if b <= 0:
            raise RuntimeError(f"torch.{name}(): bins must be > 0, but got {b} for dimension {k}")
        if range is not None:
            lo, hi = float(range[2 * k]), float(range[2 * k + 1])
        elif pts.shape[0]:
            lo, hi = float(pts[:, k].min()), float(pts[:, k].max())
        else:
            lo, hi = 0.0, 1.0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: dimension {k}'s range [{_num(lo)}, {_num(hi)}] is not finite")
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_num(lo)} max "
                               f"{_num(hi)} for dimension {k}")
        edges.append(_edges(xp, lo, hi, b, pts.dtype))
    keep = xp.ones(pts.shape[0], dtype=bool)
    flat = xp.zeros(pts.shape[0], dtype=xp.int64)
    for k, e in enumerate(edges):
        v = pts[:, k]
        nb = e.shape[0] - 1
        pos = xp.searchsorted(e, v, side="right") - 1
        pos = xp.where(v == e[-1], nb - 1, pos)
        keep &= (v >= e[0]) & (v <= e[-1]) & (nb > 0)
        flat = flat * max(nb, 1) + xp.clip(pos, 0, max(nb - 1, 0))
    shape = tuple(e.shape[0] - 1 for e in edges)
    size = int(math.prod(shape))
    w = None if weight is None else weight._data.reshape(-1).astype(pts.dtype)
    hist = xp.bincount(flat[keep], weights=None if w is None else w[keep], minlength=size)[:size]
    hist = hist.astype(pts.dtype).reshape(shape)
    if density:
        widths = [xp.diff(e) for e in edges]
        vol = widths[0]
        for wd in widths[1:]:
            vol = vol[..., None] * wd
        hist = hist / hist.sum() / vol
    return hist.astype(pts.dtype), edges


def histogram(input: Tensor, bins: Any = 100, *, range: Sequence[float] | None = None, weight: Tensor | None = None,
              density: bool = False, out: Any = None) -> Any:
    """Counts of ``input``'s values in ``bins`` (a count of equal bins, or a 1-D tensor of edges)."""
    same = weight is not None and tuple(weight.shape) == tuple(input.shape)
    w = weight.reshape(-1) if same else weight
    hist, edges = _hist_nd("histogram", input.reshape(-1, 1), [bins], range, w, density)
    res = (_from_array(hist), _from_array(edges[0]))
    if out is not None:
        res = (write_out(res[0], out[0]), write_out(res[1], out[1]))
    return return_types.histogram(res)


def histogramdd(input: Tensor, bins: Any = 10, *, range: Sequence[float] | None = None,
                weight: Tensor | None = None, density: bool = False) -> Any:
    """Counts of the rows of ``input`` (innermost dimension: the coordinates) over a D-dimensional grid."""
    if isinstance(bins, Tensor):
        bins = [bins]
    hist, edges = _hist_nd("histogramdd", input, bins, range, weight, density)
    return return_types.histogramdd((_from_array(hist), tuple(_from_array(e) for e in edges)))


def _hist_method(self: Tensor, bins: Any = 100, *, range: Sequence[float] | None = None,
                 weight: Tensor | None = None, density: bool = False) -> Any:
    return histogram(self, bins, range=range, weight=weight, density=density)


def _cov_method(self: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
                aweights: Tensor | None = None) -> Tensor:
    return cov(self, correction=correction, fweights=fweights, aweights=aweights)


methods({"cov": _cov_method, "corrcoef": corrcoef, "histogram": _hist_method})
