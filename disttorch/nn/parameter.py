"""nn.Parameter (a leaf tensor that modules register as a parameter) and nn.Buffer (a tensor marked as module state),
with the two helpers layers and optimizers share on parameters: ``optional_parameter`` and ``zero_grads``."""
from __future__ import annotations

from typing import Any, Iterable

from disttorch._tensor import Tensor, _init
from disttorch._torch_function import _disabled_torch_function_impl

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A Tensor that, assigned as a Module attribute, is registered as a parameter. It shares storage
    (and version counter) with ``data``; ``requires_grad`` defaults to True. Its ops give plain Tensors."""

    __slots__ = ()
    __torch_function__ = _disabled_torch_function_impl

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        from disttorch._ops.creation import empty

        if data is None:
            data = empty(0)
        p = object.__new__(cls)
        _init(p, data._data, False)
        p._vc = data._vc
        if requires_grad:
            Tensor.requires_grad_(p, True)  # (Tensor's own: a subclass's __torch_function__ sees no call here)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return (type(self), (Tensor._from_array(self._data.copy()), self._requires_grad))

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(Tensor._from_array(self._data.copy()), self._requires_grad)
        memo[id(self)] = new
        return new


class _BufferMeta(type):
    # Buffer(...) gives a plain Tensor carrying a mark; isinstance(t, Buffer) reads the mark
    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and bool(instance._extra and instance._extra.get("_is_buffer"))
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """A Tensor that, assigned as a Module attribute, is registered as a buffer (persistent or not)."""

    __slots__ = ()
    __torch_function__ = _disabled_torch_function_impl  # (Buffer(...) gives a plain Tensor)

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        from disttorch._ops.creation import empty

        if data is None:
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        extra = t._extra_dict()
        extra["_is_buffer"] = True
        extra["persistent"] = persistent
        return t


def optional_parameter(module: Any, name: str, present: bool, *shape: int, device: Any = None,
                       dtype: Any = None) -> None:
    """Register ``module.<name>`` as an uninitialised Parameter of ``shape`` when ``present``, else as None
    (the ``bias=False`` form of a layer)."""
    from disttorch._ops.creation import empty

    module.register_parameter(name, Parameter(empty(*shape, device=device, dtype=dtype)) if present else None)


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """``zero_grad`` of modules and optimizers: drop each gradient, or zero it in place (detached first)."""
    for p in params:
        g = p._grad
        if g is None:
            continue
        if set_to_none:
            p._grad = None
            continue
        if g._grad_fn is not None:
            g.detach_()
        else:
            g._requires_grad = False
        g._data[...] = 0
        g._vc[0] += 1
