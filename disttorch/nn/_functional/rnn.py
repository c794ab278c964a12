"""The math of the recurrent layers (RNN, LSTM, GRU and their cells).

One layer and direction is one node (``RnnLayer``). Its forward projects the inputs of all time
steps in one matmul, then loops over time on raw arrays for the recurrent part only, saving the
activated gates; its backward runs backpropagation through time on raw arrays too, with the
gate factors that do not depend on the incoming gradient computed for all steps at once and the
weight gradients as one matmul over all steps. When a graph of the backward is asked for
(``create_graph=True``), the backward instead replays the recurrence with Tensor ops and
differentiates that, so higher-order gradients stay exact.

Sequences come either padded, x of shape (T, B, D), or packed, (N, D) with ``batch_sizes``:
step t then covers rows ``offsets[t] : offsets[t] + batch_sizes[t]`` and only the first
``batch_sizes[t]`` sequences of the batch advance (batch sizes never grow with t).
"""
from __future__ import annotations

from typing import Any, Sequence

from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array, blas_threads
from disttorch.nn._functional.linear import linear

__all__: list = []  # internal: the layers in nn/modules/rnn.py are the public face

CHUNKS = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RnnLayer(Op):
    """One layer and direction of a recurrent network over a whole sequence, input projection included.

    Inputs: x (T, B, D) or packed (N, D), h0 (B, P), c0 (B, H) for LSTM else None, w_ih, w_hh,
    b_ih, b_hh (or None), w_hr (LSTM projection, or None). Outputs: (out, h_n) or, for LSTM,
    (out, h_n, c_n). Attributes: ``mode``, ``reverse``, ``steps`` = [(row offset, batch size)] in
    time order.

    Sigmoid gates are computed as 0.5 * tanh(0.5 * a) + 0.5 with the 0.5 folded into their weight
    rows, so that one tanh covers all gates of a step; the LSTM forward orders its gates o, i, f, g
    (the sigmoid gates together).
    """

    save_inputs = True

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, w_hr: Any) -> tuple:
        xp = self._xp = array_module(x)
        mode = self.mode
        lstm, gru = mode == "LSTM", mode == "GRU"
        G = w_ih.shape[0]
        H = G // CHUNKS[mode]  # hidden (cell) size
        P = h0.shape[-1]  # size of h (the projection size when w_hr is given)
        B = h0.shape[0]
        x2 = x.reshape(-1, x.shape[-1])
        N = x2.shape[0]
        dt = x2.dtype
        b_hn = None
        if lstm:
            perm = xp.concatenate([xp.arange(3 * H, 4 * H), xp.arange(0, 3 * H)])  # i, f, g, o -> o, i, f, g
            scale = xp.ones(G, dt)
            scale[:3 * H] = 0.5
            w_in, w_rec = w_ih[perm] * scale[:, None], w_hh[perm] * scale[:, None]
            bias = (b_ih + b_hh)[perm] * scale if b_ih is not None else None
        elif gru:
            scale = xp.ones(G, dt)
            scale[:2 * H] = 0.5
            w_in, w_rec = w_ih * scale[:, None], w_hh * scale[:, None]
            if b_ih is not None:
                bias = b_ih * scale
                bias[:2 * H] += 0.5 * b_hh[:2 * H]
                b_hn = b_hh[2 * H:]
            else:
                bias = None
        else:
            w_in, w_rec = w_ih, w_hh
            bias = b_ih + b_hh if b_ih is not None else None
        xw = blas_threads.matmul(xp, x2, w_in.T)
        if bias is not None:
            xw += bias
        w_rec_t = xp.ascontiguousarray(w_rec.T)
        # saved for backward; gates are stored gate-major, (chunks, N, H), so each gate is one contiguous block
        self.acts = acts = xp.empty((CHUNKS[mode], N, H), dt)  # LSTM: o, i, f, g; GRU: r, z, n; RNN: the new h
        self.hp = hp = xp.empty((N, P), dt)  # h entering each step
        out = xp.empty((N, P), dt)
        gbuf = xp.empty((B, G), dt)
        if lstm:
            self.cp = cp = xp.empty((N, H), dt)  # c entering each step
            self.tc = tc = xp.empty((N, H), dt)  # tanh of the new c
            cs = xp.empty((N, H), dt)  # the new c of each step
            ig = xp.empty((B, H), dt)
            if w_hr is not None:
                self.hr = hr_all = xp.empty((N, H), dt)  # o * tanh(c) before the projection
                whr_t = xp.ascontiguousarray(w_hr.T)
        elif gru:
            self.hn = hn = xp.empty((N, H), dt)  # W_hn h + b_hn
        packed = any(b != B for _, b in self.steps)
        full = not packed  # packed: h and c are our own arrays, updated in place
        h = h0.copy() if packed else h0
        c = c0.copy() if packed and lstm else c0
        for s, b in (reversed(self.steps) if self.reverse else self.steps):
            e = s + b
            hb = h if full else h[:b]
            if packed:  # padded: h and c entering each step are filled in after the loop, in one copy each
                hp[s:e] = hb
            a = blas_threads.matmul(xp, hb, w_rec_t, out=gbuf[:b])
            if lstm:
                a += xw[s:e]
                xp.tanh(a.reshape(b, 4, H).transpose(1, 0, 2), out=acts[:, s:e])
                sg = acts[:3, s:e]
                sg *= 0.5
                sg += 0.5
                o, i, f, g = acts[0, s:e], acts[1, s:e], acts[2, s:e], acts[3, s:e]
                cb = c if full else c[:b]
                if packed:
                    cp[s:e] = cb
                cn = xp.multiply(f, cb, out=cs[s:e])
                cn += xp.multiply(i, g, out=ig[:b])
                t = xp.tanh(cn, out=tc[s:e])
                if w_hr is not None:
                    hnew = blas_threads.matmul(xp, xp.multiply(o, t, out=hr_all[s:e]), whr_t, out=out[s:e])
                else:
                    hnew = xp.multiply(o, t, out=out[s:e])
                if full:
                    c = cn
                else:
                    c[:b] = cn
            elif gru:
                if b_hn is not None:
                    a[:, 2 * H:] += b_hn
                hn[s:e] = a[:, 2 * H:]
                rz = a[:, :2 * H]
                rz += xw[s:e, :2 * H]
                xp.tanh(rz.reshape(b, 2, H).transpose(1, 0, 2), out=acts[:2, s:e])
                sg = acts[:2, s:e]
                sg *= 0.5
                sg += 0.5
                n = xp.multiply(acts[0, s:e], hn[s:e], out=acts[2, s:e])
                n += xw[s:e, 2 * H:]
                xp.tanh(n, out=n)
                hnew = xp.subtract(hb, n, out=out[s:e])
                hnew *= acts[1, s:e]
                hnew += n
            else:
                a += xw[s:e]
                hnew = acts[0, s:e]
                if mode == "RNN_TANH":
                    xp.tanh(a, out=hnew)
                else:
                    xp.maximum(a, 0, out=hnew)
                out[s:e] = hnew
            if full:
                h = hnew
            else:
                h[:b] = hnew
        if full and self.steps:
            _entering(hp, out, h0, B, self.reverse)
            if lstm:
                _entering(cp, cs, c0, B, self.reverse)
        out = out.reshape(x.shape[:-1] + (P,))
        h_n = h.copy() if full else h
        if lstm:
            return out, h_n, c.copy() if full else c
        return out, h_n

    def backward(self, grad_out: Tensor, grad_h: Tensor, grad_c: Tensor | None = None) -> tuple:
        if grad_mode._enabled[0]:
            return self._backward_with_graph(grad_out, grad_h, grad_c)
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = (t._data if t is not None else None for t in self.saved_inputs)
        xp, mode = self._xp, self.mode
        lstm, gru = mode == "LSTM", mode == "GRU"
        acts, hp = self.acts, self.hp
        _, N, H = acts.shape
        G = w_hh.shape[0]
        B = h0.shape[0]
        dt = acts.dtype
        dout = grad_out._data.reshape(N, -1)
        dh = grad_h._data.copy()
        full = all(b == B for _, b in self.steps)
        order = self.steps if self.reverse else self.steps[::-1]
        dX = xp.empty((N, G), dt)  # gradient of x W_ih^T + b_ih, PyTorch's gate order
        fused = backend_for_array(dX).kernels.get("lstm_backward_step") if lstm and w_hr is None else None
        if fused is not None:  # compiled (numba): each step's gate gradients in one pass
            res = _lstm_bptt_fused(fused, order, full, dh, dout, grad_c._data.copy(), acts, self.tc, self.cp, dX,
                                   w_hh)
            fused = res if res[0] is not None else None
        if fused is not None:
            dh, dc = fused
            dHW = dX
        elif lstm:
            # The step-independent factors of the gate gradients, for all steps at once (in place: these
            # arrays are large, and fresh temporaries of that size cost more than the arithmetic).
            o, i, f, g = acts
            tc = self.tc
            k_o = xp.subtract(1, o)
            k_o *= o
            k_o *= tc  # d a_o = dh * k_o
            k_c = xp.multiply(tc, tc)
            xp.subtract(1, k_c, out=k_c)
            k_c *= o  # dc += dh * k_c
            k_ifg = xp.empty((3, N, H), dt)  # d a_{i,f,g} = dc * k_ifg
            k = xp.subtract(1, i, out=k_ifg[0])
            k *= i
            k *= g
            k = xp.subtract(1, f, out=k_ifg[1])
            k *= f
            k *= self.cp
            k = xp.multiply(g, g, out=k_ifg[2])
            xp.subtract(1, k, out=k)
            k *= i
            dc = grad_c._data.copy()
            dX3 = dX.reshape(N, 4, H)
            if w_hr is not None:
                dh_all = xp.empty_like(hp)
            for s, b in order:
                e = s + b
                dhb = dh if full else dh[:b]
                dhb += dout[s:e]
                if w_hr is not None:
                    dh_all[s:e] = dhb
                    dhb = blas_threads.matmul(xp, dhb, w_hr)
                dcb = dc if full else dc[:b]
                dcb += dhb * k_c[s:e]
                d3 = dX3[s:e]
                xp.multiply(dhb, k_o[s:e], out=d3[:, 3])
                xp.multiply(dcb, k_ifg[:, s:e], out=d3[:, :3].transpose(1, 0, 2))
                dcb *= f[s:e]
                dh_prev = blas_threads.matmul(xp, dX[s:e], w_hh)
                if full:
                    dh = dh_prev
                else:
                    dh[:b] = dh_prev
            dHW = dX
        elif gru:
            r, z, n = acts
            k_n = xp.subtract(1, z)
            t = xp.multiply(n, n)
            xp.subtract(1, t, out=t)
            k_n *= t  # d a_n = dh * k_n
            k_z = xp.subtract(hp, n, out=t)
            k_z *= z
            k_z *= 1 - z  # d a_z = dh * k_z
            k_r = xp.subtract(1, r)
            k_r *= r
            k_r *= self.hn  # d a_r = d a_n * k_r
            dHW = xp.empty((N, G), dt)  # gradient of h W_hh^T + b_hh
            for s, b in order:
                e = s + b
                dhb = dh if full else dh[:b]
                dhb += dout[s:e]
                dw, dx = dHW[s:e], dX[s:e]
                dn = xp.multiply(dhb, k_n[s:e], out=dx[:, 2 * H:])
                xp.multiply(dhb, k_z[s:e], out=dw[:, H:2 * H])
                xp.multiply(dn, k_r[s:e], out=dw[:, :H])
                xp.multiply(dn, r[s:e], out=dw[:, 2 * H:])
                dh_prev = blas_threads.matmul(xp, dw, w_hh)
                dh_prev += dhb * z[s:e]
                if full:
                    dh = dh_prev
                else:
                    dh[:b] = dh_prev
            dX[:, :2 * H] = dHW[:, :2 * H]
        else:
            hs = acts[0]
            if mode == "RNN_TANH":
                k = xp.multiply(hs, hs)
                xp.subtract(1, k, out=k)
            else:
                k = (hs > 0).astype(dt)
            for s, b in order:
                e = s + b
                dhb = dh if full else dh[:b]
                dhb += dout[s:e]
                dh_prev = blas_threads.matmul(xp, xp.multiply(dhb, k[s:e], out=dX[s:e]), w_hh)
                if full:
                    dh = dh_prev
                else:
                    dh[:b] = dh_prev
            dHW = dX
        need = self.next_edges
        wrap = Tensor._from_array
        grads = [None] * 8
        if need[0]:
            grads[0] = wrap(blas_threads.matmul(xp, dX, w_ih).reshape(x.shape))
        if need[1]:
            grads[1] = wrap(dh)
        if lstm and need[2]:
            grads[2] = wrap(dc)
        if need[3]:
            grads[3] = wrap(blas_threads.matmul(xp, dX.T, x.reshape(N, -1)))
        if need[4]:
            grads[4] = wrap(blas_threads.matmul(xp, dHW.T, hp))
        if b_ih is not None and (need[5] or need[6]):
            db = dX.sum(0)
            grads[5] = wrap(db) if need[5] else None
            if need[6]:
                grads[6] = wrap(db.copy() if dHW is dX else dHW.sum(0))
        if w_hr is not None and need[7]:
            grads[7] = wrap(blas_threads.matmul(xp, dh_all.T, self.hr))
        return tuple(grads)

    def _backward_with_graph(self, grad_out: Tensor, grad_h: Tensor, grad_c: Tensor | None) -> tuple:
        from disttorch.autograd import grad as autograd_grad

        inputs = self.saved_inputs
        idx = [k for k, (t, e) in enumerate(zip(inputs, self.next_edges)) if t is not None and e is not None]
        outs = recurrence_graph(self.mode, *inputs, steps=self.steps, reverse=self.reverse)
        grads = (grad_out, grad_h) if self.mode != "LSTM" else (grad_out, grad_h, grad_c)
        got = autograd_grad(outs, [inputs[k] for k in idx], grads, create_graph=True, allow_unused=True)
        result: list = [None] * len(inputs)
        for k, g in zip(idx, got):
            result[k] = g
        return tuple(result)

    def release(self) -> None:
        super().release()
        for name in ("acts", "hp", "cp", "tc", "hr", "hn"):
            self.__dict__.pop(name, None)

    def name(self) -> str:
        return {"LSTM": "LstmLayer", "GRU": "GruLayer"}.get(self.mode, "RnnLayer") + "Backward0"


def _lstm_bptt_fused(kernel: Any, order: Sequence, full: bool, dh: Any, dout: Any, dc: Any, acts: Any, tc: Any,
                     cp: Any, dX: Any, w_hh: Any) -> tuple:
    """The LSTM's backpropagation through time with a compiled kernel per step (see RnnLayer.backward):
    (dh, dc) entering the first step, or (None, None) when the kernel does not take these arrays."""
    xp = array_module(dout)
    dout = xp.ascontiguousarray(dout)
    for s, b in order:
        if not kernel(dh if full else dh[:b], dout, dc if full else dc[:b], acts, tc, cp, dX, s):
            return None, None
        dh_prev = blas_threads.matmul(xp, dX[s:s + b], w_hh)
        if full:
            dh = dh_prev
        else:
            dh[:b] = dh_prev
    return dh, dc


def _entering(dst: Any, new: Any, first: Any, B: int, reverse: bool) -> None:
    """dst[step] = the state entering that step: ``first`` for the first step processed, else the new state
    of the step processed just before (the one above it in time order, or below it when ``reverse``)."""
    N = dst.shape[0]
    if reverse:
        dst[N - B:] = first
        dst[:N - B] = new[B:]
    else:
        dst[:B] = first
        dst[B:] = new[:N - B]


def recurrence_graph(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                     b_ih: Tensor | None, b_hh: Tensor | None, w_hr: Tensor | None, *,
                     steps: Sequence[tuple[int, int]], reverse: bool) -> tuple:
    """What ``RnnLayer`` computes, written with differentiable Tensor ops (for higher-order gradients)."""
    from disttorch._ops.shape import cat

    x2 = linear(x.reshape(-1, x.shape[-1]), w_ih, b_ih)
    H = w_hh.shape[0] // CHUNKS[mode]
    B = h0.shape[0]
    h, c = h0, c0
    outs: dict = {}
    for s, b in (reversed(steps) if reverse else steps):
        hb = h if b == B else h[:b]
        xb = x2[s:s + b]
        hw = linear(hb, w_hh, b_hh)
        if mode == "LSTM":
            a = xb + hw
            cb = c if b == B else c[:b]
            i, f, o = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid(), a[:, 3 * H:].sigmoid()
            cn = f * cb + i * a[:, 2 * H:3 * H].tanh()
            hnew = o * cn.tanh()
            if w_hr is not None:
                hnew = hnew.matmul(w_hr.t())
            c = cn if b == B else cat([cn, c[b:]])
        elif mode == "GRU":
            rz = (xb[:, :2 * H] + hw[:, :2 * H]).sigmoid()
            r, z = rz[:, :H], rz[:, H:]
            n = (xb[:, 2 * H:] + r * hw[:, 2 * H:]).tanh()
            hnew = n + z * (hb - n)
        elif mode == "RNN_TANH":
            hnew = (xb + hw).tanh()
        else:
            hnew = (xb + hw).relu()
        outs[s] = hnew
        h = hnew if b == B else cat([hnew, h[b:]])
    out = cat([outs[s] for s, _ in steps]).reshape(tuple(x.shape[:-1]) + (h.shape[-1],))
    return (out, h, c) if mode == "LSTM" else (out, h)


def padded_steps(T: int, B: int) -> list[tuple[int, int]]:
    return [(t * B, B) for t in range(T)]


def packed_steps(batch_sizes: Sequence[int]) -> list[tuple[int, int]]:
    steps, s = [], 0
    for b in batch_sizes:
        steps.append((s, int(b)))
        s += int(b)
    return steps


def _dropout(x: Tensor, p: float) -> Tensor:
    from disttorch.nn import functional as F

    fn = getattr(F, "dropout", None)
    if fn is not None:
        return fn(x, p, True)
    from disttorch._ops.random import rand_like

    keep = (rand_like(x) >= p).to(x.dtype)
    return x * keep * (1.0 / (1.0 - p)) if p < 1 else x * keep


def rnn_layers(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, weights: Sequence[Sequence[Tensor | None]],
               num_layers: int, bidirectional: bool, dropout: float, training: bool,
               steps: Sequence[tuple[int, int]]) -> tuple:
    """A stack of recurrent layers. ``x``: (T, B, D) time-major or packed (N, D); ``h0`` / ``c0``:
    (num_layers * num_directions, B, .); ``weights[k]`` = (w_ih, w_hh, b_ih, b_hh, w_hr) of layer
    k // num_directions, direction k % num_directions. Returns (output, h_n) or (output, h_n, c_n)."""
    from disttorch._ops.shape import cat, stack

    dirs = 2 if bidirectional else 1
    lstm = mode == "LSTM"
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            res = RnnLayer.apply(x, h0[k], c0[k] if lstm else None, w_ih, w_hh, b_ih, b_hh, w_hr,
                                 mode=mode, reverse=d == 1, steps=steps)
            outs.append(res[0])
            hs.append(res[1])
            if lstm:
                cs.append(res[2])
        x = outs[0] if dirs == 1 else cat(outs, -1)
        if dropout > 0 and training and layer < num_layers - 1:
            x = _dropout(x, dropout)
    h_n = stack(hs)
    return (x, h_n, stack(cs)) if lstm else (x, h_n)


def rnn_cell(mode: str, input: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None, b_hh: Tensor | None) -> Any:
    """One step: input (B, D), h0 / c0 (B, H). Returns h' or, for LSTM, (h', c')."""
    res = RnnLayer.apply(input, h0, c0, w_ih, w_hh, b_ih, b_hh, None, mode=mode, reverse=False,
                         steps=[(0, input.shape[0])])
    return (res[1], res[2]) if mode == "LSTM" else res[1]
