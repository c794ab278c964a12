"""``torch.utils.swap_tensors``: two Tensor objects exchange everything they hold, keeping their identities."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor

__all__ = ["swap_tensors"]

_SLOTS = tuple(s for s in Tensor.__slots__ if s != "__weakref__")


def swap_tensors(t1: Tensor, t2: Tensor) -> None:
    """Make ``t1`` hold what ``t2`` held and the other way round: data, autograd state (``requires_grad``,
    ``grad``, ``grad_fn``, hooks), class (e.g. Tensor <-> Parameter) and ``__dict__``. Every reference to ``t1``
    sees the new contents, which is how ``Module._apply`` keeps optimizers' references valid when the swap
    switch of ``torch.__future__`` is on. (PyTorch also refuses tensors that other tensors or weak references
    still reach; that check is not made here.)"""
    if not isinstance(t1, Tensor) or not isinstance(t2, Tensor):
        raise TypeError(f"swap_tensors expects two Tensors, got {type(t1).__name__} and {type(t2).__name__}")
    if t1 is t2:
        return
    c1, c2 = type(t1), type(t2)
    if c1 is not c2:
        if _slots(c1) != _slots(c2):
            raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
        t1.__class__, t2.__class__ = c2, c1
    d1, d2 = getattr(t1, "__dict__", None), getattr(t2, "__dict__", None)
    if d1 is not None or d2 is not None:
        if d1 is None or d2 is None:
            raise RuntimeError("Cannot swap t1 and t2: only one of them has a __dict__")
        d1_copy = dict(d1)
        d1.clear()
        d1.update(d2)
        d2.clear()
        d2.update(d1_copy)
    for name in _SLOTS:
        v1, v2 = _get(t1, name), _get(t2, name)
        _set(t1, name, v2)
        _set(t2, name, v1)
    # a leaf's gradient sink belongs to the contents: it follows them to their new holder
    for t in (t1, t2):
        edge = t._accum
        if edge is not None:
            edge[0].variable_ref = _weakref(t)


def _slots(cls: type) -> set:
    names: set = set()
    for klass in cls.__mro__:
        names.update(getattr(klass, "__slots__", ()))
    return names


_MISSING = object()


def _get(t: Tensor, name: str) -> Any:
    try:
        return object.__getattribute__(t, name)
    except AttributeError:
        return _MISSING


def _set(t: Tensor, name: str, value: Any) -> None:
    if value is _MISSING:
        try:
            object.__delattr__(t, name)
        except AttributeError:
            pass
    else:
        object.__setattr__(t, name, value)


def _weakref(t: Tensor) -> Any:
    import weakref

    return weakref.ref(t)
