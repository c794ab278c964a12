"""torch.nn.utils.prune, unstructured basics: a pruned parameter ``name`` becomes ``name_orig`` (the Parameter),
the buffer ``name_mask`` and a plain attribute ``name = name_orig * name_mask`` refreshed by a forward pre-hook.
Pruning again narrows the mask: the new amount is taken among the entries still unpruned."""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import disttorch
from disttorch._tensor import Tensor
from disttorch.nn.modules.module import Module

__all__ = ["BasePruningMethod", "Identity", "RandomUnstructured", "L1Unstructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "custom_from_mask", "global_unstructured", "remove",
           "is_pruned"]


def _check_amount(amount: Any, n: int) -> int:
    """The number of entries to prune out of ``n``."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")
    if isinstance(amount, numbers.Integral):
        if amount > n:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={n}")
        return int(amount)
    return round(float(amount) * n)


class BasePruningMethod:
    PRUNING_TYPE = "unstructured"

    def __init__(self, name: str = "") -> None:
        self._tensor_name = name

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module: Module) -> Tensor:
        return getattr(module, self._tensor_name + "_orig") * getattr(module, self._tensor_name + "_mask")

    def scores(self, t: Tensor) -> Tensor:  # importance: the smallest are pruned first
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """Zero ``k`` more entries of ``default_mask``, chosen by ``scores`` among those still set."""
        alive = default_mask.reshape(-1) != 0
        k = _check_amount(self.amount, int(alive.sum()))
        mask = default_mask.clone().reshape(-1)
        if k:
            s = self.scores(t).reshape(-1).to(disttorch.float64)
            s = disttorch.where(alive, s, disttorch.full_like(s, float("inf")))
            mask[s.topk(k, largest=False)[1]] = 0
        return mask.reshape(default_mask.shape)

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Tensor | None = None,
              **kwargs: Any) -> BasePruningMethod:
        method = cls(*args, **kwargs)
        method._tensor_name = name
        old = _hook_for(module, name)
        if old is None:
            orig = getattr(module, name)
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default = disttorch.ones_like(orig)
        else:
            orig, default = getattr(module, name + "_orig"), getattr(module, name + "_mask").detach()
            del module._forward_pre_hooks[old[0]]
        scores = importance_scores if importance_scores is not None else orig
        with disttorch.no_grad():
            mask = method.compute_mask(scores.detach(), default)
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def remove(self, module: Module) -> None:
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class Identity(BasePruningMethod):
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> Identity:  # type: ignore[override]
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    def __init__(self, amount: Any) -> None:
        super().__init__()
        _check_amount(amount, 1 << 62)
        self.amount = amount

    def scores(self, t: Tensor) -> Tensor:
        return disttorch.rand(tuple(t.shape), device=t.device)


class L1Unstructured(BasePruningMethod):
    def __init__(self, amount: Any) -> None:
        super().__init__()
        _check_amount(amount, 1 << 62)
        self.amount = amount

    def scores(self, t: Tensor) -> Tensor:
        return t.abs()


class CustomFromMask(BasePruningMethod):
    def __init__(self, mask: Tensor) -> None:
        super().__init__()
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask * self.mask.to(dtype=default_mask.dtype)


def _hook_for(module: Module, name: str) -> tuple[Any, BasePruningMethod] | None:
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return k, hook
    return None


def identity(module: Module, name: str) -> Module:
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: Any, importance_scores: Tensor | None = None) -> Module:
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method: type, importance_scores: Any = None,
                        **kwargs: Any) -> None:
    """Prune ``amount`` over all the given parameters together, then apply each parameter's share as a mask."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = [importance_scores.get((m, n), getattr(m, n)).detach() for m, n in parameters]
    masks = [getattr(m, n + "_mask", disttorch.ones_like(s)).detach() for (m, n), s in zip(parameters, scores)]
    flat = disttorch.cat([s.reshape(-1) for s in scores])
    flat_mask = disttorch.cat([k.reshape(-1) for k in masks])
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    with disttorch.no_grad():
        new = method.compute_mask(flat, flat_mask)
    start = 0
    for (m, n), s in zip(parameters, scores):
        size = s.numel()
        custom_from_mask(m, n, new[start:start + size].reshape(s.shape))
        start += size


def remove(module: Module, name: str) -> Module:
    found = _hook_for(module, name)
    if found is None:
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
    found[1].remove(module)
    del module._forward_pre_hooks[found[0]]
    return module


def is_pruned(module: Module) -> bool:
    return any(isinstance(h, BasePruningMethod) for m in module.modules() for h in m._forward_pre_hooks.values())
