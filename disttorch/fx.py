"""``torch.fx``: importable, so libraries that decorate with ``torch.fx.wrap`` load; symbolic tracing of a
program into a graph is not supported."""
from __future__ import annotations

from typing import Any

__all__ = ["symbolic_trace", "wrap", "Graph", "GraphModule", "Node", "Proxy", "Tracer", "Interpreter",
           "Transformer"]

_UNSUPPORTED = ("disttorch does not implement torch.fx graph capture (symbolic_trace, GraphModule): run the "
                "module eagerly")


def symbolic_trace(root: Any, concrete_args: Any = None) -> Any:
    raise NotImplementedError(_UNSUPPORTED)


def wrap(fn_or_name: Any) -> Any:
    """Marks a function as a leaf for tracing; nothing is traced here, so it is returned unchanged."""
    return fn_or_name


class _Unsupported:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_UNSUPPORTED)


class Graph(_Unsupported):
    pass


class GraphModule(_Unsupported):
    pass


class Node(_Unsupported):
    pass


class Proxy(_Unsupported):
    pass


class Tracer(_Unsupported):
    pass


class Interpreter(_Unsupported):
    pass


class Transformer(_Unsupported):
    pass
