"""ctc_loss: the forward (alpha) recursion of CTC over the blank-interleaved target, written in differentiable
Tensor ops, so autograd gives the gradient. Impossible states hold a large finite negative number instead of
-inf, so that no 0/0 appears in the backward of logsumexp; their weight in any later sum is exactly 0.

PyTorch's kernel returns, for log_probs, the gradient with respect to the logits before a log_softmax
(it adds exp(log_probs) per unpadded time step). The same term is added here, with value 0, so the gradients
match PyTorch's; composed with log_softmax both equal the true gradient."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor
from disttorch.nn._functional.loss_reduction import _reduction

__all__ = ["ctc_loss"]

_NEG = -1e30


def _ints(v: Any) -> list[int]:
    if isinstance(v, Tensor):
        return [int(x) for x in v.reshape(-1).tolist()]
    if isinstance(v, int):
        return [v]
    return [int(x) for x in v]


def _lse(*xs: Tensor) -> Tensor:
    import disttorch

    s = disttorch.stack(xs)
    m = s.max(0)[0].detach()
    return m + (s - m).exp().sum(0).log()


def _nll(lp: Tensor, target: list[int], blank: int) -> Tensor:
    """-log p(target | lp) for one sample; lp is (T, C)."""
    import disttorch

    ext = [blank]
    for c in target:
        ext += [c, blank]
    s_len = len(ext)
    dev, dt = lp.device, lp.dtype
    idx = disttorch.tensor(ext, device=dev)
    skip = disttorch.tensor([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(s_len)], device=dev)
    neg1 = disttorch.full((1,), _NEG, dtype=dt, device=dev)
    neg2 = disttorch.full((2,), _NEG, dtype=dt, device=dev)
    start = disttorch.full((s_len,), _NEG, dtype=dt, device=dev)
    first = lp[0, idx]
    alpha = disttorch.where(disttorch.arange(s_len, device=dev) < 2, first, start)
    for t in range(1, lp.shape[0]):
        a1 = disttorch.cat([neg1, alpha[:-1]])
        a2 = disttorch.where(skip, disttorch.cat([neg2, alpha[:-2]]), start) if s_len > 2 else start
        alpha = _lse(alpha, a1, a2) + lp[t, idx]
    end = _lse(alpha[-1:], alpha[-2:-1]) if s_len > 1 else alpha[-1:]
    return -end.reshape(())


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    import disttorch

    reduction = _reduction(reduction)
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    tg = targets.unsqueeze(0) if unbatched and targets.ndim == 1 else targets
    in_l, tg_l = _ints(input_lengths), _ints(target_lengths)
    n = lp.shape[1]
    if len(in_l) != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_l) != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    flat = tg.ndim == 1
    tg_list = tg.reshape(-1).tolist() if flat else tg.tolist()
    losses, zeroed, offset = [], [], 0
    for b in range(n):
        if in_l[b] > lp.shape[0]:
            raise RuntimeError(f"Expected input_lengths to have value at most {lp.shape[0]}, but got value "
                               f"{in_l[b]} (while checking arguments for ctc_loss_allocate_outputs)")
        seq = tg_list[offset:offset + tg_l[b]] if flat else tg_list[b][:tg_l[b]]
        offset += tg_l[b]
        nll = _nll(lp[:in_l[b], b], [int(c) for c in seq], blank)
        impossible = bool(nll.detach() > -_NEG / 10)
        if impossible:
            nll = nll * 0 if zero_infinity else nll * 0 + float("inf")
        losses.append(nll)
        zeroed.append(impossible and zero_infinity)
    loss = disttorch.stack(losses)
    # PyTorch's gradient convention (see the module docstring): + exp(lp) per unpadded step, value 0
    steps = (disttorch.arange(lp.shape[0], device=lp.device).unsqueeze(1)
             < disttorch.tensor(in_l, device=lp.device).unsqueeze(0)).to(lp.dtype)
    if zero_infinity:  # a zeroed infinite loss has a zero gradient
        steps = steps * disttorch.tensor([0.0 if z else 1.0 for z in zeroed], dtype=lp.dtype, device=lp.device)
    extra = (lp.exp() * steps.unsqueeze(2)).sum((0, 2))
    loss = loss + (extra - extra.detach())
    if reduction == "mean":
        return (loss / disttorch.tensor(tg_l, device=lp.device).clamp_min(1).to(lp.dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(()) if unbatched else loss

