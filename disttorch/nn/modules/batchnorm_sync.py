"""SyncBatchNorm: batch normalisation with statistics over the whole process group.

In training each rank all-gathers (count, mean, biased var) per channel and merges them with the
parallel-variance formula, so ranks with unequal batch sizes still get the exact statistics of the
concatenated batch. Backward all-reduces the two per-channel sums the input gradient needs (sum of dy
and of dy * xhat), so input gradients equal those of one BatchNorm over the concatenated batch; the
weight and bias gradients stay local sums (DDP averages them like any other parameter gradient).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import distributed as dist
from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode as _grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends import array_module
from disttorch.collectives.base import ReduceOp
from disttorch.distributed.group_communicator import GroupCommunicator
from disttorch.nn import functional as F
from disttorch.nn.modules.module import Module
from disttorch.nn.modules.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]

_from_array = Tensor._from_array


class _SyncBatchNormOp(Op):
    """y = (x - mean) * invstd * w + b with mean/var over every rank's batch (attrs: comm, eps, running)."""

    def forward(self, x: Any, w: Any, b: Any) -> Any:
        xp = array_module(x)
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        pshape = (1, c) + (1,) * (x.ndim - 2)
        n = x.size // c
        # local (count, mean, biased var) per channel, merged in float64
        local = xp.zeros(2 * c + 1, dtype=np.float64)
        local[0] = n
        if n > 0:
            mean_l = x.mean(axis=axes)
            local[1:c + 1] = mean_l
            local[c + 1:] = ((x - mean_l.reshape(pshape)) ** 2).mean(axis=axes)
        every = xp.empty((self.comm.size, *local.shape), local.dtype)
        self.comm.all_gather(every, local)
        counts = every[:, 0:1]
        total = float(counts.sum())
        if total <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {int(total)}")
        means, vars_ = every[:, 1:c + 1], every[:, c + 1:]
        mean = (counts * means).sum(axis=0) / total
        var = (counts * (vars_ + (means - mean) ** 2)).sum(axis=0) / total
        if self.running is not None:
            rm, rv, momentum = self.running
            for t, value in ((rm, mean), (rv, var * (total / (total - 1)))):
                if t is not None:
                    t._data *= 1 - momentum
                    t._data += momentum * value.astype(t._data.dtype, copy=False)
                    t._vc[0] += 1
        invstd = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False).reshape(pshape)
        xhat = (x - mean.astype(x.dtype, copy=False).reshape(pshape)) * invstd
        self.xhat, self.invstd, self.total, self.axes, self.pshape = xhat, invstd, total, axes, pshape
        y = xhat * w.reshape(pshape) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(pshape)
        return y

    def backward(self, grad: Tensor) -> tuple:
        if _grad_mode._enabled[0]:
            raise RuntimeError("SyncBatchNorm does not support double backward (create_graph=True)")
        ex, ew, eb = self.next_edges
        g, xhat, axes = grad._data, self.xhat, self.axes
        sum_dy = g.sum(axis=axes)
        sum_dy_xhat = (g * xhat).sum(axis=axes)
        gx = None
        if ex is not None:
            c = sum_dy.shape[0]
            both = array_module(g).concatenate([sum_dy, sum_dy_xhat])
            self.comm.all_reduce(both, ReduceOp.SUM)
            w = self.w
            scale = self.invstd if w is None else self.invstd * w.reshape(self.pshape)
            mean_dy = (both[:c] / self.total).reshape(self.pshape)
            mean_dy_xhat = (both[c:] / self.total).reshape(self.pshape)
            gx = _from_array((g - mean_dy - xhat * mean_dy_xhat) * scale)
        gw = _from_array(sum_dy_xhat) if ew is not None else None
        gb = _from_array(sum_dy) if eb is not None else None
        return gx, gw, gb

    def name(self) -> str:
        return "SyncBatchNormBackward"


class SyncBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span every rank of ``process_group`` (default: the world)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        factor = self._momentum()
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        running_mean = self.running_mean if track else None
        running_var = self.running_var if track else None
        comm = None
        if bn_training and self.training and dist.is_initialized():
            comm = GroupCommunicator(self.process_group)
        if comm is None or comm.size == 1:
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training, factor,
                                self.eps)
        running = (running_mean, running_var, factor) if running_mean is not None or running_var is not None \
            else None
        return _SyncBatchNormOp.apply(input, self.weight, self.bias, comm=comm, eps=self.eps, running=running,
                                      w=None if self.weight is None else self.weight._data)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm*d layer (recursively) replaced by a SyncBatchNorm that shares its
        parameters and running statistics."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
