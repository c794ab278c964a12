"""torch.autograd.forward_ad: dual tensors (``make_dual`` / ``unpack_dual`` inside ``dual_level``).

Tangents are not carried through each op as PyTorch's forward mode does: a dual tensor is a tracked copy of its
primal, and ``unpack_dual(out)`` computes the Jacobian-vector product J·t by two reverse passes (a vector-Jacobian
product with a dummy cotangent, differentiated again in that cotangent), as ``torch.func.jvp`` does here.
The values are PyTorch's; differences a user can see: a dual tensor reports ``requires_grad=True`` and has a
``grad_fn`` (its primal's tracking), and each ``unpack_dual`` of a computed tensor costs two backward passes."""
from __future__ import annotations

import weakref
from typing import Any, NamedTuple

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
    from disttorch import autograd
    from disttorch._ops.creation import zeros_like
    from disttorch.autograd.grad_mode import enable_grad

    if not out.requires_grad or not (out.is_floating_point() or out.is_complex()):
        return None
    live = [(d, t) for d, t in ((ref(), t) for ref, t in entries.values()) if d is not None]
    if not live:
        return None
    duals = [d for d, _ in live]
    with enable_grad():
        dummy = zeros_like(out).requires_grad_(True)
        firsts = autograd.grad(out, duals, dummy, create_graph=True, retain_graph=True, allow_unused=True)
        pairs = [(f, t) for f, (_, t) in zip(firsts, live) if f is not None]
        if not pairs:
            return None
        if not any(f.requires_grad for f, _ in pairs):
            return zeros_like(out)
        used = [(f, t) for f, t in pairs if f.requires_grad]
        (jv,) = autograd.grad([f for f, _ in used], [dummy], [t for _, t in used], retain_graph=True,
                              allow_unused=True)
    return zeros_like(out) if jv is None else jv.detach()


class dual_level:
    """``with dual_level():`` opens a forward-AD level for ``make_dual`` / ``unpack_dual`` and closes it."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()
