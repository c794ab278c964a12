"""Saved tensors of graph nodes: PyTorch's introspection (``grad_fn._saved_self``, ``_raw_saved_self``) and the
saved-tensors hooks (``torch.autograd.graph.saved_tensors_hooks``, ``save_on_cpu``,
``disable_saved_tensors_hooks``).

A node keeps what backward reads as ``_saved_in`` (inputs, with their versions) and ``_saved_out`` (its output).
While a hook pair is registered, ``pack_node`` runs right after an op recorded its node: each saved tensor goes
through ``pack_hook`` and the node keeps the packed values instead (``_saved_in`` / ``_saved_out`` become None,
so the node's ``saved_inputs`` / ``saved_output`` take the slow path here, which calls ``unpack_hook``). Without
hooks nothing here runs: the op's path only tests that the hook stack is empty.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from . import graph
from .graph import FREED_MESSAGE

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "SavedTensor"]

_disabled: list[str] = []  # error messages of the active disable_saved_tensors_hooks blocks

_RAW = 0  # an entry of _packed_in kept as it is: (_RAW, tensor, version)
_HOOKED = 1  # (_HOOKED, unpack_hook, packed value)


class saved_tensors_hooks:
    """Inside this block every tensor an op saves for backward goes through ``pack_hook(tensor)``; backward (and
    ``grad_fn._saved_*``) gets ``unpack_hook(packed)`` back, which must return a tensor of the same values."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _disabled:
            raise RuntimeError(_disabled[-1])
        graph.saved_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        graph.saved_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU (copied there when packed) and moved back to their device when backward
    needs them. ``pin_memory`` is accepted (host memory here is not pinned)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Any) -> tuple:
            return t.device, t.detach().cpu()

        def unpack(packed: tuple) -> Any:
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Registering saved-tensors hooks inside this block raises ``RuntimeError(error_message)``, and so does
    entering it while hooks are registered."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        if graph.saved_hooks:
            raise RuntimeError(self.error_message)
        _disabled.append(self.error_message)

    def __exit__(self, *exc: Any) -> None:
        _disabled.pop()

    def __call__(self, fn: Callable) -> Callable:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with disable_saved_tensors_hooks(self.error_message):
                return fn(*args, **kwargs)

        return wrapper


# -- packing --------------------------------------------------------------------------------------------------
def _call_pack(pack: Callable, t: Any) -> Any:
    hooks = graph.saved_hooks[:]
    graph.saved_hooks.clear()  # what the hook computes saves nothing through it
    try:
        return pack(t)
    finally:
        graph.saved_hooks[:] = hooks


def _call_unpack(unpack: Callable, packed: Any) -> Any:
    from disttorch._tensor import Tensor

    t = unpack(packed)
    if not isinstance(t, Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                        f"{type(t).__name__}")
    return t


def _is_wrapped_number(node: Any, i: int, t: Any) -> bool:
    """A Python number operand of a binary op (PyTorch saves it without packing): a 0-d tensor that needs no
    gradient next to a tensor that is not 0-d. A user's 0-d tensor there is taken for one too."""
    if t._requires_grad or t._data.ndim or len(node.next_edges) != 2:
        return False
    other = node.__dict__["_saved_in"][1 - i][0]
    return other is not None and other._data.ndim > 0


def pack_node(node: Any, output: Any) -> None:
    """Pack what ``node`` saved for backward with the innermost registered hook pair."""
    pack, unpack = graph.saved_hooks[-1]
    d = node.__dict__
    if d.get("_saved_in") is None and d.get("_saved_out") is None:
        return
    wanted = _packed_slots(node)
    saved = d.get("_saved_in")
    if saved is not None:
        entries: list = [None] * len(saved)
        for i in _pack_order(node, len(saved)):
            t, version = saved[i]
            if t is None or version < 0 or (wanted is not None and i not in wanted) or _is_wrapped_number(node, i, t):
                entries[i] = (_RAW, t, version)
            else:
                entries[i] = (_HOOKED, unpack, _call_pack(pack, t))
        d["_packed_in"] = entries
        d["_saved_in"] = None
    saved_out = d.get("_saved_out")
    if saved_out is not None and (wanted is None or -1 in wanted):
        d["_packed_out"] = (unpack, _call_pack(pack, output), saved_out.output_nr)
        d["_saved_out"] = None
    node.release = _ReleasePacked(node)  # shadows the class's release for this node only


def _pack_order(node: Any, n: int) -> Any:
    """The order PyTorch packs (and unpacks) a node's saved inputs in: a binary op's (mul, div, pow, mm, bmm,
    atan2, maximum, ...) saves ``other`` before ``self``; a node says otherwise with ``pack_in_input_order``
    (dot, mv, the regression losses, linear with a bias: input order; linear without one: weight first)."""
    keep = node.pack_in_input_order  # None: decided by the count of inputs
    if keep is None:
        keep = n != 2 or len(node.next_edges) != 2
    return range(n) if keep or n < 2 else (1, 0, *range(2, n))


def _packed_slots(node: Any) -> set | None:
    """The inputs (and -1: the output) PyTorch saves for this node, when its class names them; None: all."""
    cls = type(node)
    if cls.saved_names is None and cls.saved_spec is graph.Node.saved_spec:
        return None
    wanted = set()
    for spec in node.saved_spec().values():
        if isinstance(spec, int):
            wanted.add(spec)
        elif isinstance(spec, tuple):
            wanted.add(spec[0])
    return wanted


class _ReleasePacked:
    """``release`` of a node whose saved tensors were packed: frees the packed values too (held through a weak
    reference, so that node and callable form no cycle)."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = weakref.ref(node)

    def __call__(self) -> None:
        node = self.node()
        if node is None:
            return
        d = node.__dict__
        d["_packed_in"] = d["_packed_out"] = None
        type(node).release(node)


def unpack_inputs(node: Any) -> tuple:
    """``saved_inputs`` of a node whose inputs were packed; PyTorch's freed-graph error once released."""
    entries = node.__dict__.get("_packed_in")
    if entries is None:
        raise RuntimeError(FREED_MESSAGE)
    out: list = [None] * len(entries)
    for i in _pack_order(node, len(entries)):
        kind, a, b = entries[i]
        if kind == _HOOKED:
            out[i] = _call_unpack(a, b)
        else:
            if a is not None and b >= 0 and a._vc[0] != b:
                graph._raise_modified(a, b, node)
            out[i] = a
    return tuple(out)


def unpack_output(node: Any) -> Any:
    """``saved_output`` of a node whose output was packed: the unpacked values as an output of ``node``."""
    packed = node.__dict__.get("_packed_out")
    if packed is None:
        raise RuntimeError(FREED_MESSAGE)
    unpack, value, nr = packed
    t = _call_unpack(unpack, value)
    return graph._TENSOR_WITH_GRAD_FN(t._data, node, nr)


_PACKED = object()  # the version of a packed entry of a Function's saved tensors


def pack_function_saved(node: Any, results: list) -> None:
    """Pack the tensors a custom Function's ``ctx.save_for_backward`` saved: ``(tensor, version)`` entries
    become ``((unpack_hook, packed, output_nr or None), _PACKED)``."""
    pack, unpack = graph.saved_hooks[-1]
    entries = node._saved
    for i, (t, _) in enumerate(entries):
        if t is None:
            continue
        if isinstance(t, graph.SavedOutput):
            entries[i] = ((unpack, _call_pack(pack, results[t.output_nr]), t.output_nr), _PACKED)
        else:
            entries[i] = ((unpack, _call_pack(pack, t), None), _PACKED)


def unpack_entry(entry: tuple, node: Any) -> Any:
    unpack, value, nr = entry
    t = _call_unpack(unpack, value)
    return t if nr is None else graph._TENSOR_WITH_GRAD_FN(t._data, node, nr)


# -- introspection --------------------------------------------------------------------------------------------
class SavedTensor:
    """``grad_fn._raw_saved_<name>``: one saved tensor of a node, whose own hooks can be set once."""

    def __init__(self, node: Any, index: int) -> None:
        self._node = node
        self._index = index  # input number, or -1 for the output

    def unpack(self) -> Any:
        return _saved_tensor(self._node, self._index)

    def register_hooks(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError("register_hooks(): incompatible function arguments: pack_hook and unpack_hook must be "
                            "callables")
        node, i = self._node, self._index
        d = node.__dict__
        if i < 0:
            if d.get("_packed_out") is not None:
                raise RuntimeError(_HOOKS_SET)
            saved = d.get("_saved_out")
            if saved is None:
                raise RuntimeError(_FREED_HOOKS)
            d["_packed_out"] = (unpack_hook, _call_pack(pack_hook, node.saved_output), saved.output_nr)
            d["_saved_out"] = None
        else:
            entries = d.get("_packed_in")
            if entries is None:
                saved = d.get("_saved_in")
                if saved is None:
                    raise RuntimeError(_FREED_HOOKS if "_saved_in" in d or "_packed_in" in d else _HOOKS_SET)
                entries = [(_RAW, t, v) for t, v in saved]
            elif entries[i][0] == _HOOKED:
                raise RuntimeError(_HOOKS_SET)
            t = node.saved_inputs[i]
            entries = list(entries)
            entries[i] = (_HOOKED, unpack_hook, _call_pack(pack_hook, t))
            d["_packed_in"] = entries
            d["_saved_in"] = None
        if "release" not in d:
            node.release = _ReleasePacked(node)


_HOOKS_SET = ("Calling register_hooks on a saved tensor whose hooks have already been set. Hint: only one pair of "
              "hooks is allowed at a time.")
_FREED_HOOKS = ("Calling register_hooks on a saved tensor after it has been freed. Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you "
                "need to backward through the graph a second time or if you need to access saved variables after "
                "calling backward.")


def _saved_tensor(node: Any, index: int) -> Any:
    if index < 0:
        return node.saved_output
    d = node.__dict__
    saved = d.get("_saved_in")
    if saved is not None and saved[index][1] < 0:  # kept only for another input's gradient: PyTorch saved none
        return None
    entries = d.get("_packed_in")
    if saved is None and entries is not None and entries[index][0] == _RAW:
        t, version = entries[index][1:]
        if t is not None and version >= 0 and t._vc[0] != version:
            graph._raise_modified(t, version, node)
        return t if version >= 0 else None
    if saved is None and entries is not None:
        return _call_unpack(entries[index][1], entries[index][2])
    return node.saved_inputs[index]


def saved_attribute(node: Any, name: str) -> Any:
    """``node._saved_<x>`` / ``node._raw_saved_<x>`` from the class's ``saved_names`` (see graph.Node)."""
    raw = name.startswith("_raw_saved_")
    key = name[len("_raw_saved_"):] if raw else name[len("_saved_"):]
    spec = node.saved_spec().get(key, _MISSING)
    if spec is _MISSING:
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '{name}'")
    if isinstance(spec, int):
        return SavedTensor(node, spec) if raw else _saved_tensor(node, spec)
    if raw:
        if isinstance(spec, tuple):
            return SavedTensor(node, spec[0])
        raise AttributeError(f"'{type(node).__name__}' object has no attribute '{name}'")
    if isinstance(spec, tuple):  # (input number, transform): a tensor PyTorch saves as a view of an input
        t = _saved_tensor(node, spec[0])
        return None if t is None else spec[1](t)
    return spec(node)


_MISSING = object()
