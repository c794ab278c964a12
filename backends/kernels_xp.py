"""Kernels written once for any numpy-compatible module ``xp`` (numpy, cupy)."""
from __future__ import annotations

import itertools
from typing import Any

_UFUNCS = {"sum": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _scatter_in_rounds(xp: Any, ufunc: Any, target: Any, index: Any, values: Any) -> None:
    """Unbuffered ``ufunc.at`` for array modules whose ufunc lacks ``at`` (cupy has it for add, subtract, maximum,
    minimum and the bitwise ufuncs only): each round applies the first remaining update of every distinct
    position as one buffered step (no position twice), so a position repeated k times takes k rounds."""
    pos = xp.arange(target.size).reshape(target.shape)[index]
    vals = xp.broadcast_to(xp.asarray(values, dtype=target.dtype), pos.shape).reshape(-1)
    pos = pos.reshape(-1)
    flat = target.reshape(-1) if target.flags.c_contiguous else target.ravel()
    while pos.size:
        uniq, first = xp.unique(pos, return_index=True)
        flat[uniq] = ufunc(flat[uniq], vals[first])
        rest = xp.ones(pos.shape, dtype=bool)
        rest[first] = False
        pos, vals = pos[rest], vals[rest]
    if not target.flags.c_contiguous:
        target[...] = flat.reshape(target.shape)


def kernel_table(xp: Any) -> dict[str, Any]:
    as_strided = xp.lib.stride_tricks.as_strided

    def scatter_reduce(target, index, values, how):
        """target[index] = how(target[index], values) unbuffered: every repeated index reduces in.
        ``how`` is sum, prod, amax or amin."""
        ufunc = getattr(xp, _UFUNCS[how])
        at = getattr(ufunc, "at", None)
        if at is not None:
            try:
                at(target, index, values)
                return target
            except NotImplementedError:  # cupy has ``at`` for some ufuncs only (not multiply)
                pass
        _scatter_in_rounds(xp, ufunc, target, index, values)
        return target

    def scatter_add(target, index, values):
        """target[index] += values, with repeated indices summed (unbuffered)."""
        return scatter_reduce(target, index, values, "sum")

    def flat_index_add(size, index, values, dtype):
        """A 1-d array of ``size`` zeros with ``values`` summed in at the flat ``index`` positions."""
        out = xp.bincount(index.ravel(), weights=values.ravel(), minlength=size)
        return out.astype(dtype, copy=False)

    def pad(x, lo, hi, value=0):
        """x (..., *spatial) padded on its last len(lo) dims by ``lo`` before and ``hi`` after."""
        nd = len(lo)
        if not any(lo) and not any(hi):
            return x
        lead = x.shape[:x.ndim - nd]
        shape = lead + tuple(s + a + b for s, a, b in zip(x.shape[x.ndim - nd:], lo, hi))
        out = xp.full(shape, value, dtype=x.dtype) if value != 0 else xp.zeros(shape, dtype=x.dtype)
        out[(...,) + tuple(slice(a, a + s) for a, s in zip(lo, x.shape[x.ndim - nd:]))] = x
        return out

    def windows(x, kernel, stride, dilation, out):
        """View (no copy) of x (..., *spatial) as (..., *out, *kernel) sliding windows."""
        nd = len(kernel)
        lead = x.ndim - nd
        st = x.strides
        shape = x.shape[:lead] + tuple(out) + tuple(kernel)
        strides = (st[:lead] + tuple(st[lead + i] * stride[i] for i in range(nd))
                   + tuple(st[lead + i] * dilation[i] for i in range(nd)))
        return as_strided(x, shape, strides)

    def window_slices(kernel, stride, dilation, out):
        """For each kernel offset, the tuple of slices that picks its value in every window."""
        for offs in itertools.product(*(range(k) for k in kernel)):
            yield offs, tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                              for o, d, s, n in zip(offs, dilation, stride, out))

    def fold_add(target, cols, stride, dilation):
        """col2im: target (..., *padded) += every window of cols (..., *kernel, *out) put back in place.
        Loops over the kernel offsets only (few); each step adds a whole strided slab."""
        nd = len(stride)
        lead = cols.ndim - 2 * nd
        kernel = cols.shape[lead:lead + nd]
        out = cols.shape[lead + nd:]
        pre = (slice(None),) * lead
        for offs, sl in window_slices(kernel, stride, dilation, out):
            target[pre + sl] += cols[pre + offs]
        return target

    return {"scatter_add": scatter_add, "scatter_reduce": scatter_reduce, "flat_index_add": flat_index_add,
            "pad": pad, "windows": windows, "window_slices": window_slices, "fold_add": fold_add}
