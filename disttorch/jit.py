"""``torch.jit``: disttorch has no TorchScript compiler. ``script``, ``trace`` and the decorators hand back
what they are given (as ``torch.compile`` does), so scripts that use them run eagerly; saving and loading
TorchScript archives is refused with a clear error."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting", "is_tracing",
           "interface", "Final", "Attribute", "annotations", "ScriptModule", "ScriptFunction", "save", "load",
           "freeze", "optimize_for_inference", "fork", "wait", "enable_onednn_fusion"]


def script(obj: Any = None, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    return obj


def trace(func: Any, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    return func


def trace_module(mod: Any, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    return mod


def _decorator(fn: Any = None, **kwargs: Any) -> Any:
    """``@ignore``, ``@ignore(drop=True)``, ``@unused``, ``@export``: the function itself."""
    if fn is None or not callable(fn):
        return lambda f: f
    return fn


ignore = unused = export = interface = _decorator


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def Attribute(value: Any, type: Any = None) -> Any:  # noqa: N802 (torch's name)
    return value


class _Final:
    def __getitem__(self, item: Any) -> Any:
        return item


Final = _Final()
annotations = None


class ScriptModule:
    """Never produced: ``script`` returns the module unchanged."""


ScriptFunction = ScriptModule


def _no_archives(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("disttorch has no TorchScript: save the model's state_dict with torch.save and "
                              "load it into the same model class")


save = load = _no_archives


def freeze(mod: Any, *args: Any, **kwargs: Any) -> Any:
    return mod


optimize_for_inference = freeze


class _Future:
    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value


def fork(func: Callable, *args: Any, **kwargs: Any) -> _Future:
    """Runs ``func`` right away (no TorchScript parallelism); ``wait`` returns its result."""
    return _Future(func(*args, **kwargs))


def wait(future: _Future) -> Any:
    return future.wait()


def enable_onednn_fusion(enabled: bool) -> None:
    return None
