"""Attention: scaled_dot_product_attention (one fused node) and multi_head_attention_forward."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._ops.creation import zeros
from disttorch._ops.linalg import _broadcast_shapes
from disttorch._ops.random import _generator_for
from disttorch._ops.shape import cat
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array, blas_threads

from .linear import linear

# the private helpers are exported too: PyTorch code reaches them as F._canonical_mask etc.
__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "_canonical_mask", "_none_or_dtype",
           "_mha_shape_check"]

_from_array = Tensor._from_array
_NEG_INF = float("-inf")


class ScaledDotProductAttention(Op):
    """softmax(q k^T * scale + mask) (dropped out) @ v as one node.

    Attributes: ``scale``, ``causal`` (top-left aligned lower triangle), ``keep`` (dropout mask already
    scaled by 1/(1-p), or None), ``safe`` (rows with every key masked give 0 instead of NaN) and
    ``weights`` (also return the attention weights as a second, differentiable output)."""

    save_inputs = True

    def forward(self, q: Any, k: Any, v: Any, mask: Any) -> Any:
        xp = array_module(q)
        s = blas_threads.matmul(xp, q * q.dtype.type(self.scale), xp.swapaxes(k, -1, -2))
        if mask is not None:
            s = xp.where(mask, s, _NEG_INF) if mask.dtype == bool else s + mask
        L, S = s.shape[-2:]
        rows = s.reshape(-1, S) if s.size and s.flags.c_contiguous else None  # a view, written in place
        kernels = backend_for_array(s).kernels
        shift = kernels.get("softmax_shift") if rows is not None else None
        if shift is not None and shift(rows, rows, L if self.causal else 0, 1 if self.safe else 0):
            xp.exp(s, out=s)  # compiled (numba): causal mask, max and shift in one pass, sum and division in one
            kernels["softmax_normalize"](rows, self.safe)
        else:
            s = self._softmax(s)
        s = s.astype(q.dtype, copy=False)  # bfloat16 scores come back as float32 from numpy
        self.probs = s
        w = s
        if self.dropout_p > 0:
            keep = self.rng.random(s.shape, dtype=np.float32) >= self.dropout_p
            scale = 1.0 / (1.0 - self.dropout_p) if self.dropout_p < 1 else 0.0
            self.keep = keep.astype(s.dtype) * s.dtype.type(scale)
            w = s * self.keep
        else:
            self.keep = None
            if self.weights:
                w = s.copy()  # the returned weights must not alias what backward reads
        out = blas_threads.matmul(xp, w, v).astype(q.dtype, copy=False)
        return (out, w) if self.weights else out

    def _softmax(self, s: Any) -> Any:
        """softmax over the last axis of the scores s (our own array, in place where the shapes allow), with the
        causal mask and ``safe`` rows."""
        xp = array_module(s)
        if self.causal:
            L, S = s.shape[-2:]
            bias = xp.where(xp.tri(L, S, dtype=bool), s.dtype.type(0), s.dtype.type(_NEG_INF))
            if s.shape == np.broadcast_shapes(s.shape, bias.shape):
                s += bias  # in place: s is our own array here
            else:
                s = s + bias
        m = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
        if self.safe:  # by where, not a boolean assignment (which a device would sync for)
            m = xp.where(m == _NEG_INF, m.dtype.type(0), m)
        s -= m
        xp.exp(s, out=s)
        denom = s.sum(axis=-1, keepdims=True)
        if self.safe:
            denom = xp.where(denom == 0, denom.dtype.type(1), denom)
        s /= denom
        return s

    def backward(self, grad: Tensor, grad_w: Tensor | None = None) -> tuple:
        q, k, v, mask = self.saved_inputs
        gq, gk, gv, gm = self.next_edges
        if not grad_mode._enabled[0]:
            return self._backward_raw(grad, grad_w, q, k, v)
        p = self._probs(q, k, mask)  # create_graph: the weights rebuilt from the inputs stay differentiable
        keep = None if self.keep is None else _from_array(self.keep)
        w = p if keep is None else p * keep
        dq = dk = dv = dm = None
        if gv is not None:
            dv = w.transpose(-2, -1).matmul(grad)
        if gq is not None or gk is not None or gm is not None:
            dw = grad.matmul(v.transpose(-2, -1))
            if grad_w is not None:
                dw = dw + grad_w
            dp = dw if keep is None else dw * keep
            ds = p * (dp - (dp * p).sum(-1, keepdim=True))
            if gm is not None:
                dm = ds
            if gq is not None:
                dq = ds.matmul(k) * self.scale
            if gk is not None:
                dk = ds.transpose(-2, -1).matmul(q) * self.scale
        return dq, dk, dv, dm

    def _backward_raw(self, grad: Tensor, grad_w: Tensor | None, q: Tensor, k: Tensor, v: Tensor) -> tuple:
        """The backward below on raw arrays, in place where the arrays are our own (no graph is wanted)."""
        gq, gk, gv, gm = self.next_edges
        xp, g, p = grad._xp, grad._data, self.probs
        keep = self.keep
        w = p if keep is None else p * keep
        dq = dk = dv = dm = None
        if gv is not None:
            dv = _from_array((xp.swapaxes(w, -1, -2) @ g).astype(v._data.dtype, copy=False))
        if gq is not None or gk is not None or gm is not None:
            dp = g @ xp.swapaxes(v._data, -1, -2)  # our own array from here on
            if grad_w is not None:
                dp += grad_w._data
            if keep is not None:
                dp *= keep
            fast = backend_for_array(dp).kernels.get("softmax_backward") if gm is None and dp.size else None
            ds = fast(dp.reshape(-1, dp.shape[-1]), p.reshape(-1, p.shape[-1]), self.scale) if fast else None
            if ds is not None:  # compiled (numba): ds * scale in one pass through each row
                ds = ds.reshape(dp.shape)
                if gq is not None:
                    dq = _from_array((ds @ k._data).astype(q._data.dtype, copy=False))
                if gk is not None:
                    dk = _from_array((xp.swapaxes(ds, -1, -2) @ q._data).astype(k._data.dtype, copy=False))
                return dq, dk, dv, dm
            t = dp * p  # ds = p * (dp - sum(dp * p))
            xp.subtract(dp, t.sum(axis=-1, keepdims=True), out=dp)
            dp *= p
            if gm is not None:
                dm = _from_array(dp.copy())
            dp *= dp.dtype.type(self.scale)
            if gq is not None:
                dq = _from_array((dp @ k._data).astype(q._data.dtype, copy=False))
            if gk is not None:
                dk = _from_array((xp.swapaxes(dp, -1, -2) @ q._data).astype(k._data.dtype, copy=False))
        return dq, dk, dv, dm

    def _probs(self, q: Tensor, k: Tensor, mask: Tensor | None) -> Tensor:
        """The attention weights as a differentiable function of q, k (and a float mask)."""
        s = q.matmul(k.transpose(-2, -1)) * self.scale
        if mask is not None:
            s = s.masked_fill(mask.logical_not(), _NEG_INF) if mask.dtype is D.bool_ else s + mask
        if self.causal:
            L, S = s.shape[-2:]
            s = s.masked_fill(_from_array(~array_module(s._data).tri(L, S, dtype=bool)), _NEG_INF)
        if not self.safe:
            return s.softmax(-1)
        dead = _from_array((self.probs == 0).all(axis=-1, keepdims=True))
        # fully masked rows: softmax over zeros, then zeroed, so that neither value nor gradient is NaN
        return s.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)

    def release(self) -> None:
        super().release()
        self.probs = self.keep = None

    def name(self) -> str:
        return "UnsafeViewBackward0"


_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


def c10_name(dt: Any) -> str:
    """The C++ type name PyTorch's kernels print for a dtype."""
    name = str(dt).replace("torch.", "")
    return _C10_NAMES.get(name, name)



def _repeat_heads(t: Tensor, rep: int) -> Tensor:
    """repeat_interleave(rep, dim=-3)."""
    shape = t.shape
    expanded = t.unsqueeze(-3).expand(*shape[:-2], rep, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * rep, *shape[-2:])


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value over the last two dims; leading dims broadcast.
    A bool ``attn_mask`` marks the pairs that take part; a float one is added to the scores."""
    return _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, True, False)


def _sdpa(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, dropout_p: float, is_causal: bool,
          scale: float | None, enable_gqa: bool, safe: bool, weights: bool) -> Any:
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    dt = query.dtype
    if key.dtype is not dt or value.dtype is not dt:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{c10_name(dt)} key.dtype: {c10_name(key.dtype)} and value.dtype: {c10_name(value.dtype)}"
                           " instead.")
    if not dt.is_floating_point:
        raise RuntimeError(f"expected scalar type Float but found {c10_name(dt).title()}")
    if attn_mask is not None and attn_mask.dtype is not D.bool_ and attn_mask.dtype is not dt:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {c10_name(attn_mask.dtype)} and  query.dtype: {c10_name(dt)} instead.")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if not 0 <= dropout_p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and query.dim() >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
        if hk != hq:
            key = _repeat_heads(key, hq // hk)
        if hv != hq:
            value = _repeat_heads(value, hq // hv)
    qs, ks, vs = query.shape, key.shape, value.shape
    batch = _broadcast_shapes(qs[:-2], ks[:-2])
    nb = math.prod(batch)
    if ks[-1] != qs[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{nb}, {qs[-1]}] but got: "
                           f"[{nb}, {ks[-1]}].")
    scores = batch + (qs[-2], ks[-2])
    if attn_mask is not None:
        scores = _broadcast_shapes(scores, attn_mask.shape)
    _broadcast_shapes(scores[:-2], vs[:-2])
    if vs[-2] != ks[-2]:
        nb = math.prod(_broadcast_shapes(scores[:-2], vs[:-2]))
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{nb}, {ks[-2]}] but got: "
                           f"[{nb}, {vs[-2]}].")
    rng = _generator_for(query.device, None) if dropout_p > 0 else None
    return ScaledDotProductAttention.apply(
        query, key, value, attn_mask, scale=1.0 / math.sqrt(qs[-1]) if scale is None else scale, causal=is_causal,
        dropout_p=dropout_p, rng=rng, safe=safe, weights=weights)


# -- multi-head attention ------------------------------------------------------------------------------
def _canonical_mask(mask: Tensor | None, mask_name: str, other_type: Any, other_name: str, target_type: Any,
                    check_other: bool = True) -> Tensor | None:
    """Bool masks (True = masked out) become float masks with -inf; float masks pass through."""
    if mask is None:
        return None
    if mask.dtype is not D.bool_ and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=2)
    if mask.dtype is D.bool_:
        xp = array_module(mask._data)
        arr = xp.where(mask._data, target_type.np.type(_NEG_INF), target_type.np.type(0))
        return _from_array(arr)
    return mask


def _none_or_dtype(input: Tensor | None) -> Any:
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the inputs are batched (3-D) or not (2-D); AssertionError for inconsistent ranks."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                     f"found {attn_mask.dim()}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
                         "tensor")


def _in_projection(query: Tensor, key: Tensor, value: Tensor, w: Tensor | None, b: Tensor | None,
                   wq: Tensor | None, wk: Tensor | None, wv: Tensor | None, separate: bool) -> tuple:
    E = query.shape[-1]
    if separate:
        for name, t in (("q", wq), ("k", wk), ("v", wv)):
            if t is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        Ek, Ev = key.shape[-1], value.shape[-1]
        for what, t, want in (("query", wq, (E, E)), ("key", wk, (E, Ek)), ("value", wv, (E, Ev))):
            if tuple(t.shape) != want:
                raise AssertionError(f"expecting {what} weights shape of {want}, but got {t.shape}")
        bq, bk, bv = (None, None, None) if b is None else b.split(E)
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    if w is None:
        raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
    if key is value and query is key:  # self-attention: one product
        return linear(query, w, b).unflatten(-1, (3, E)).unbind(-2)
    if key is value:  # encoder-decoder attention: key and value share one product
        wq, wkv = w.split([E, 2 * E])
        bq, bkv = (None, None) if b is None else b.split([E, 2 * E])
        k, v = linear(key, wkv, bkv).unflatten(-1, (2, E)).unbind(-2)
        return linear(query, wq, bq), k, v
    wq, wk, wv = w.split(E)
    bq, bk, bv = (None, None, None) if b is None else b.split(E)
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _pad_last(mask: Tensor) -> Tensor:
    """Append one zero column (F.pad(mask, (0, 1)))."""
    return cat([mask, zeros(*mask.shape[:-1], 1, dtype=mask.dtype, device=mask.device)], -1)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) (or unbatched (L, E)) inputs; returns (output, weights or None)."""
    return _multi_head_attention(
        query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
        add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask, need_weights,
        attn_mask, use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, static_k, static_v,
        average_attn_weights, is_causal, False, False)


def _multi_head_attention(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
        add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
        training: bool, key_padding_mask: Tensor | None, need_weights: bool, attn_mask: Tensor | None,
        use_separate_proj_weight: bool, q_proj_weight: Tensor | None, k_proj_weight: Tensor | None,
        v_proj_weight: Tensor | None, static_k: Tensor | None, static_v: Tensor | None, average_attn_weights: bool,
        is_causal: bool, batch_first: bool, nan_rows: bool,
) -> tuple[Tensor, Tensor | None]:
    """multi_head_attention_forward, also on (N, L, E) inputs when ``batch_first``: the projections then run
    on the inputs as they are laid out, with no transposed copies. Heads are computed as (N, H, L, head_dim).
    ``nan_rows``: a query whose keys are all masked gives NaN (PyTorch's fused inference kernels) instead of 0."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        batch_first = False
        same_kv, same_qk = key is value, query is key
        query = query.unsqueeze(1)
        key = query if same_qk else key.unsqueeze(1)
        value = key if same_kv else value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    seq, bat = (1, 0) if batch_first else (0, 1)
    tgt_len, bsz, embed_dim = query.shape[seq], query.shape[bat], query.shape[2]
    src_len = key.shape[seq]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # SDPA applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {_seq_first(key, batch_first)[:2]} do not match "
                                 f"value's {_seq_first(value, batch_first)[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {_seq_first(key, batch_first)} does not match value shape "
                             f"{_seq_first(value, batch_first)}")

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, q_proj_weight, k_proj_weight,
                             v_proj_weight, use_separate_proj_weight)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    # (.., E) projections -> (N, H, len, head_dim)
    q = _split_heads(q, num_heads, batch_first)
    k = _split_heads(k, num_heads, batch_first) if static_k is None else _static(static_k, "k", bsz, num_heads,
                                                                                   head_dim)
    v = _split_heads(v, num_heads, batch_first) if static_v is None else _static(static_v, "v", bsz, num_heads,
                                                                                   head_dim)
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.reshape(1, num_heads, 1, head_dim).expand(bsz, num_heads, 1, head_dim)], 2)
        v = cat([v, bias_v.reshape(1, num_heads, 1, head_dim).expand(bsz, num_heads, 1, head_dim)], 2)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")
    if add_zero_attn:
        k = cat([k, zeros(bsz, num_heads, 1, head_dim, dtype=k.dtype, device=k.device)], 2)
        v = cat([v, zeros(bsz, num_heads, 1, head_dim, dtype=v.dtype, device=v.device)], 2)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[2]

    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0
    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        # the weights path is a plain softmax: rows with every key masked give NaN, as in PyTorch
        out, weights = _sdpa(q, k, v, attn_mask, dropout_p, False, None, False, False, True)
    else:
        out, weights = _sdpa(q, k, v, attn_mask, dropout_p, is_causal, None, False, not nan_rows, False), None
    # (N, H, L, head_dim) -> (N, L, E) or (L, N, E)
    out = out.transpose(1, 2) if batch_first else out.permute(2, 0, 1, 3)
    out = linear(out.reshape(out.shape[0], out.shape[1], embed_dim), out_proj_weight, out_proj_bias)
    if weights is not None:
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            weights = weights.squeeze(0)
    if not is_batched:
        out = out.squeeze(1)
    return out, weights


def _seq_first(t: Tensor, batch_first: bool) -> Any:
    """The shape PyTorch reports (its module transposes batch-first inputs before the checks)."""
    s = t.shape
    return type(s)((s[1], s[0]) + tuple(s[2:])) if batch_first else s


def _split_heads(x: Tensor, num_heads: int, batch_first: bool) -> Tensor:
    a, b, e = x.shape
    x = x.reshape(a, b, num_heads, e // num_heads)
    return x.transpose(1, 2) if batch_first else x.permute(1, 2, 0, 3)


def _static(t: Tensor, name: str, bsz: int, num_heads: int, head_dim: int) -> Tensor:
    if t.shape[0] != bsz * num_heads:
        raise AssertionError(f"expecting static_{name}.size(0) of {bsz * num_heads}, but got {t.shape[0]}")
    if t.shape[2] != head_dim:
        raise AssertionError(f"expecting static_{name}.size(2) of {head_dim}, but got {t.shape[2]}")
    return t.reshape(bsz, num_heads, t.shape[1], head_dim)
