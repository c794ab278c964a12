"""torch.autograd: backward, grad, Function, grad modes, gradcheck, anomaly detection."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as _np

from . import engine, functional, graph
from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, InplaceFunction, NestedIOFunction, once_differentiable
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)
from .graph import Node
from . import forward_ad, profiler, profiler_legacy, profiler_util
from disttorch.profiler.profiler import ProfilerActivity, kineto_available

__all__ = ["backward", "grad", "Function", "FunctionCtx", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "gradcheck", "gradgradcheck",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "Variable", "once_differentiable", "InplaceFunction", "NestedIOFunction", "Node", "graph", "functional",
           "forward_ad",
           "profiler", "profiler_legacy", "profiler_util", "ProfilerActivity", "kineto_available",
           "set_multithreading_enabled", "is_multithreading_enabled", "is_view_replay_enabled",
           "enforce_grad_layout_policy"]

_multithreading = [True]
_grad_layout_policy = [True]


def is_view_replay_enabled() -> bool:
    """Whether views are replayed instead of rebuilt through as_strided in backward (always False here)."""
    return False


class enforce_grad_layout_policy:
    """Whether accumulated gradients must take their parameter's strides (a flag: disttorch's accumulated
    gradients are row-major whatever it says)."""

    def __init__(self, enable: bool) -> None:
        self.prev = _grad_layout_policy[0]
        _grad_layout_policy[0] = bool(enable)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _grad_layout_policy[0] = self.prev


def is_multithreading_enabled() -> bool:
    """Whether backward may run on several threads (a flag only: disttorch's engine runs on the caller's)."""
    return _multithreading[0]


class set_multithreading_enabled:
    """Turn multithreaded backward on or off, for the whole program or inside a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self.prev = _multithreading[0]
        _multithreading[0] = bool(mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _multithreading[0] = self.prev

    def clone(self) -> set_multithreading_enabled:
        return set_multithreading_enabled(_multithreading[0])


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if type(x) is _Tensor[0]:
        return [x]
    from disttorch._tensor import Tensor

    _Tensor[0] = Tensor
    return [x] if isinstance(x, Tensor) else list(x)


_Tensor: list = [None]  # the Tensor class, bound on first use (this package is imported before it exists)


def _ones_like(out: Any) -> Any:
    data = out._data
    if type(data) is _np.ndarray:  # (the common case, without the factory's argument handling)
        return out._from_array(_np.ones(data.shape, data.dtype))
    from disttorch._ops.creation import ones_like

    return ones_like(out)


def _make_roots(outputs: list, grad_outputs: list, create_graph: bool) -> list:
    if len(grad_outputs) == 0:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    roots = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind not in "fcV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{out.dtype}")
            g = _ones_like(out)
        else:
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {out.shape}.")
            if not create_graph:
                g = g.detach()
        node, nr = out._grad_node()
        roots.append((node, nr, g))
    return roots


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad``."""
    outputs = _as_list(tensors)
    grads = _as_list(grad_tensors if grad_tensors is not None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_roots(outputs, grads, create_graph)
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        _backward_into(roots, inputs, retain_graph, create_graph)
        return
    engine.run_backward(roots, retain_graph, create_graph)


def _backward_into(roots: list, inputs: list, retain_graph: bool, create_graph: bool) -> None:
    """backward(inputs=...): only the given tensors get ``.grad`` (a non-leaf one retains it)."""
    for t in inputs:
        if t._grad_fn is not None:
            t.retain_grad()
    capture = {t._grad_node(): i for i, t in enumerate(inputs)}
    engine.run_backward(roots, retain_graph, create_graph, capture=capture, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """d(outputs)/d(inputs), returned instead of accumulated into ``.grad``."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in ins:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _make_roots(outs, _as_list(grad_outputs), create_graph)
    capture: dict = {}
    for i, t in enumerate(ins):
        capture.setdefault(t._grad_node(), i)
    got = engine.run_backward(roots, retain_graph, create_graph, capture=capture, accumulate=False)
    result = []
    for i, t in enumerate(ins):
        g = got[capture[t._grad_node()]]
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                from disttorch._ops.creation import zeros_like

                g = zeros_like(t)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        from disttorch._tensor import Tensor

        return isinstance(obj, Tensor)

    def __call__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False) -> Any:
        """``Variable(t, requires_grad=True)``: a leaf sharing ``t``'s data (PyTorch's legacy wrapper)."""
        from disttorch._tensor import Tensor

        if data is None:
            from disttorch._ops.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        out.requires_grad_(bool(requires_grad) and not volatile)
        return out


class Variable(metaclass=_VariableMeta):
    """PyTorch's legacy Variable: calling it gives a Tensor, every Tensor is an instance, and
    ``Variable._execution_engine.queue_callback`` queues an end-of-backward callback."""

    _execution_engine = engine._ExecutionEngine
