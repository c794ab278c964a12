"""Weight averaging (SWA and EMA): ``AveragedModel``, the averaging functions, and ``update_bn``.
and ``SWALR``, the learning-rate schedule that anneals each group's lr to its ``swa_lr``.
"""
from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable

import disttorch
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import no_grad
from disttorch.nn.modules.module import Module
from disttorch.nn.modules.normalization import _BatchNorm

from .lr_scheduler.base import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place exponential moving average over lists: ``ema <- decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_params: list[Tensor], current_params: list[Tensor], _: Any) -> None:
        with no_grad():
            for a, b in zip(ema_params, current_params):
                if a.is_floating_point() or a.is_complex():
                    a.lerp_(b, 1 - decay)
                else:
                    a.copy_(a * decay + b * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place running mean over lists: ``avg <- avg + (current - avg) / (n + 1)``."""

    def swa_update(avg_params: list[Tensor], current_params: list[Tensor], num_averaged: Any) -> None:
        with no_grad():
            for a, b in zip(avg_params, current_params):
                if a.is_floating_point() or a.is_complex():
                    a.lerp_(b, float(1 / (num_averaged + 1)))
                else:
                    a.copy_(a + (b - a) / (num_averaged + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """``avg_fn`` for one tensor: the exponential moving average."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """``avg_fn`` for one tensor: the running mean."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers, with ``use_buffers``) are averaged over the
    models passed to :meth:`update_parameters`; the running mean by default (SWA), or ``avg_fn`` /
    ``multi_avg_fn``. ``n_averaged`` (a long buffer) counts the updates."""

    def __init__(self, model: Module, device: Any = None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", disttorch.tensor(0, dtype=disttorch.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current values into the average (the first call copies them)."""
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        avg, cur = [], []
        first = int(self.n_averaged) == 0
        with no_grad():
            for a, b in zip(mine, theirs):
                b = b.detach().to(a.device)
                avg.append(a.detach())
                cur.append(b)
                if first:
                    a.detach().copy_(b)
            n = int(self.n_averaged)
            if n > 0:
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(avg, cur, self.n_averaged)
                elif self.avg_fn is None and avg and avg[0].device.type == "cuda":
                    get_swa_multi_avg_fn()(avg, cur, self.n_averaged)  # as PyTorch's foreach path on cuda
                else:
                    fn = self.avg_fn or get_swa_avg_fn()
                    for a, b in zip(avg, cur):
                        a.copy_(fn(a, b, self.n_averaged.to(a.device)))
            if not self.use_buffers:
                for a, b in zip(self.module.buffers(), model.buffers()):
                    a.detach().copy_(b.detach().to(a.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of ``model``'s batch norms with one pass over ``loader``
    (a cumulative average: momentum None), e.g. after averaging weights."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for inp in loader:
            if isinstance(inp, (list, tuple)):
                inp = inp[0]
            if device is not None:
                inp = inp.to(device)
            model(inp)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each param group's lr to ``swa_lr`` over ``anneal_epochs`` steps ("cos" or "linear"),
    then hold it. Chainable: each step starts from the group's current lr."""

    def __init__(self, optimizer: Any, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for value, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    def _set_anneal_func(self, strategy: str) -> None:
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list[Any]:
        self._warn_if_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)

        def start(lr: Any, swa_lr: Any, alpha: float) -> Any:  # the lr before annealing, undone from lr
            return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [g["swa_lr"] * alpha + start(g["lr"], g["swa_lr"], prev_alpha) * (1 - alpha)
                for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
