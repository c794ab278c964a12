"""rms_norm, pdist, gumbel_softmax, multilabel_margin_loss: composites of differentiable Tensor ops, so their
gradients (and higher derivatives) come from the ops they are built of."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.nn._functional.loss_reduction import _reduce, _reduction

__all__ = ["rms_norm", "pdist", "gumbel_softmax", "multilabel_margin_loss"]


def rms_norm(input: Tensor, normalized_shape: Sequence[int] | int, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    import disttorch

    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape [*"
                           f"{', '.join(str(s) for s in ns)}], but got input of size{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(weight.shape)} and normalized_shape = {list(ns)}")
    if eps is None:
        eps = disttorch.finfo(input.dtype).eps
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * (input * input).mean(axes, keepdim=True).add(eps).rsqrt()
    return y * weight if weight is not None else y


@autocast_op("pdist")
def pdist(input: Tensor, p: float = 2) -> Tensor:
    import disttorch

    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    idx = disttorch.triu_indices(n, n, 1, device=input.device)
    return (input[idx[0]] - input[idx[1]]).norm(p, 1)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    import disttorch

    # Gumbel(0, 1) noise as -log(Exp(1)).
    gumbels = -disttorch.empty_like(logits).exponential_().log()
    y = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y
    index = y.max(dim, keepdim=True)[1]
    y_hard = disttorch.zeros_like(logits).scatter_(dim, index, 1.0)
    # Straight-through: the value of y_hard, the gradient of y.
    return y_hard - y.detach() + y


def _multilabel_weights(input: Tensor, target: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, how often each class is among the targets (up to the first -1), and which classes are not."""
    t = np.asarray(target.detach().cpu().__array__()).reshape(-1, input.shape[-1] if input.ndim else 1)
    c = t.shape[1]
    counts = np.zeros(t.shape, dtype=np.float64)
    for row, trow in enumerate(t):
        for j in trow:
            if j < 0:
                break
            if j >= c:
                raise RuntimeError(f"index {int(j)} is out of bounds for dimension 0 with size {c}")
            counts[row, j] += 1
    return counts, (counts == 0).astype(np.float64)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    import disttorch

    reduction = _reduction(reduction, size_average, reduce)
    if input.ndim > 2 or (input.ndim == 2 and input.shape[0] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    counts, others = _multilabel_weights(input, target)
    w = disttorch.tensor(counts, dtype=input.dtype, device=input.device)
    o = disttorch.tensor(others, dtype=input.dtype, device=input.device)
    # hinge[n, j, i] = max(0, 1 - (x[n, j] - x[n, i])) for target class j and non-target class i
    hinge = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = (hinge * w.unsqueeze(2) * o.unsqueeze(1)).sum((1, 2)) / x.shape[1]
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


