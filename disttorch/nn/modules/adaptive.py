"""AdaptiveLogSoftmaxWithLoss (Grave et al., "Efficient softmax approximation for GPUs"): a head softmax over
the frequent classes plus one entry per cluster of rarer classes, and per-cluster tails through a low-rank
projection; log p(class in cluster i) = log p_head(cluster i) + log p_tail_i(class)."""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

from disttorch._ops.creation import zeros
from disttorch._ops.shape import cat
from disttorch._tensor import Tensor
from disttorch.nn import functional as F
from disttorch.nn.modules.container import ModuleList, Sequential
from disttorch.nn.modules.linear import Linear
from disttorch.nn.modules.module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """``forward(input, target)`` gives ``(output, loss)``: each target's log-probability and their negated
    mean; ``log_prob(input)`` the full (batch, n_classes) log-probabilities; ``predict(input)`` the argmax."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **kw),
                                        Linear(hidden, size, bias=False, **kw)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        if target_.dim() == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with size",
                                   input_.size())
        elif target_.dim() == 0:
            if input_.dim() != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with size",
                                   input_.size())
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.dim() > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        lo, hi = int(target.min().item()), int(target.max().item())
        if lo < 0 or hi >= self.n_classes:
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{lo}, {hi}] were found. ")
        # the head column of each target: itself in the shortlist, else its cluster's entry
        column = target.clone()
        tail_part = zeros(target.shape[0], dtype=input.dtype, device=input.device)
        for i in range(self.n_clusters):
            start, stop = self.cutoffs[i], self.cutoffs[i + 1]
            rows = ((target >= start) & (target < stop)).nonzero().flatten()
            if rows.numel() == 0:
                continue
            column = column.index_fill(0, rows, self.shortlist_size + i)
            cluster_lp = F.log_softmax(self.tail[i](input.index_select(0, rows)), dim=1)
            local = cluster_lp.gather(1, (target.index_select(0, rows) - start).unsqueeze(1)).squeeze(1)
            tail_part = tail_part.index_add(0, rows, local)
        head_lp = F.log_softmax(self.head(input), dim=1)
        output = head_lp.gather(1, column.unsqueeze(1)).squeeze(1) + tail_part
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input: Tensor) -> Tensor:
        head_lp = F.log_softmax(self.head(input), dim=1)
        parts = [head_lp[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_lp = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_lp + head_lp[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """log p(class | input) for every class: (batch, n_classes), or (n_classes,) for 1-d input."""
        batched = input.dim() > 1
        out = self._full_log_prob(input if batched else input.unsqueeze(0))
        return out if batched else out.squeeze(0)

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row (equal to ``log_prob(input).argmax(dim=1)``)."""
        batched = input.dim() > 1
        x = input if batched else input.unsqueeze(0)
        best = self._full_log_prob(x).argmax(dim=1)
        return best if batched else best.squeeze(0)
