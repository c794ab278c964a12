"""torch.autograd.forward_ad: dual tensors (``make_dual`` / ``unpack_dual`` inside ``dual_level``).

Tangents are not carried through each built-in op as PyTorch's forward mode does: a dual tensor is a tracked copy
of its primal, and ``unpack_dual(out)`` computes the Jacobian-vector product J·t by two reverse passes (a
vector-Jacobian product with a dummy cotangent, differentiated again in that cotangent), as ``torch.func.jvp`` does
here. A custom ``autograd.Function`` is the exception, as in PyTorch: called with an input that has a tangent, its
``jvp(ctx, *tangents)`` runs at once (``ctx.save_for_forward`` tensors are its ``ctx.saved_tensors``) and its output
tangents are kept for the node; the reverse passes then stop at that node and take those tangents, never running
its backward. A Function without ``jvp`` raises PyTorch's error there.
The values are PyTorch's; differences a user can see: a dual tensor reports ``requires_grad=True`` and has a
``grad_fn`` (its primal's tracking), and each ``unpack_dual`` of a computed tensor costs two backward passes."""
from __future__ import annotations

import contextlib
import weakref
from typing import Any, Iterator, NamedTuple

from . import graph

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

_levels: list[dict] = []  # per open level: id(dual) -> (weakref to the dual, its tangent)


class UnpackedDualTensor(NamedTuple):
    """A dual tensor's primal and tangent (None when it has no tangent at that level)."""

    primal: Any
    tangent: Any


def enter_dual_level() -> int:
    """Open a new dual level (only one at a time, as in PyTorch) and return its index."""
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append({})
    return len(_levels) - 1


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the dual level: its dual tensors lose their tangents."""
    level = len(_levels) - 1 if level is None else level
    if level != len(_levels) - 1 or level < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    _levels.pop()


def _level(level: int | None, what: str) -> dict:
    if not _levels:
        raise RuntimeError(f"Trying to {what} for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    index = len(_levels) - 1 if level is None else level
    if not 0 <= index < len(_levels):
        raise RuntimeError(f"Trying to {what} for forward AD at level {index}, which does not exist")
    return _levels[index]


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A tensor with ``tensor``'s values that carries ``tangent`` as its forward gradient."""
    from disttorch._ops.creation import empty_like
    from disttorch.autograd.grad_mode import enable_grad

    entries = _level(level, "create a dual Tensor")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tensor.shape) != tuple(tangent.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.stride() != tensor.stride():  # PyTorch copies a tangent of another layout into the primal's
        tangent = empty_like(tensor.detach()).copy_(tangent)
    with enable_grad():
        dual = tensor.clone() if tensor.requires_grad else tensor.detach().clone().requires_grad_(True)
    entries[id(dual)] = (weakref.ref(dual), tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at the level; the tangent is None when ``tensor`` depends on no dual
    tensor of that level (or no level is open)."""
    from disttorch._tensor import Tensor

    if not isinstance(tensor, Tensor) or not _levels:
        return UnpackedDualTensor(tensor, None)
    entries = _level(level, "unpack a dual Tensor")
    entry = entries.get(id(tensor))
    if entry is not None and entry[0]() is tensor:
        return UnpackedDualTensor(tensor.detach(), entry[1])
    return UnpackedDualTensor(tensor.detach() if tensor.requires_grad else tensor, _tangent_of(tensor, entries))


def _tangent_of(out: Any, entries: dict) -> Any:
    return tangents([out], entries, create_graph=False)[0]


def tangents(outs: list, entries: dict, *, create_graph: bool) -> list:
    """The tangents of ``outs`` at a level: J·t by a vector-Jacobian product with dummy cotangents differentiated
    again in them. A custom Function whose ``jvp`` ran at this level is a source like a dual tensor (its outputs'
    tangents are known): the reverse passes stop at it (``cut``) instead of running its backward."""
    from disttorch import autograd
    from disttorch._ops.creation import zeros_like
    from disttorch.autograd.grad_mode import enable_grad

    result: list = [None] * len(outs)
    todo = []
    cuts = entries.get(_CUTS, {})
    for i, out in enumerate(outs):
        fn = out._grad_fn
        known = cuts.get(fn) if fn is not None else None
        if known is not None:  # an output of a custom Function's jvp at this level
            t = known[out._output_nr]
            result[i] = t.detach() if t is not None and not create_graph else t
        elif out.requires_grad and (out.is_floating_point() or out.is_complex()):
            todo.append(i)
    if not todo:
        return result
    sources = []
    for key, entry in entries.items():
        if type(key) is int and entry[0]() is not None:  # (the other keys: _CUTS, _FUNC)
            sources.append((entry[0](), entry[1]))
    for node, ts in cuts.items():  # a Function's outputs as graph inputs: stand-ins with its grad_fn
        for nr, t in enumerate(ts):
            if t is not None:
                sources.append((graph._TENSOR_WITH_GRAD_FN(t._data, node, nr), t))
    if not sources:
        return result
    global _cut
    prev, _cut = _cut, cuts
    try:
        with enable_grad():
            dummies = [zeros_like(outs[i]).requires_grad_(True) for i in todo]
            firsts = autograd.grad([outs[i] for i in todo], [d for d, _ in sources], dummies, create_graph=True,
                                   retain_graph=True, allow_unused=True)
            used = [(f, t) for f, (_, t) in zip(firsts, sources) if f is not None and f.requires_grad]
            jvs = [None] * len(todo)
            if used:
                jvs = autograd.grad([f for f, _ in used], dummies, [t for _, t in used], retain_graph=True,
                                    create_graph=create_graph, allow_unused=True)
    finally:
        _cut = prev
    for i, jv in zip(todo, jvs):
        if jv is None:  # depends on no source at all: no tangent; on one only through constants: zeros
            reached = any(f is not None for f in firsts)
            result[i] = zeros_like(outs[i]) if reached else None
        else:
            result[i] = jv if create_graph else jv.detach()
    return result


def tangent_for_function(t: Any) -> Any:
    """The tangent of a custom Function's input at the innermost level (None: it has none)."""
    entries = _levels[-1]
    entry = entries.get(id(t))
    if entry is not None and entry[0]() is t:
        return entry[1]
    return tangents([t], entries, create_graph=False)[0]


def run_jvp(cls: Any, node: Any, args: tuple, results: list) -> None:
    """Forward AD through a custom Function (PyTorch's semantics): when an input has a tangent at the innermost
    level, call ``cls.jvp(ctx, *input_tangents)`` (zeros for tensor inputs without one, None for other
    arguments) and keep the output tangents it returns for this node."""
    from disttorch._ops.creation import zeros_like
    from disttorch._tensor import Tensor

    from .function import _own_attrs

    d = node.__dict__
    fwd_saved = d.pop("_to_save_fwd", None)
    if _FUNC in _levels[-1] and "setup_context" not in _own_attrs(cls):
        raise RuntimeError("In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, jacrev, "
                           "...), it must override the setup_context staticmethod. For more details, please see "
                           "https://pytorch.org/docs/main/notes/extending.func.html")
    ins = [tangent_for_function(a) if isinstance(a, Tensor) else None for a in args]
    if all(t is None for t in ins):
        return
    ins = [zeros_like(a) if isinstance(a, Tensor) and t is None else t for a, t in zip(args, ins)]
    d["_jvp_saved"] = () if fwd_saved is None else tuple(fwd_saved)
    try:
        out = cls.jvp(node, *ins)
    finally:
        d.pop("_jvp_saved", None)
    outs = out if isinstance(out, tuple) else (out,)
    if len(outs) != len(results):
        raise RuntimeError(f"jvp() of {cls.__name__} returned {len(outs)} tangents, expected {len(results)} (one "
                           "per output of forward)")
    if not results or not any(isinstance(r, Tensor) and r._grad_fn is node for r in results):
        return  # nothing was recorded (grad mode off): the tangents have nowhere to live
    kept = tuple(t if isinstance(r, Tensor) and r._grad_fn is node else None for r, t in zip(results, outs))
    _levels[-1].setdefault(_CUTS, weakref.WeakKeyDictionary())[node] = kept


def is_cut(node: Any) -> bool:
    """Whether the tangent passes running now stop at ``node`` (a custom Function whose jvp gave its tangents)."""
    return node in _cut


_CUTS = object()  # key of a level's {Function node: output tangents} (weak in the node)
_FUNC = object()  # key marking a level opened by torch.func.jvp
_cut: Any = {}  # the nodes the running tangent passes stop at


@contextlib.contextmanager
def _jvp_level(duals: list, tangents: list) -> Iterator[dict]:
    """A level for ``torch.func.jvp`` with ``duals`` carrying ``tangents`` (it may sit inside a user's level)."""
    entries: dict = {id(d): (weakref.ref(d), t) for d, t in zip(duals, tangents)}
    entries[_FUNC] = True
    _levels.append(entries)
    try:
        yield entries
    finally:
        del _levels[next(i for i, e in enumerate(_levels) if e is entries)]


class dual_level:
    """``with dual_level():`` opens a forward-AD level for ``make_dual`` / ``unpack_dual`` and closes it."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()
