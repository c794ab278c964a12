"""``torch.autograd.graph.register_multi_grad_hook``: one hook over the gradients of several tensors."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from . import engine

__all__ = ["register_multi_grad_hook"]


class _MultiHandle:
    """Removes the hook from every tensor it was registered on."""

    def __init__(self, handles: list) -> None:
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self) -> _MultiHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _node_of(t: Any) -> Any:
    return t._grad_fn if t._grad_fn is not None else t._edge()[0]


def register_multi_grad_hook(tensors: Sequence[Any], fn: Callable, *, mode: str = "all") -> _MultiHandle:
    """``mode="all"``: ``fn(grads)`` once per backward, when the gradients of all the tensors that backward reaches
    are computed (None for the others). ``mode="any"``: ``fn(grad)`` with the first of them computed."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    state: dict[str, Any] = {"task": None}

    def new_task() -> bool:
        task = engine._callbacks[-1] if engine._callbacks else None
        if state["task"] is task:
            return False
        state["task"] = task
        return True

    def hook(i: int, grad: Any) -> None:
        fresh = new_task()
        if mode == "any":
            if fresh:
                fn(grad)
            return
        if fresh:
            state["grads"] = [None] * len(tensors)
            state["left"] = sum(1 for t in tensors if t.requires_grad and engine.will_run(_node_of(t)))
        state["grads"][i] = grad
        state["left"] -= 1
        if state["left"] == 0:
            grads, state["grads"] = tuple(state["grads"]), None
            fn(grads)

    handles = [t.register_hook(lambda g, i=i: hook(i, g)) for i, t in enumerate(tensors) if t.requires_grad]
    return _MultiHandle(handles)
