"""The recording behind the profilers: while a session records, ``Op.apply`` (every op), ``Function.apply``
and the autograd engine's node calls are timed, and ``record_function`` ranges are added. Nothing is wrapped
while no session records, so an unprofiled program pays nothing."""
from __future__ import annotations

import re
import threading
import traceback
from contextlib import ContextDecorator
from time import perf_counter_ns
from typing import Any

from ._events import FunctionEvent

_lock = threading.Lock()
_sessions: list[Session] = []  # the sessions recording now
_saved: dict = {}  # the wrapped callables, to put back when the last session stops
_local = threading.local()  # .stack: the open ranges of this thread
_ids = [0]


class Session:
    """One recording window: the events it collects and what to note with each."""

    def __init__(self, record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False) -> None:
        self.record_shapes, self.profile_memory, self.with_stack = record_shapes, profile_memory, with_stack
        self.events: list[FunctionEvent] = []
        self.t0 = perf_counter_ns()

    def start(self) -> None:
        with _lock:
            if not _sessions:
                _install()
            _sessions.append(self)

    def stop(self) -> None:
        with _lock:
            if self in _sessions:
                _sessions.remove(self)
                if not _sessions:
                    _uninstall()


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class _Range:
    __slots__ = ("name", "shapes", "start", "memory", "user", "stack", "parent", "children", "events", "provisional")

    def __init__(self, name: str, shapes: list | None, user: bool, parent: _Range | None) -> None:
        self.name, self.shapes, self.user, self.parent = name, shapes, user, parent
        self.provisional = False  # an operator method's range: the first op run inside names it instead
        self.memory = 0
        self.stack = None
        self.children: list[_Range] = []  # closed ranges directly inside this one
        self.events: dict = {}  # session -> its event, made when the range closes
        self.start = perf_counter_ns()


def _open(name: str, inputs: tuple | None = None, user: bool = False) -> _Range | None:
    if not _sessions:
        return None
    stack = _stack()
    top = stack[-1] if stack else None
    if top is not None and top.provisional and not user:  # the op an operator method ran: one event, its name
        top.provisional = False
        top.name = name
        return None
    shapes = None
    if inputs is not None and any(s.record_shapes for s in _sessions):
        shapes = [list(t.shape) if hasattr(t, "shape") else [] for t in inputs]
    rng = _Range(name, shapes, user, top)
    if any(s.with_stack for s in _sessions):
        rng.stack = [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(traceback.extract_stack()[:-3])]
    stack.append(rng)
    return rng


def _close(rng: _Range | None, out: Any = None) -> None:
    if rng is None:
        return
    end = perf_counter_ns()
    stack = _stack()
    if stack and stack[-1] is rng:
        stack.pop()
    elif rng in stack:
        stack.remove(rng)
    if out is not None:
        rng.memory += _nbytes(out)
    if rng.parent is not None:
        rng.parent.memory += rng.memory
        rng.parent.children.append(rng)
    thread = threading.get_ident()
    for s in list(_sessions):
        _ids[0] += 1
        evt = FunctionEvent(_ids[0], rng.name, thread, (rng.start - s.t0) / 1e3, (end - s.t0) / 1e3,
                            input_shapes=rng.shapes if s.record_shapes else None,
                            cpu_memory_usage=rng.memory if s.profile_memory else 0,
                            stack=rng.stack if s.with_stack else None, is_user_annotation=rng.user)
        s.events.append(evt)
        rng.events[s] = evt
        for child in rng.children:
            sub = child.events.get(s)
            if sub is not None:
                sub.set_cpu_parent(evt)
                evt.append_cpu_child(sub)
    rng.children = []


def _nbytes(out: Any) -> int:
    data = getattr(out, "_data", None)
    if data is not None:
        return int(getattr(data, "nbytes", 0))
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    return 0


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _op_name(cls: type) -> str:
    name = getattr(cls, "__dict__", {}).get("_profile_name")
    if name is None:
        own = cls.__dict__.get("_forward_name", cls.__name__)  # (a node class is named as its node prints)
        name = "aten::" + _CAMEL.sub("_", own.strip("_")).lower()
        try:
            cls._profile_name = name
        except (AttributeError, TypeError):
            pass
    return name


# Operator methods with a fast path that skips Op.apply when no graph is needed, and the op each one runs
_OPERATORS = {"__add__": "add", "__radd__": "add", "__sub__": "sub", "__rsub__": "rsub", "__mul__": "mul",
              "__rmul__": "mul", "__truediv__": "div", "__getitem__": "index", "__setitem__": "index_put_",
              "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_"}


def _timed_operator(method: Any, name: str) -> Any:
    def timed(self: Any, *args: Any) -> Any:
        rng = _open(name, (self, *args))
        if rng is not None:
            rng.provisional = True
        out = None
        try:
            out = method(self, *args)
            return out
        finally:
            _close(rng, out)

    return timed


def _install() -> None:
    from disttorch._tensor import Tensor
    from disttorch.autograd import engine, function, graph

    operators = {k: Tensor.__dict__[k] for k in _OPERATORS if k in Tensor.__dict__}
    _saved["operators"] = operators
    for k, method in operators.items():
        setattr(Tensor, k, _timed_operator(method, "aten::" + _OPERATORS[k]))

    op_apply = graph.Op.__dict__["apply"].__func__
    fn_apply = function.Function.__dict__["apply"].__func__
    call_node = engine._call_node
    _saved.update(op=op_apply, fn=fn_apply, node=call_node)

    def timed_op_apply(cls: type, *inputs: Any, **attrs: Any) -> Any:
        rng = _open(_op_name(cls), inputs)
        out = None
        try:
            out = op_apply(cls, *inputs, **attrs)
            return out
        finally:
            _close(rng, out)

    def timed_fn_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        rng = _open(cls.__name__, args)
        out = None
        try:
            out = fn_apply(cls, *args, **kwargs)
            return out
        finally:
            _close(rng, out)

    def timed_call_node(node: Any, *args: Any, **kwargs: Any) -> Any:
        rng = _open(f"autograd::engine::evaluate_function: {node.name()}")
        try:
            return call_node(node, *args, **kwargs)
        finally:
            _close(rng)

    graph.Op.apply = classmethod(timed_op_apply)
    function.Function.apply = classmethod(timed_fn_apply)
    engine._call_node = timed_call_node


def _uninstall() -> None:
    from disttorch._tensor import Tensor
    from disttorch.autograd import engine, function, graph

    for k, method in _saved.pop("operators").items():
        setattr(Tensor, k, method)
    graph.Op.apply = classmethod(_saved.pop("op"))
    function.Function.apply = classmethod(_saved.pop("fn"))
    engine._call_node = _saved.pop("node")


class record_function(ContextDecorator):
    """A named range in the profile (``with record_function("forward"):`` or as a decorator); it costs
    nothing while no profiler records."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name, self.args = name, args
        self._ranges: list = []

    def __enter__(self) -> record_function:
        self._ranges.append(_open(self.name, user=True))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._ranges:
            _close(self._ranges.pop())

    def _call_end_callbacks_on_future(self, fut: Any) -> Any:
        return fut


def recording() -> bool:
    return bool(_sessions)
