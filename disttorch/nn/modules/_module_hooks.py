"""Module hooks: the global forward hooks, each module's hook registrars, and the call that runs them
(forward pre-hooks, forward, forward hooks, and the full backward hooks around it)."""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable

from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import _enabled as _grad_enabled
from disttorch.autograd.graph import Op, RemovableHandle

if TYPE_CHECKING:
    from .module import Module

__all__: list[str] = []

# hooks that run around every module's forward (torch.nn.modules.module.register_module_forward_*hook)
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
_global_forward_hooks_always_called: OrderedDict = OrderedDict()


class _Handle(RemovableHandle):
    """A hook handle that also clears the hook's flags (with_kwargs, always_call) on remove()."""

    def __init__(self, store: dict, *extra: dict) -> None:
        super().__init__(store)
        self._extra_stores = extra

    def remove(self) -> None:
        super().remove()
        for d in self._extra_stores:
            d.pop(self.id, None)


def _add_hook(store: OrderedDict, hook: Callable, prepend: bool, *flags: tuple[dict, bool]) -> _Handle:
    handle = _Handle(store, *(d for d, _ in flags))
    store[handle.id] = hook
    for d, on in flags:
        if on:
            d[handle.id] = True
    if prepend:
        store.move_to_end(handle.id, last=False)
    return handle


def register_module_forward_pre_hook(hook: Callable) -> _Handle:
    """A forward pre-hook run before every module's own pre-hooks: hook(module, args)."""
    return _add_hook(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False, always_call: bool = False) -> _Handle:
    """A forward hook run before every module's own forward hooks: hook(module, args, output)."""
    return _add_hook(_global_forward_hooks, hook, False, (_global_forward_hooks_with_kwargs, with_kwargs),
                     (_global_forward_hooks_always_called, always_call))


# -- full backward hooks ----------------------------------------------------------------------------
class _BackwardHookFn(Op):
    """Identity on the tensors around a module's forward; its backward hands the gradients to the hooks."""

    materialize_grads = False  # outputs that got no gradient reach the hooks as None

    def forward(self, *arrays: Any) -> tuple:
        return arrays

    def backward(self, *grads: Any) -> tuple:
        return self.on_grads(grads)

    def name(self) -> str:
        return "BackwardHookFunctionBackward"


class _BackwardHook:
    """Calls a module's backward pre-hooks with grad_output and its full backward hooks with
    (grad_input, grad_output), as PyTorch's BackwardHook does."""

    def __init__(self, module: Module, hooks: list, pre_hooks: list) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_inputs = 0
        self.input_idx: list[int] | None = None
        self.grad_outputs: tuple | None = None

    @staticmethod
    def _wrap(values: tuple, on_grads: Callable) -> tuple[tuple, list[int] | None, int]:
        idx = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v._requires_grad]
        if not idx or not _grad_enabled[0]:
            return values, None, len(values)
        outs = _BackwardHookFn.apply(*(values[i] for i in idx), on_grads=on_grads)
        new = list(values)
        for i, t in zip(idx, outs):
            new[i] = t
        return tuple(new), idx, len(values)

    @staticmethod
    def _pack(idx: list[int] | None, grads: tuple, n: int) -> tuple:
        full: list = [None] * n
        for i, g in zip(idx or (), grads):
            full[i] = g
        return tuple(full)

    def setup_inputs(self, args: tuple) -> tuple:
        args, self.input_idx, self.n_inputs = self._wrap(args, self._on_grad_inputs)
        return args

    def setup_outputs(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        values = (result,) if single else tuple(result)
        values, idx, n = self._wrap(values, lambda grads: self._on_grad_outputs(idx, grads, n))
        if single:
            return values[0]
        return values if type(result) is tuple else type(result)(values)

    def _on_grad_outputs(self, idx: list[int], grads: tuple, n: int) -> tuple:
        self.grad_outputs = self._pack(idx, grads, n)
        for hook in self.pre_hooks:
            new = hook(self.module, self.grad_outputs)
            if new is None:
                continue
            if len(new) != n:
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(new)}, "
                                   f"but expected {n}")
            self.grad_outputs = tuple(new)
        grad_outputs = self.grad_outputs
        if self.input_idx is None:  # no input needs a gradient: the hooks fire now
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients.", stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(grad_outputs[i] for i in idx)

    def _on_grad_inputs(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:  # only parameters' gradients were asked for
            return grads
        res = self._pack(self.input_idx, grads, self.n_inputs)
        for hook in self.hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(out)}, but "
                                   f"expected {len(res)}")
            res = tuple(out)
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_idx)


class ModuleHooks:
    """Hook registration and ``__call__`` of ``Module``."""

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _Handle:
        return _add_hook(self._forward_pre_hooks, hook, prepend, (self._forward_pre_hooks_with_kwargs, with_kwargs))

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> _Handle:
        return _add_hook(self._forward_hooks, hook, prepend, (self._forward_hooks_with_kwargs, with_kwargs),
                         (self._forward_hooks_always_called, always_call))

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        self._is_full_backward_hook = True
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable) -> _Handle:
        raise NotImplementedError("register_backward_hook (deprecated in PyTorch) is not supported: use "
                                  "register_full_backward_hook")

    def register_state_dict_pre_hook(self, hook: Callable) -> _Handle:
        """hook(module, prefix, keep_vars) runs before state_dict()."""
        return _add_hook(self._state_dict_pre_hooks, hook, False)

    def _register_state_dict_hook(self, hook: Callable) -> _Handle:
        """hook(module, state_dict, prefix, local_metadata) -> None or a new state_dict."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError("Cannot register the same function as the state dict post hook that was previously "
                               "registered via register_state_dict_post_hook")
        return _add_hook(self._state_dict_hooks, hook, False)

    def register_state_dict_post_hook(self, hook: Callable) -> _Handle:
        """hook(module, state_dict, prefix, local_metadata) -> None; may edit state_dict in place."""
        hook._from_public_api = True  # type: ignore[attr-defined]
        return _add_hook(self._state_dict_hooks, hook, False)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> _Handle:
        return _add_hook(self._load_state_dict_pre_hooks, functools.partial(hook, self) if with_module else hook,
                         False)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> _Handle:
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook: Callable) -> _Handle:
        """hook(module, incompatible_keys); may edit incompatible_keys' lists in place."""
        return _add_hook(self._load_state_dict_post_hooks, hook, False)

    # -- calling ---------------------------------------------------------------------------------
    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        forward_call = self.forward
        if not (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks
                or _global_forward_hooks or _global_forward_pre_hooks):
            return forward_call(*args, **kwargs)

        result = None
        called: set[int] = set()
        try:
            for hook_id, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    out = hook(self, args, kwargs)
                    if out is not None:
                        if not (isinstance(out, tuple) and len(out) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {out}.")
                        args, kwargs = out
                else:
                    out = hook(self, args)
                    if out is not None:
                        args = out if isinstance(out, tuple) else (out,)

            bw_hook = None
            if self._backward_hooks or self._backward_pre_hooks:
                bw_hook = _BackwardHook(self, list(self._backward_hooks.values()),
                                        list(self._backward_pre_hooks.values()))
                args = bw_hook.setup_inputs(args)

            result = forward_call(*args, **kwargs)

            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called:
                    called.add(hook_id)
                out = self._call_forward_hook(hook_id, hook, args, kwargs, result)
                if out is not None:
                    result = out

            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", stacklevel=2)
                else:
                    result = bw_hook.setup_outputs(result)
            return result
        except Exception:
            # hooks registered with always_call run even when forward (or an earlier hook) failed
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                always = hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called
                if not always or hook_id in called:
                    continue
                try:
                    out = self._call_forward_hook(hook_id, hook, args, kwargs, result)
                    if out is not None:
                        result = out
                except Exception as e:
                    warnings.warn("module forward hook with ``always_call=True`` raised an exception that was "
                                  f"silenced as another error was raised in forward: {e}", stacklevel=2)
            raise

    __call__ = _call_impl

    def _call_forward_hook(self, hook_id: int, hook: Callable, args: tuple, kwargs: dict, result: Any) -> Any:
        if hook_id in self._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
            return hook(self, args, kwargs, result)
        return hook(self, args, result)

