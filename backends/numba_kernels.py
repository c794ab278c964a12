"""Compiled cpu kernels (numba): the optional fast path of the numpy backend (``pip install disttorch[fast]``).

Each kernel fuses a chain that numpy runs as several passes over memory into one loop, for float32 and float64
C-contiguous numpy arrays; any other input makes the wrapper return None (or False) and the caller runs its
numpy code (the reference: same results within float rounding, tested both ways). Only chains without
transcendental functions are here: numba's scalar ``tanh`` / ``exp`` do not vectorise without SVML and measured
45x / 5x slower than numpy's (15 ns against 0.33 ns an element for float32 tanh), so LSTM gates, GELU and exp
stay numpy (the softmax kernels run before and after numpy's exp).

Compiled once per install and dtype (``cache=True``): in ``__pycache__`` beside this file, or, where that is
read-only, numba's user-wide cache directory (or ``NUMBA_CACHE_DIR``); with no writable place at all the
kernels compile in memory on first use in each process.
"""
from __future__ import annotations

from typing import Any

import numba
import numpy as np

from .numpy_backend import COMPILED_KERNELS

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _jit(fn: Any) -> Any:
    try:
        return numba.njit(cache=True, fastmath=False, error_model="numpy")(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available" (no writable directory)
        return numba.njit(cache=False, fastmath=False, error_model="numpy")(fn)


def _ok(*arrays: Any) -> bool:
    """float32 / float64 C-contiguous numpy arrays of one dtype."""
    dt = arrays[0].dtype
    return dt in _FLOATS and all(type(a) is np.ndarray and a.dtype == dt and a.flags.c_contiguous for a in arrays)


# -- 2-D max pooling's backward ---------------------------------------------------------------------------------
@_jit
def _max_pool2d_backward(g, arg, gx, kw, sh, sw, ph, pw, dh, dw):
    B, OH, OW = g.shape
    H, W = gx.shape[1], gx.shape[2]
    for b in range(B):
        for oy in range(OH):
            for ox in range(OW):
                j = arg[b, oy, ox]
                y = oy * sh - ph + (j // kw) * dh
                x = ox * sw - pw + (j % kw) * dw
                if 0 <= y < H and 0 <= x < W:
                    gx[b, y, x] += g[b, oy, ox]


@_jit
def _max_pool2d_2x2_backward(g, arg, gx):
    # indexed in full, not through row views: 4x faster on 64x32x28x28 (numba's views cost per row)
    B, OH, OW = g.shape
    H, W = gx.shape[1], gx.shape[2]
    z = gx.dtype.type(0)
    for b in range(B):
        for oy in range(OH):
            for ox in range(OW):
                v, j = g[b, oy, ox] + z, arg[b, oy, ox]  # + 0: -0.0 lands as 0.0, as PyTorch's zeros-and-add
                gx[b, 2 * oy, 2 * ox] = v if j == 0 else z
                gx[b, 2 * oy, 2 * ox + 1] = v if j == 1 else z
                gx[b, 2 * oy + 1, 2 * ox] = v if j == 2 else z
                gx[b, 2 * oy + 1, 2 * ox + 1] = v if j == 3 else z
            for x in range(2 * OW, W):  # a remainder column no window covers
                gx[b, 2 * oy, x] = z
                gx[b, 2 * oy + 1, x] = z
        for y in range(2 * OH, H):
            for x in range(W):
                gx[b, y, x] = z


def max_pool2d_backward(g: Any, arg: Any, in_shape: tuple, kernel: tuple, stride: tuple, pad: tuple,
                        dil: tuple) -> Any:
    """The input gradient (B, H, W) of a 2-D max pooling: g (B, OH, OW) summed in at each window's maximum,
    ``arg`` (B, OH, OW) being its flat offset within the window (pooling.py's ``_window_max``). An offset on
    the padding (a window of -inf only) lands nowhere. In one pass, against the numpy code's int64 index
    array and scatter."""
    if not _ok(g) or arg.ndim != 3 or not arg.flags.c_contiguous:
        return None
    if kernel == stride == (2, 2) and dil == (1, 1) and pad == (0, 0) and 2 * g.shape[1] <= in_shape[1] \
            and 2 * g.shape[2] <= in_shape[2]:  # tiling 2x2 windows: every input written once, no zeroing pass
        gx = np.empty(in_shape, g.dtype)
        _max_pool2d_2x2_backward(g, arg, gx)
        return gx
    gx = np.zeros(in_shape, g.dtype)
    _max_pool2d_backward(g, arg, gx, kernel[1], *stride, *pad, *dil)
    return gx


# -- ReLU's backward ------------------------------------------------------------------------------------------
@_jit
def _relu_backward(g, y, out):
    z = out.dtype.type(0)
    for i in range(g.size):
        out[i] = z if y[i] <= 0 else g[i]  # relu'(0) = 0; a NaN output keeps its gradient, as in PyTorch


def relu_backward(g: Any, y: Any) -> Any:
    """The input gradient of ReLU from its output ``y``: 0 where y <= 0 (even where g is inf or NaN), else g, in one
    pass (clamp_relu.py's numpy code makes four: the mask, its bit pattern, and a bitwise and)."""
    if g.shape != y.shape or not _ok(g, y):
        return None
    out = np.empty_like(g)
    _relu_backward(g.reshape(-1), y.reshape(-1), out.reshape(-1))
    return out


# -- 2x2 max pooling with stride 2: the forward --------------------------------------------------------------
@_jit
def _max_pool2d_2x2(x, best, arg):
    B, OH, OW = best.shape
    for b in range(B):
        for oy in range(OH):
            r0 = x[b, 2 * oy]
            r1 = x[b, 2 * oy + 1]
            for ox in range(OW):
                a0, a1, a2, a3 = r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]
                if a0 + a1 + a2 + a3 != a0 + a1 + a2 + a3:  # a NaN (or inf - inf): the scan below
                    m, k = a0, 0
                    for j, v in enumerate((a1, a2, a3)):
                        if v > m or v != v:  # a NaN wins, the last one
                            m, k = v, j + 1
                    best[b, oy, ox], arg[b, oy, ox] = m, k
                    continue
                m01 = a1 if a1 > a0 else a0
                m23 = a3 if a3 > a2 else a2
                m = m23 if m23 > m01 else m01
                miss0 = a0 != m  # the first maximum's offset: how many leading entries miss the maximum
                miss1 = miss0 & (a1 != m)
                miss2 = miss1 & (a2 != m)
                best[b, oy, ox] = m
                arg[b, oy, ox] = np.uint8(miss0) + np.uint8(miss1) + np.uint8(miss2)


def max_pool2d_2x2(x: Any, out: tuple) -> tuple | None:
    """Max and within-window argmax (uint8, row-major offset in the 2x2 window) of 2x2 windows with stride 2 over
    x (B, H, W) (padded already), for an (OH, OW) output: pooling.py's ``_window_max`` in one branch-free pass
    (its numpy code makes ~12 passes over quarter-size arrays). Ties go to the first maximum; a NaN wins."""
    if x.ndim != 3 or not _ok(x) or x.shape[1] < 2 * out[0] or x.shape[2] < 2 * out[1]:
        return None
    best = np.empty((x.shape[0],) + tuple(out), x.dtype)
    arg = np.empty(best.shape, np.uint8)
    _max_pool2d_2x2(x, best, arg)
    return best, arg


# -- col2im: the input gradient of a 2-D convolution ----------------------------------------------------------
@_jit
def _col2im2d(cols, bias, out, sh, sw, ph, pw, dh, dw):
    # Column-major over the kernel offsets: each (c, ky, kx) block of ``cols`` (N, OH, OW) is read once, in order,
    # and added into the (N, H, W) plane of channel c, which stays in cache across its KH * KW offsets. (Gathering
    # per input pixel instead jumped between the offsets' blocks: 2.7x slower on the benchmark CNN's 32 x 3 x 3.)
    C, KH, KW, N, OH, OW = cols.shape
    H, W = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            out[n, c] = bias[c]
    for c in range(C):
        for ky in range(KH):
            for kx in range(KW):
                off = kx * dw - pw  # input column of output column ox: ox * sw + off
                lo = 0 if off >= 0 else (-off + sw - 1) // sw
                hi = min(OW, (W - 1 - off) // sw + 1) if W - 1 - off >= 0 else 0
                for n in range(N):
                    for oy in range(OH):
                        y = oy * sh - ph + ky * dh
                        if y < 0 or y >= H:
                            continue
                        if sw == 1:  # a contiguous run (the common case: vectorises)
                            for ox in range(lo, hi):
                                out[n, c, y, ox + off] += cols[c, ky, kx, n, oy, ox]
                        else:
                            for ox in range(lo, hi):
                                out[n, c, y, ox * sw + off] += cols[c, ky, kx, n, oy, ox]


def col2im2d(cols: Any, b: Any, in_sp: tuple, stride: tuple, pad: tuple, dil: tuple) -> Any:
    """The input gradient (N, C, H, W) from whole-batch columns (C, KH, KW, N, OH, OW), plus ``b`` (C,) or
    None: each window's entries are added where they belong in the output directly, so there is no zeroed padded
    buffer and no crop copy (conv.py's fold_add path)."""
    c, n = cols.shape[0], cols.shape[3]
    b = np.zeros(c, cols.dtype) if b is None else b.reshape(c)
    if cols.ndim != 6 or not _ok(cols, b):
        return None
    out = np.empty((n, c) + tuple(in_sp), cols.dtype)
    _col2im2d(cols, b, out, *stride, *pad, *dil)
    return out


# -- LayerNorm over the last axis -----------------------------------------------------------------------------
@_jit
def _layer_norm_backward(g, xhat, invstd, w, gx, gw, gb):
    N, D = g.shape
    for r in range(N):
        m1 = 0.0
        m2 = 0.0
        for j in range(D):
            gj = g[r, j]
            gw[j] += gj * xhat[r, j]
            gb[j] += gj
            t = gj * w[j]
            m1 += t
            m2 += t * xhat[r, j]
        m1 /= D
        m2 /= D
        inv = invstd[r]
        for j in range(D):
            gx[r, j] = (g[r, j] * w[j] - m1 - xhat[r, j] * m2) * inv


def layer_norm_backward(g: Any, xhat: Any, invstd: Any, w: Any) -> tuple | None:
    """(gx, gw, gb) of a LayerNorm over the last axis from the output gradient g (N, D), the forward's xhat
    (N, D) and invstd (N,), and the weight w (or None), in one pass over the rows (two through each row): gw
    and gb accumulate row by row; gx = (g w - mean(g w) - xhat mean(g w xhat)) invstd."""
    D = g.shape[1]
    w = np.ones(D, g.dtype) if w is None else w.reshape(D)
    if not _ok(g, xhat, invstd, w):
        return None
    gx, gw, gb = np.empty_like(g), np.zeros(D, g.dtype), np.zeros(D, g.dtype)
    _layer_norm_backward(g, xhat, invstd, w, gx, gw, gb)
    return gx, gw, gb


# -- LSTM backpropagation through time: the gate gradients of one step -----------------------------------------
@_jit
def _lstm_backward_step(dh, dout, dc, acts, tc, cp, dx, s, one):
    b, H = dh.shape
    for r in range(b):
        n = s + r
        for j in range(H):
            o, i, f, g = acts[0, n, j], acts[1, n, j], acts[2, n, j], acts[3, n, j]
            t = tc[n, j]
            d = dh[r, j] + dout[n, j]
            c = dc[r, j] + d * ((one - t * t) * o)
            dx[n, 3 * H + j] = d * ((one - o) * o * t)
            dx[n, j] = c * ((one - i) * i * g)
            dx[n, H + j] = c * ((one - f) * f * cp[n, j])
            dx[n, 2 * H + j] = c * ((one - g * g) * i)
            dc[r, j] = c * f


def lstm_backward_step(dh: Any, dout: Any, dc: Any, acts: Any, tc: Any, cp: Any, dx: Any, s: int) -> bool:
    """One step of rnn.py's LSTM backward (no projection), rows s : s + b: the gradient of the pre-activations
    into dx (N, 4H, PyTorch's gate order i, f, g, o) from dh (b, H) + dout (N, H) and the cell gradient dc
    (b, H), which becomes the one entering the step (times f); acts (o, i, f, g) (4, N, H), tanh(c) and the
    c entering each step (N, H) as the forward saved them. Fuses the numpy code's per-step products and
    the factors it computes for all steps beforehand (same products, same order). False: inputs it does
    not take, nothing changed."""
    if not _ok(dh, dout, dc, acts, tc, cp, dx):
        return False
    _lstm_backward_step(dh, dout, dc, acts, tc, cp, dx, s, dh.dtype.type(1))
    return True


# -- softmax over the last axis, around numpy's exp ------------------------------------------------------------
@_jit
def _softmax_shift(x, out, causal, inf_to_zero):
    R, S = x.shape
    for r in range(R):
        lim = min(r % causal + 1, S) if causal else S
        m = -np.inf
        nan = False
        for j in range(lim):
            v = x[r, j]
            nan |= v != v
            m = v if v > m else m
        if nan:
            m = np.nan
        elif (inf_to_zero == 2 and (m == np.inf or m == -np.inf)) or (inf_to_zero == 1 and m == -np.inf):
            m = 0
        for j in range(lim):
            out[r, j] = x[r, j] - m
        for j in range(lim, S):
            out[r, j] = -np.inf


@_jit
def _softmax_normalize(e, safe):
    R, S = e.shape
    for r in range(R):
        acc = 0.0
        for j in range(S):
            acc += e[r, j]
        d = e.dtype.type(acc)
        if safe and d == 0:
            d = 1
        for j in range(S):
            e[r, j] /= d


@_jit
def _softmax_backward(g, y, out, scale):
    R, S = g.shape
    for r in range(R):
        acc = 0.0
        for j in range(S):
            acc += g[r, j] * y[r, j]
        a = g.dtype.type(acc)
        for j in range(S):
            out[r, j] = (g[r, j] - a) * y[r, j] * scale


def softmax_shift(x: Any, out: Any, causal: int = 0, inf_to_zero: int = 2) -> bool:
    """out = x - max(x) over the last axis of x (rows, S) (out may be x), in one pass for both. causal L > 0:
    row r keeps its first r % L + 1 entries and the rest become -inf (attention's top-left causal mask).
    An infinite max becomes 0 (``inf_to_zero`` 2), only -inf does (1) or neither (0); a NaN row stays NaN."""
    if x.ndim != 2 or not _ok(x, out):
        return False
    _softmax_shift(x, out, causal, inf_to_zero)
    return True


def softmax_normalize(e: Any, safe: bool = False) -> bool:
    """e /= e.sum(-1) in place over rows (rows, S); ``safe``: a zero sum divides by 1."""
    if e.ndim != 2 or not _ok(e):
        return False
    _softmax_normalize(e, safe)
    return True


def softmax_backward(g: Any, y: Any, scale: float = 1.0) -> Any:
    """(g - sum(g * y)) * y * scale over the last axis of (rows, S) arrays: softmax's input gradient from the
    output y and its gradient g, in one pass through each row for the sum and one for the result."""
    if g.ndim != 2 or not _ok(g, y):
        return None
    out = np.empty_like(g)
    _softmax_backward(g, y, out, g.dtype.type(scale))
    return out


# -- optimizer updates: SGD with momentum and Adam/AdamW, one pass over parameter, gradient and state ------------
# The arithmetic is the numpy kernels' (optim/sgd.py, optim/adam.py), operation by operation, in the arrays' dtype:
# the hyper-parameters come in already rounded to it, as numpy rounds Python floats; no fused multiply-adds.
@_jit
def _sgd_momentum(p, g, buf, lr, momentum, keep, weight_decay, dampened, nesterov, maximize):
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        if weight_decay != 0:
            gi = gi + p[i] * weight_decay
        b = buf[i] * momentum + (gi * keep if dampened else gi)
        buf[i] = b
        p[i] = p[i] - (gi + b * momentum if nesterov else b) * lr


def sgd_momentum(p: Any, g: Any, buf: Any, lr: float, momentum: float, dampening: float, weight_decay: float,
                 nesterov: bool, maximize: bool) -> bool:
    """SGD's step with momentum after the first (buf = momentum * buf + (1 - dampening) * g; p -= lr * buf, or the
    Nesterov form), in place on C-contiguous arrays of one shape and dtype; False: arrays it does not take."""
    if not _ok(p, g, buf) or not p.shape == g.shape == buf.shape:
        return False
    t = p.dtype.type
    p, g, buf = p.reshape(-1), g.reshape(-1), buf.reshape(-1)  # views: C-contiguous
    _sgd_momentum(p, g, buf, t(lr), t(momentum), t(1 - dampening), t(weight_decay), dampening != 0, nesterov, maximize)
    return True


@_jit
def _adam(p, g, m, v, vmax, decay, weight_decay, w, w_lo, beta2, one_minus_beta2, bc2_sqrt, eps, step_size,
          decoupled, amsgrad, maximize):
    for i in range(p.size):
        gi = -g[i] if maximize else g[i]
        pi = p[i]
        if weight_decay != 0:
            if decoupled:
                pi = pi * decay
            else:
                gi = gi + pi * weight_decay
        mi = m[i]
        mi = mi + (gi - mi) * w if w_lo else gi - (gi - mi) * w  # lerp from the nearer end (w: 1 - w when not lo)
        m[i] = mi
        vi = v[i] * beta2 + gi * gi * one_minus_beta2
        v[i] = vi
        if amsgrad:
            x = vmax[i]
            vi = x if x > vi or x != x else vi  # numpy's maximum: a NaN wins
            vmax[i] = vi
        p[i] = pi - mi / (np.sqrt(vi) / bc2_sqrt + eps) * step_size


def adam(p: Any, g: Any, m: Any, v: Any, vmax: Any, lr: float, beta1: float, beta2: float, eps: float,
         weight_decay: float, step: float, decoupled: bool, amsgrad: bool, maximize: bool) -> bool:
    """Adam's (AdamW's with ``decoupled``) step ``step`` in place on C-contiguous arrays of one shape and dtype; False:
    arrays it does not take. ``vmax`` (max_exp_avg_sq) is read only with ``amsgrad``."""
    arrays = (p, g, m, v, vmax) if amsgrad else (p, g, m, v)
    if not _ok(*arrays) or any(a.shape != p.shape for a in arrays):
        return False
    t = p.dtype.type
    w = 1 - beta1
    p, g, m, v = p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)  # views: C-contiguous
    vmax = vmax.reshape(-1) if amsgrad else v
    _adam(p, g, m, v, vmax, t(1 - lr * weight_decay), t(weight_decay), t(w if w < 0.5 else 1 - w),
          w < 0.5, t(beta2), t(1 - beta2), t((1 - beta2 ** step) ** 0.5), t(eps), t(lr / (1 - beta1 ** step)),
          decoupled, amsgrad, maximize)
    return True


KERNELS = {name: globals()[name] for name in COMPILED_KERNELS}  # numpy_backend's list: one list of names
