"""Kernels written once for any numpy-compatible module ``xp`` (numpy, cupy)."""
from __future__ import annotations

import itertools
from typing import Any


def kernel_table(xp: Any) -> dict[str, Any]:
    as_strided = xp.lib.stride_tricks.as_strided

    def scatter_add(target, index, values):
        """target[index] += values, with repeated indices summed (unbuffered)."""
        if hasattr(xp, "add") and hasattr(xp.add, "at"):
            xp.add.at(target, index, values)
        else:  # cupy exposes the same operation under cupyx
            import cupyx

            cupyx.scatter_add(target, index, values)
        return target

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

    return {"scatter_add": scatter_add, "flat_index_add": flat_index_add, "pad": pad, "windows": windows,
            "window_slices": window_slices, "fold_add": fold_add}
