"""``NestedIOFunction``: the legacy Function whose instances are called on nested lists/tuples of tensors.

Subclasses define instance methods ``forward_extended(*nested_inputs)`` and ``backward_extended(*nested_grads)``
and call ``f = MyFn(); out = f(x, (y, z))``. Inputs are flattened to their tensors, ``forward_extended`` sees
them detached (PyTorch's ``.data``) in the caller's nesting, and its (nested) result is flattened to the
outputs of one graph node; backward rebuilds the gradients in the outputs' nesting and flattens what
``backward_extended`` returns (None where an input gets no gradient). ``save_for_backward`` /
``saved_tensors`` keep the nesting too. PyTorch 2.13 still exports the class but its call path is broken
(``'super' object has no attribute '_do_forward'``); here it works as documented for the legacy API.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from .function import Function


def _flatten(obj: Any, keep: Callable[[Any], bool], what: str) -> Iterator[Any]:
    """The leaves of a nesting of lists, tuples and dicts (values) for which ``keep`` holds; None is skipped
    unless kept; anything else is an error, as in PyTorch's auto nesting."""
    if keep(obj):
        yield obj
    elif obj is None:
        return
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _flatten(item, keep, what)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _flatten(item, keep, what)
    else:
        raise ValueError(f"Auto nesting doesn't know how to process an input object of type "
                         f"{_typename(obj)}. Accepted types: {what}, or lists/tuples of them")


def _typename(obj: Any) -> str:
    from disttorch._tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _is_tensor(obj: Any) -> bool:
    from disttorch._tensor import Tensor

    return isinstance(obj, Tensor)


def _tensors(obj: Any) -> tuple:
    return tuple(_flatten(obj, _is_tensor, "Tensors"))


def _tensors_or_none(obj: Any) -> tuple:
    return tuple(_flatten(obj, lambda o: o is None or _is_tensor(o), "Tensors or None"))


def _unflatten(flat: tuple, proto: Any) -> Any:
    """``flat`` laid out in ``proto``'s nesting of lists and tuples (None entries of ``proto`` stay None)."""

    def take(rest: tuple, shape: Any) -> tuple[Any, tuple]:
        if not isinstance(shape, (list, tuple)):
            return rest[0], rest[1:]
        items = []
        for part in shape:
            if part is None:
                items.append(None)
            else:
                item, rest = take(rest, part)
                items.append(item)
        return type(shape)(items), rest

    return take(tuple(flat), proto)[0]


def _detached(obj: Any) -> Any:
    """The nesting with each tensor replaced by its detached alias (PyTorch's ``.data``)."""
    if obj is None:
        return None
    if _is_tensor(obj):
        return obj.detach()
    if isinstance(obj, (list, tuple)):
        items = [_detached(o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    raise ValueError(f"Auto nesting doesn't know how to process an input object of type {_typename(obj)}. "
                     f"Accepted types: Tensors, or lists/tuples of them")


class _FlatCall(Function):
    """One call of a NestedIOFunction as a flat Function: ``owner`` first, then the flat input tensors."""

    @staticmethod
    def forward(ctx: Any, owner: NestedIOFunction, *flat: Any) -> tuple:
        nested = _detached(owner._nested_input)
        originals = {id(d): t for d, t in zip(_tensors(nested), flat)}  # detached alias -> caller's tensor
        del owner._nested_input
        result = owner.forward_extended(*nested)
        owner._nested_output = result
        back = lambda ts: tuple(originals.get(id(t), t) for t in ts)  # noqa: E731
        outputs = back(_tensors(result))
        ctx._owner = owner
        if "to_save" in owner.__dict__:
            ctx.save_for_backward(*back(owner.to_save))
        ctx.mark_dirty(*back(owner.__dict__.get("dirty_tensors", ())))
        ctx.mark_non_differentiable(*back(owner.__dict__.get("non_differentiable", ())))
        return outputs

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        owner = ctx._owner
        owner._ctx = ctx
        nested = _unflatten(grads, owner._nested_output)
        result = owner.backward_extended(*(nested if isinstance(nested, (list, tuple)) else (nested,)))
        return (None, *_tensors_or_none(result))


_FLAT_CALLS: dict[type, type] = {}


def _flat_call_of(cls: type) -> type:
    """The flat Function of a NestedIOFunction subclass, named after it (its nodes print ``<NameBackward>``)."""
    flat = _FLAT_CALLS.get(cls)
    if flat is None:
        flat = _FLAT_CALLS[cls] = type(cls.__name__, (_FlatCall,), {"__module__": cls.__module__})
    return flat


class NestedIOFunction(Function):
    """A legacy autograd function called on an instance with nested inputs (see the module's docstring)."""

    def __init__(self) -> None:  # no deprecation warning: instances are this class's calling convention
        pass

    def __call__(self, *input: Any) -> Any:
        self._nested_input = input
        flat = _tensors(input)
        outputs = _flat_call_of(type(self)).apply(self, *flat)
        if not isinstance(outputs, tuple):
            outputs = (outputs,)
        self.needs_input_grad = tuple(t.requires_grad for t in flat)
        return _unflatten(outputs, self._nested_output)

    def _do_forward(self, *input: Any) -> Any:
        return self(*input)

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        raise AttributeError(f"'{cls.__name__}Backward' object has no attribute '_nested_input' (a "
                             f"NestedIOFunction is called on an instance: {cls.__name__}()(...))")

    def forward(self, *args: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("NestedIOFunction.forward is not called directly: call the instance, which runs "
                           "forward_extended")

    def backward(self, *gradients: Any) -> Any:  # type: ignore[override]
        nested = _unflatten(gradients, self._nested_output)
        return _tensors_or_none(self.backward_extended(*nested))

    def save_for_backward(self, *args: Any) -> None:
        self.to_save = _tensors(args)
        self._to_save_nested = args

    @property
    def saved_tensors(self) -> Any:  # type: ignore[override]
        ctx = self.__dict__.get("_ctx")
        flat = ctx.saved_tensors if ctx is not None else self.to_save
        return _unflatten(flat, self._to_save_nested)

    def mark_dirty(self, *args: Any, **kwargs: Any) -> None:
        self.dirty_tensors = _tensors((args, kwargs))

    def mark_non_differentiable(self, *args: Any, **kwargs: Any) -> None:
        self.non_differentiable = _tensors((args, kwargs))

    def forward_extended(self, *input: Any) -> Any:
        raise NotImplementedError

    def backward_extended(self, *grad_output: Any) -> Any:
        raise NotImplementedError
