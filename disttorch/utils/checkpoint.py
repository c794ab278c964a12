"""``torch.utils.checkpoint``: trade compute for memory by running a segment's forward again in backward.

``checkpoint(fn, *args, use_reentrant=...)`` keeps only the segment's inputs and outputs: the
intermediate tensors of ``fn`` are freed after forward, and backward runs ``fn`` once more (with the same
random state, unless ``preserve_rng_state=False``) to rebuild them, then backpropagates through the
rebuilt graph. Gradients reach the segment's inputs and every parameter ``fn`` uses.

- ``use_reentrant=True`` (PyTorch's old default): ``fn`` runs without recording a graph; only inputs
  that require grad connect the segment to the rest of backward (if none does, PyTorch warns that
  gradients will be None, and so does disttorch); keyword arguments are refused.
- ``use_reentrant=False`` (PyTorch's recommendation): the segment is anchored in the graph by an empty
  tensor that requires grad, so it takes part in backward even when no input requires grad (a frozen
  input to trainable layers); keyword arguments are passed to ``fn``.

Either way the recomputation backpropagates into the parameters' ``.grad`` directly, so a checkpointed
segment supports ``backward()`` but not ``torch.autograd.grad`` with respect to those parameters.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterable, Iterator

from disttorch._tensor import Tensor
from disttorch.autograd import grad_mode
from disttorch.autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction", "noop_context_fn",
           "detach_variable", "check_backward_validity", "get_device_states", "set_device_states",
           "set_checkpoint_early_stop", "set_checkpoint_debug_enabled", "DefaultDeviceType"]


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce the forward pass (different outputs or saved tensors)."""


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """The tensors of ``inputs`` detached, keeping their requires_grad flags (PyTorch's helper)."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad_(inp.requires_grad)
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    if not any(isinstance(i, Tensor) and i.requires_grad for i in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)


# -- random state -------------------------------------------------------------------------------------
class DefaultDeviceType:
    _default_device_type = "cuda"

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        return DefaultDeviceType._default_device_type


def get_device_states(*args: Any) -> tuple[list, list]:
    """The random states of the non-cpu devices the tensors in ``args`` live on."""
    from disttorch._ops import random

    devices = sorted({str(a.device) for a in args if isinstance(a, Tensor) and not a.is_cpu})
    states = []
    for d in devices:
        states.append(random.device_generator(d).get_state())
    return devices, states


def set_device_states(devices: list, states: list, *, device_type: str | None = None) -> None:
    from disttorch._ops import random

    for d, state in zip(devices, states):
        if state is not None:
            random.device_generator(d).set_state(state)


@contextlib.contextmanager
def _rng_replay(cpu_state: Tensor | None, devices: list, states: list) -> Iterator[None]:
    """Run the block from the random state forward started from; put the current state back after."""
    from disttorch._ops import random

    if cpu_state is None:
        yield
        return
    now_cpu = random.get_rng_state()
    now_devices, now_states = devices, [None if s is None else _current_state(d) for d, s in zip(devices, states)]
    random.set_rng_state(cpu_state)
    set_device_states(devices, states)
    try:
        yield
    finally:
        random.set_rng_state(now_cpu)
        set_device_states(now_devices, now_states)


def _current_state(device: str) -> Any:
    from disttorch._ops import random

    return random.device_generator(device).get_state()


def _capture_rng(preserve: bool, args: tuple) -> tuple:
    if not preserve:
        return None, [], []
    from disttorch._ops import random

    return (random.get_rng_state(), *get_device_states(*args))


# -- the segment node ---------------------------------------------------------------------------------------
class CheckpointFunction(Function):
    """The graph node of a checkpointed segment: ``apply(run_function, preserve_rng_state, *args)``."""

    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        ctx.run_function = run_function
        ctx.kwargs = {}
        ctx.rng = _capture_rng(preserve_rng_state, args)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return (None, None) + _recompute_and_backward(ctx, grads, strict=True)


class _NonReentrantCheckpoint(Function):
    """``apply(anchor, run_function, preserve_rng_state, kwargs, *args)``: ``anchor`` is an empty tensor
    that requires grad, so that the segment is part of backward whatever its inputs."""

    @staticmethod
    def forward(ctx: Any, anchor: Tensor, run_function: Callable, preserve_rng_state: bool, kwargs: dict,
                *args: Any) -> Any:
        ctx.run_function = run_function
        ctx.kwargs = kwargs
        ctx.rng = _capture_rng(preserve_rng_state, args)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run_function(*args, **kwargs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        return (None, None, None, None) + _recompute_and_backward(ctx, grads, strict=False)


def _recompute_and_backward(ctx: Any, grads: tuple, strict: bool) -> tuple:
    """Run the segment again with a graph, backpropagate ``grads`` through it, return the inputs' grads.
    ``strict``: a segment whose outputs need no gradient is an error (reentrant mode, as in PyTorch)."""
    from disttorch import autograd

    saved = iter(ctx.saved_tensors)
    args = tuple(next(saved) if a is None else a for a in ctx.inputs)
    inputs = detach_variable(args)
    with _rng_replay(*ctx.rng), grad_mode.enable_grad():
        outputs = ctx.run_function(*inputs, **ctx.kwargs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad and g is not None]
    if not pairs:
        if strict:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        return tuple(None for _ in inputs)
    autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
    return tuple(i.grad if isinstance(i, Tensor) and i.requires_grad else None for i in inputs)


# -- public API ----------------------------------------------------------------------------------------------
def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default", debug: bool = False,
               **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, keeping only inputs and outputs for backward (see the module docs)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch "
            "2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if grad_mode.is_grad_enabled():
            check_backward_validity(args)
        return CheckpointFunction.apply(function, preserve, *args)
    if not grad_mode.is_grad_enabled() or _forward_ad_open():
        # (under forward AD the segment runs as it is: its tangents come from reverse passes through its ops)
        return function(*args, **kwargs)
    forward_ctx, _ = context_fn()
    with forward_ctx:
        anchor = Tensor._from_array(args[0]._xp.empty(0) if args and isinstance(args[0], Tensor) else _empty())
        anchor.requires_grad_(True)
        return _NonReentrantCheckpoint.apply(anchor, function, preserve, kwargs, *args)


def _forward_ad_open() -> bool:
    from disttorch.autograd import forward_ad

    return bool(forward_ad._levels and forward_ad._levels[-1])


def _empty() -> Any:
    import numpy as np

    return np.empty(0, np.float32)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """Run a Sequential (or list of modules) in ``segments`` checkpointed chunks; the last chunk runs
    normally, as in PyTorch."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
            "you can pass use_reentrant=True. Refer to docs for more details on the differences between the "
            "two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(functions) // segments if segments else len(functions)
    end = -1

    def run(start: int, stop: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, stop + 1):
                x = functions[j](x)
            return x

        return forward

    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)


def set_checkpoint_early_stop(enable: bool) -> contextlib.AbstractContextManager:
    """Accepted for compatibility: the recomputation always runs the whole segment."""
    return contextlib.nullcontext()


def set_checkpoint_debug_enabled(enabled: bool | None) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()
