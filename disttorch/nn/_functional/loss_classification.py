"""Classification losses: binary cross entropy (plain and with logits), nll_loss / cross_entropy, kl_div.

nll_loss and cross_entropy are one Op whose forward is log_softmax + gather on raw arrays and whose backward
is ``softmax * sum(q) - q`` (q: the per-class weights of the target, label smoothing included). The common
training case (host (N, C) input, int64 class indices, no weight or smoothing, mean or sum) runs as
ClassIndexLoss, the same math in about a third of the array calls.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._ops._register import type_word
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, backend_for_array

from .activation import _grad_on, logsigmoid
from .loss_reduction import _grad_scale, _legacy_reduction, _reduce, _reduce_raw, _reduction

_from_array = Tensor._from_array


def _on_host(a: Any) -> bool:
    return backend_for_array(a).device_type == "cpu"

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]


# -- binary cross entropy ------------------------------------------------------------------------------------
class BinaryCrossEntropy(Op):
    save_inputs = True

    def forward(self, x: Any, t: Any, w: Any) -> Any:
        xp = array_module(x)
        if bool(((x < 0) | (x > 1)).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = (t - 1) * xp.maximum(xp.log1p(-x), -100) - t * xp.maximum(xp.log(x), -100)
        if w is not None:
            loss = loss * w
        self.n = loss.size
        return _reduce_raw(xp, loss.astype(x.dtype, copy=False), self.reduction)

    def backward(self, grad: Tensor) -> tuple:
        x, t, w = self.saved_inputs
        g = _grad_scale(grad, self.reduction, self.n)
        if w is not None:
            g = g * w
        gx = g * (x - t) / ((1 - x) * x).clamp_min(1e-12) if self.next_edges[0] else None
        gt = g * ((1 - x).log() - x.log()) if self.next_edges[1] else None
        return gx, gt, None

    def name(self) -> str:
        return "BinaryCrossEntropyBackward0"


class BinaryCrossEntropyWithLogits(Op):
    """(1 - t) x - lw * log_sigmoid(x), lw = 1 + (pos_weight - 1) t, times weight."""

    save_inputs = True

    def forward(self, x: Any, t: Any, w: Any, pw: Any) -> Any:
        xp = array_module(x)
        ls = -xp.logaddexp(-x, 0).astype(x.dtype, copy=False)
        loss = (1 - t) * x - (ls if pw is None else ((pw - 1) * t + 1) * ls)
        if w is not None:
            loss = loss * w
        self.n = loss.size
        return _reduce_raw(xp, loss, self.reduction)

    def backward(self, grad: Tensor) -> tuple:
        x, t, w, pw = self.saved_inputs
        g = _grad_scale(grad, self.reduction, self.n)
        if w is not None:
            g = g * w
        gx = gt = None
        if self.next_edges[0]:
            gx = g * (x.sigmoid() - t if pw is None else (1 - t) - ((pw - 1) * t + 1) * (-x).sigmoid())
        if self.next_edges[1]:
            gt = g * (-x if pw is None else (1 - pw) * logsigmoid(x) - x)
        return gx, gt, None, None

    def name(self) -> str:
        return "BinaryCrossEntropyWithLogitsBackward0"


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    red = _reduction(reduction, size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    if weight is not None:
        weight = weight.expand(np.broadcast_shapes(target._data.shape, weight._data.shape))
    return BinaryCrossEntropy.apply(input, target, weight, reduction=red)


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    red = _reduction(reduction, size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction=red)


# -- nll_loss / cross_entropy ---------------------------------------------------------------------------------
class ClassLoss(Op):
    """nll_loss, or cross_entropy (``logits``) with class-index or class-probability targets, as one node.
    Class axis ``axis``; ``ls`` label smoothing; ``ii`` ignore_index.

    With logits, forward keeps the shifted logits ``s`` (x minus its row maximum), log-sum-exp ``lse`` and the
    softmax ``p``; a class-index target reads log p only where it is needed (the target's entry, and the row sum
    for label smoothing), so the full log p is never formed. On a device an out-of-range target gives a nan loss
    instead of an error: raising would need a device-to-host transfer on every call."""

    save_inputs = True

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        xp = array_module(x)
        ax, C, ls = self.axis, x.shape[self.axis], self.ls
        if self.logits:
            m = x.max(axis=ax, keepdims=True) if x.size else xp.zeros_like(x.sum(axis=ax, keepdims=True))
            s = x - m  # a +inf logit makes the row NaN, as PyTorch's log_softmax
            p = xp.exp(s)
            total = p.sum(axis=ax, keepdims=True)
            lse = xp.log(total)
            p /= total
            self.p = p
        wb = None if weight is None else weight.astype(x.dtype, copy=False).reshape(
            [C if i == ax else 1 for i in range(x.ndim)])
        self.wb = wb
        if self.probs:
            logp = s - lse if self.logits else x
            self.logp = logp
            q = target.astype(x.dtype, copy=False)
            if ls:
                q = q * (1 - ls) + ls / C
            if wb is not None:
                q = q * wb
            loss = -(q * logp).sum(axis=ax)
            self.denom = x.size // C if C else 0
        else:
            mask = target != self.ii
            ts = xp.where(mask, target, 0)
            bad = (ts < 0) | (ts >= C)
            host = _on_host(x)
            if host and bool(bad.any()):
                raise IndexError(f"Target {int(target[bad].ravel()[0])} is out of bounds.")
            if not host:
                ts = xp.where(bad, 0, ts)
            wt = (weight.astype(x.dtype, copy=False)[ts] if weight is not None else xp.ones(ts.shape, x.dtype))
            wt = wt * mask
            tse = xp.expand_dims(ts, ax)
            if self.logits:
                picked = (xp.take_along_axis(s, tse, axis=ax) - lse).squeeze(ax)
            else:
                picked = xp.take_along_axis(x, tse, axis=ax).squeeze(ax)
            loss = -picked * wt
            if ls:
                if self.logits:  # sum_c w_c log p_c = sum_c w_c s_c - (sum_c w_c) lse
                    ws = (s if wb is None else s * wb).sum(axis=ax)
                    smooth = -(ws - lse.squeeze(ax) * (C if wb is None else wb.sum()))
                else:
                    smooth = -(x if wb is None else x * wb).sum(axis=ax)
                loss = loss * (1 - ls) + smooth * mask * (ls / C)
            if not host:
                loss = xp.where(bad, xp.nan, loss)
            self.tse, self.wt, self.mask = tse, wt, mask
            self.denom = wt.sum()
        if self.reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = loss.sum()
        if self.reduction == "sum":
            return total.astype(x.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.asarray(total / self.denom, x.dtype)

    def _target_q(self, xp: Any, shape: tuple, dtype: Any) -> Any:
        """The dense per-class weights of a class-index target (what multiplies -log p)."""
        ax, ls = self.axis, self.ls
        q = xp.zeros(shape, dtype)
        xp.put_along_axis(q, self.tse, xp.expand_dims(self.wt * (1 - ls), ax), axis=ax)
        if ls:
            m = xp.expand_dims(self.mask, ax).astype(dtype)
            q += (m if self.wb is None else m * self.wb) * (ls / shape[ax])
        return q

    def _grad_scale(self, xp: Any, g: Any) -> Any:
        """The incoming gradient per element of the loss (class axis kept); an empty mean gives none, as in
        PyTorch (no host transfer to find out: a where on the device)."""
        if self.reduction == "none":
            return xp.expand_dims(g, self.axis)
        if self.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                return xp.where(self.denom != 0, g / self.denom, 0).astype(g.dtype, copy=False)
        return g

    def backward(self, grad: Tensor) -> tuple:
        x, target, weight = self.saved_inputs
        ax = self.axis
        if _grad_on[0]:
            return self._backward_tensors(grad, x, target)
        xp = x._xp
        g = self._grad_scale(xp, grad._data)
        if self.probs:
            q = target._data.astype(x._data.dtype, copy=False)
            if self.ls:
                q = q * (1 - self.ls) + self.ls / x._data.shape[ax]
            if self.wb is not None:
                q = q * self.wb
            gx = (self.p * q.sum(axis=ax, keepdims=True) - q) * g if self.next_edges[0] else None
            gt = None
            if self.next_edges[1]:
                gt = -(self.logp if self.wb is None else self.logp * self.wb) * ((1 - self.ls) * g)
                gt = _from_array(gt)
            return (_from_array(gx) if gx is not None else None), gt, None
        if self.logits and not self.ls:  # q is wt at the target only: p * wt, less wt at the target
            coef = xp.expand_dims(self.wt, ax) * g
            gx = self.p * coef
            picked = xp.take_along_axis(gx, self.tse, axis=ax)
            xp.put_along_axis(gx, self.tse, picked - coef, axis=ax)
        else:
            q = self._target_q(xp, x._data.shape, x._data.dtype)
            gx = (self.p * q.sum(axis=ax, keepdims=True) - q) * g if self.logits else -q * g
        return _from_array(gx.astype(x._data.dtype, copy=False)), None, None

    def _backward_tensors(self, grad: Tensor, x: Tensor, target: Tensor) -> tuple:
        """The same gradients as Tensor expressions (for higher-order gradients)."""
        ax = self.axis
        g = grad.unsqueeze(ax) if self.reduction == "none" else grad
        if self.reduction == "mean":
            d = x._xp.asarray(self.denom)
            inv = x._xp.where(d != 0, 1 / x._xp.where(d != 0, d, 1), 0).astype(grad._data.dtype)
            g = g * _from_array(inv)
        wb = _from_array(self.wb) if self.wb is not None else None
        if self.probs:
            q = target * (1 - self.ls) + self.ls / x.shape[ax] if self.ls else target
            if wb is not None:
                q = q * wb
        else:
            q = _from_array(self._target_q(x._xp, x._data.shape, x._data.dtype))
        gx = gt = None
        if self.next_edges[0]:
            if self.logits:
                gx = (x.softmax(ax) * q.sum(ax, keepdim=True) - q) * g
            else:  # linear in the input: PyTorch still records the gradient as a function of it
                gx = _LinearLossGrad.apply(-q * g, x, label=self.name()[:-1] + "Backward0")
        if self.probs and self.next_edges[1]:
            logp = x.log_softmax(ax)
            gt = -(logp if wb is None else logp * wb) * ((1 - self.ls) * g)
        return gx, gt, None

    def name(self) -> str:
        # the node PyTorch's cross_entropy ends with: its probability-target and label-smoothing forms are composites
        if self.logits and self.probs:
            return "DivBackward1" if self.reduction == "mean" else "NegBackward0"
        if self.logits and self.ls:
            return "AddBackward0"
        return "NllLossBackward0" if self.ndim <= 2 else "NllLoss2DBackward0"


class _LinearLossGrad(Op):
    """The gradient of a loss linear in its input (nll_loss's), ``v``, computed from the incoming gradient alone.
    PyTorch's node for it also takes the input, with a zero derivative: under ``create_graph`` the gradient
    requires grad and can be differentiated again (giving zeros for the input)."""

    def forward(self, v: Any, x: Any) -> Any:
        return v

    def backward(self, grad: Tensor) -> tuple:
        return grad, (grad * 0 if self.next_edges[1] is not None else None)

    def name(self) -> str:
        return self.label  # NllLossBackwardBackward0 / NllLoss2DBackwardBackward0


class ClassIndexLoss(ClassLoss):
    """ClassLoss's common case in fewer array calls: host (N, C) float logits (``logits``) or log-probabilities,
    an int64 class-index target, no weight, no label smoothing, a negative ``ii``, mean or sum. Anything the fast
    forward cannot vouch for (a target outside [0, C) that is not ``ii``, a non-finite result such as all targets
    ignored under mean) is redone by ClassLoss's general forward, which raises PyTorch's errors and gives its
    values; ``general`` then routes backward there too."""

    axis, ls, probs, ndim, wb = 1, 0.0, False, 2, None
    general = False

    def forward(self, x: Any, target: Any, weight: Any) -> Any:
        N, C = x.shape
        if target.view(np.uint64).max() < C:  # negatives wrap to huge values: one reduction checks both ends
            mask, ts = None, target
        else:
            mask = target != self.ii
            ts = np.where(mask, target, 0)
            if ts.view(np.uint64).max() >= C:
                return self._general(x, target)
        idx = (np.arange(N), ts)  # (row, class) pairs, whatever the memory layout of x
        if self.logits:
            s = x - x.max(axis=1, keepdims=True)
            p = np.exp(s)
            total = p.sum(axis=1, keepdims=True)
            p /= total
            self.p = p
            rows = np.log(total).ravel() - s[idx]
        else:
            rows = -x[idx]
        if mask is None:
            loss, count = rows.sum(), N
        else:
            loss, count = (rows * mask).sum(), int(np.count_nonzero(mask))
        if self.reduction == "mean":
            loss = loss / count if count else loss * np.nan
        if not np.isfinite(loss):
            return self._general(x, target)
        self.idx, self.fmask, self.count = idx, mask, count
        return np.asarray(loss, x.dtype)

    def _general(self, x: Any, target: Any) -> Any:
        self.general = True
        return ClassLoss.forward(self, x, target, None)

    def backward(self, grad: Tensor) -> tuple:
        if self.general or _grad_on[0]:
            if not self.general:
                self._fill_general(*self.saved_inputs[:2])
            return ClassLoss.backward(self, grad)
        x = self.saved_inputs[0]._data
        g = grad._data / self.count if self.reduction == "mean" else grad._data
        coef = g if self.fmask is None else self.fmask * g
        if self.logits:
            gx = self.p * (coef if self.fmask is None else coef[:, None])
            gx[self.idx] -= coef
        else:
            gx = np.zeros(x.shape, x.dtype)
            gx[self.idx] = -coef
        return _from_array(gx.astype(x.dtype, copy=False)), None, None

    def _fill_general(self, x: Tensor, target: Tensor) -> None:
        """What ClassLoss's tensor backward reads, from the raw inputs (only for higher-order gradients)."""
        t = target._data
        mask = t != self.ii
        self.mask = mask
        self.wt = mask.astype(x._data.dtype)
        self.tse = np.where(mask, t, 0)[:, None]
        self.denom = self.wt.sum()


def _class_index_fast(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, size_average: Any,
                      reduce: Any, reduction: str) -> bool:
    """Whether ClassIndexLoss applies (its conditions also pass every check of _check_class_target)."""
    x, t = input._data, target._data
    return (type(x) is np.ndarray and weight is None and size_average is None and reduce is None
            and (reduction == "mean" or reduction == "sum") and x.ndim == 2 and t.ndim == 1
            and t.dtype == np.int64 and (x.dtype == np.float32 or x.dtype == np.float64)
            and x.shape[0] == t.shape[0] and x.shape[0] > 0 and x.shape[1] > 0 and ignore_index < 0)


def _check_class_target(input: Tensor, target: Tensor, weight: Tensor | None) -> None:
    nd, td = input._data.ndim, target._data.ndim
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {type_word(target.dtype)}")
    if nd < 1:
        raise ValueError("input tensor should be 1D or more")
    shape, tshape = input._data.shape, target._data.shape
    if nd != 1 and td >= 1 and shape[0] != tshape[0]:
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size ({tshape[0]}).")
    if nd <= 2:
        if td > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd == 2 and td != 1 or nd == 1 and td != 0:
            raise RuntimeError(f"Expected input batch_size ({shape[0]}) to match target batch_size (1).")
    elif nd == 4:
        if td != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of "
                               f"dimension: {td}")
        if tshape != shape[:1] + shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(shape)} , target: {list(tshape)}")
    elif tshape[1:] != shape[2:]:
        raise RuntimeError(f"Expected target size {list(shape[:1] + shape[2:])}, got {list(tshape)}")
    C = shape[1] if nd >= 2 else shape[0]
    if weight is not None and weight._data.size != C:
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no classes but got "
                           f"weight tensor of shape: {list(weight._data.shape)}")
    if input._data.dtype.kind != "f":
        kernel = "nll_loss_out_frame" if nd <= 2 else "nll_loss2d_forward_out_frame"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_word(input.dtype)}'")


@autocast_op("nll_loss")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    if _class_index_fast(input, target, weight, ignore_index, size_average, reduce, reduction):
        return ClassIndexLoss.apply(input, target, None, ii=ignore_index, reduction=reduction, logits=False)
    red = _reduction(reduction, size_average, reduce)
    _check_class_target(input, target, weight)
    nd = input._data.ndim
    return ClassLoss.apply(input, target, weight, axis=1 if nd >= 2 else 0, ls=0.0, ii=ignore_index,
                           reduction=red, logits=False, probs=False, ndim=nd)


@autocast_op("cross_entropy")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    if not label_smoothing and _class_index_fast(input, target, weight, ignore_index, size_average, reduce,
                                                 reduction):
        return ClassIndexLoss.apply(input, target, None, ii=ignore_index, reduction=reduction, logits=True)
    red = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    if input._data.dtype.kind not in "fc":
        nd = input._data.ndim
        kernel = "lastdim_kernel_impl" if nd <= 2 else "kernel_impl"
        raise NotImplementedError(f"\"log_softmax_{kernel}\" not implemented for '{type_word(input.dtype)}'")
    nd = input._data.ndim
    probs = input._data.shape == target._data.shape
    if probs:
        if target._data.dtype.kind != "f":
            raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                               f"{type_word(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        C = input._data.shape[1 if nd >= 2 else 0]
        if weight is not None and weight._data.size != C:
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no classes but got "
                               f"weight tensor of shape: {list(weight._data.shape)}")
    else:
        _check_class_target(input, target, weight)
    return ClassLoss.apply(input, target, weight, axis=1 if nd >= 2 else 0, ls=float(label_smoothing),
                           ii=ignore_index, reduction=red, logits=True, probs=probs, ndim=nd)


# -- kl divergence ---------------------------------------------------------------------------------------------
@autocast_op("kl_div")
def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    if size_average is not None or reduce is not None:
        red = _legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                          "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
        red = reduction if reduction == "batchmean" else _reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if red == "batchmean":
        loss = loss.sum()
        return loss / input.shape[0] if input.dim() != 0 else loss
    return _reduce(loss, red)
