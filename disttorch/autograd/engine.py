"""The backward engine: runs the graph in reverse topological order.

Nodes become ready when every gradient flowing into them has arrived (dependency counts);
among ready nodes the most recently created runs first. A leaf's AccumulateGrad is a node like
any other, so each leaf's gradient lands (and its post-accumulate-grad hooks fire) as soon as it
is complete, while the rest of backward still runs; DDP starts communication from there.
"""
from __future__ import annotations

import heapq
from heapq import heappop, heappush
from typing import Any, Callable, Sequence

from disttorch._oom import raise_if_cupy_oom

from . import grad_mode
from .broadcast import sum_to
from .graph import AccumulateGrad, Node, _off_device_guard, anomaly

_callbacks: list[list[Callable[[], None]]] = []
_tasks: list[tuple[Any, Any]] = []  # (dependency counts, roots) of each running backward (register_multi_grad_hook)


def will_run(node: Node) -> bool:
    """Whether the innermost running backward reaches ``node``."""
    deps, roots = _tasks[-1]
    return node in deps or node in roots


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current backward pass has finished (only valid during backward)."""
    if not _callbacks:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _callbacks[-1].append(callback)


class _ExecutionEngine:
    """``Variable._execution_engine.queue_callback`` as PyTorch spells it."""

    queue_callback = staticmethod(queue_callback)


def run_backward(
    roots: Sequence[tuple[Node, int, Any]],
    retain_graph: bool,
    create_graph: bool,
    capture: dict[tuple[Node, int], int] | None = None,
    accumulate: bool = True,
) -> list[Any] | None:
    """Propagate ``roots`` = [(node, output_nr, grad Tensor)] back through the graph.

    ``capture`` maps (node, output_nr) to a slot: the gradient arriving there is returned in that
    slot (autograd.grad); then only the nodes leading to a captured one run. With ``accumulate=False``
    leaves are left alone.
    """
    if capture is None and accumulate:
        return _run_plain(roots, retain_graph, create_graph)
    deps = _count_dependencies([r[0] for r in roots])
    needed = targets = None
    if capture is not None:
        targets = {node for node, _ in capture}
        needed = _needed_nodes(targets, [r[0] for r in roots])
    captured: list[Any] = [None] * (max(capture.values()) + 1 if capture else 0)

    buffers: dict[Node, list[Any]] = {}
    ready: list[tuple[int, int, Node]] = []
    for node, nr, grad in roots:
        _add_to_buffer(buffers, node, nr, grad)
    for node in {r[0] for r in roots}:
        if deps.get(node, 0) == 0:
            heapq.heappush(ready, (-node.seq, id(node), node))

    callbacks: list[Callable[[], None]] = []
    _callbacks.append(callbacks)
    _tasks.append((deps, [r[0] for r in roots]) if needed is None else (needed | targets, ()))
    prev_mode = grad_mode._enabled[0]
    grad_mode._enabled[0] = create_graph
    try:
        while ready:
            _, _, node = heapq.heappop(ready)
            grads = buffers.pop(node, None)
            if needed is not None:
                # like PyTorch: a node that runs afterwards gives its gradient as it arrived; one that
                # is only captured gives it after its tensor hooks
                if node not in needed:
                    if grads is not None and node in targets:
                        if node.pre_hooks:
                            grads = _run_pre_hooks(node, grads)
                        _capture(capture, captured, node, grads)
                        if accumulate and isinstance(node, AccumulateGrad) and grads[0] is not None:
                            node.accumulate(grads[0], create_graph)  # backward(inputs=[leaf])
                    continue
                if grads is not None and node in targets:
                    _capture(capture, captured, node, grads)
            if grads is not None and node.pre_hooks:
                grads = _run_pre_hooks(node, grads)
            if isinstance(node, AccumulateGrad):
                if accumulate and grads is not None and grads[0] is not None:
                    node.accumulate(grads[0], create_graph)
                continue
            outs = _call_node(node, grads, retain_graph)
            for edge, g in zip(node.next_edges, outs):
                if edge is None:
                    continue
                child = edge[0]
                if g is not None:
                    g = _validate(node, edge, g)
                    _add_to_buffer(buffers, child, edge[1], g)
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    heapq.heappush(ready, (-child.seq, id(child), child))
            outs = g = grads = None  # the buffers hold the gradients alone now (AccumulateGrad may take them over)
        # callbacks may queue further callbacks
        i = 0
        while i < len(callbacks):
            callbacks[i]()
            i += 1
    finally:
        grad_mode._enabled[0] = prev_mode
        _callbacks.pop()
        _tasks.pop()
    return captured if capture is not None else None


def _run_plain(roots: Sequence[tuple[Node, int, Any]], retain_graph: bool, create_graph: bool) -> None:
    """``run_backward`` without capture (``backward()``): the same steps, on the shortest path."""
    root_nodes = [r[0] for r in roots]
    deps = _count_dependencies(root_nodes)
    buffers: dict[Node, list[Any]] = {}
    for node, nr, grad in roots:
        _add_to_buffer(buffers, node, nr, grad)
    ready: list[tuple[int, int, Node]] = []
    for node in dict.fromkeys(root_nodes):
        if node not in deps:
            heappush(ready, (-node.seq, id(node), node))
    callbacks: list[Callable[[], None]] = []
    _callbacks.append(callbacks)
    _tasks.append((deps, root_nodes))
    enabled = grad_mode._enabled
    prev_mode = enabled[0]
    enabled[0] = create_graph
    try:
        while ready:
            node = heappop(ready)[2]
            grads = buffers.pop(node, None)
            if grads is not None and node.pre_hooks:
                grads = _run_pre_hooks(node, grads)
            if node._sink:
                if grads is not None and grads[0] is not None:
                    node.accumulate(grads[0], create_graph)
                continue
            outs = _call_node(node, grads, retain_graph)
            for edge, g in zip(node.next_edges, outs):
                if edge is None:
                    continue
                child = edge[0]
                if g is not None:
                    data = g._data
                    if data.shape != edge[2] or data.dtype != edge[3]:
                        g = _validate(node, edge, g)
                    slot = buffers.get(child)
                    if slot is None and child._out_meta is None and edge[1] == 0:
                        buffers[child] = [g]
                    else:
                        _add_to_buffer(buffers, child, edge[1], g)
                    data = None
                left = deps[child] - 1
                deps[child] = left
                if left == 0:
                    heappush(ready, (-child.seq, id(child), child))
            outs = g = grads = slot = None  # the buffers alone hold the gradients (see accumulate)
        i = 0
        while i < len(callbacks):
            callbacks[i]()
            i += 1
    finally:
        enabled[0] = prev_mode
        _callbacks.pop()
        _tasks.pop()
    return None


def _capture(capture: dict, captured: list, node: Node, grads: list) -> None:
    for nr, g in enumerate(grads):
        slot = capture.get((node, nr))
        if slot is not None and g is not None:
            captured[slot] = g if captured[slot] is None else captured[slot] + g


def _count_dependencies(roots: list[Node]) -> dict[Node, int]:
    """How many edges lead into each node reachable from ``roots`` (roots no edge reaches are absent)."""
    deps: dict[Node, int] = {}
    root_set = set(roots)
    stack = list(root_set)
    while stack:
        for edge in stack.pop().next_edges:
            if edge is None:
                continue
            child = edge[0]
            if child in deps:
                deps[child] += 1
            else:
                deps[child] = 1
                if child not in root_set:  # first time reached: walk its edges once
                    stack.append(child)
    return deps


def _needed_nodes(targets: set[Node], roots: list[Node]) -> set[Node]:
    """Nodes that must run: those from which some target node is reachable through an edge."""
    needed: set[Node] = set()
    done: set[Node] = set()
    for root in roots:  # iterative post-order DFS
        if root in done:
            continue
        done.add(root)
        stack = [(root, iter(root.next_edges))]
        while stack:
            node, it = stack[-1]
            for edge in it:
                if edge is not None and edge[0] not in done:
                    child = edge[0]
                    done.add(child)
                    stack.append((child, iter(child.next_edges)))
                    break
            else:
                stack.pop()
                for e in node.next_edges:
                    if e is not None and (e[0] in needed or e[0] in targets):
                        needed.add(node)
                        break
    return needed


def _add_to_buffer(buffers: dict, node: Node, nr: int, grad: Any) -> None:
    slot = buffers.get(node)
    if slot is None:
        n = len(node._out_meta or ()) or 1
        slot = buffers[node] = [None] * n
    if nr >= len(slot):
        slot.extend([None] * (nr + 1 - len(slot)))
    old = slot[nr]
    slot[nr] = grad if old is None else old + grad


def _run_pre_hooks(node: Node, grads: list[Any]) -> list[Any]:
    """Tensor hooks (per output, then the retain_grad hook), then the node's own prehooks."""
    hooks = node.pre_hooks
    for nr, g in enumerate(grads):
        if g is None:
            continue
        for fn in list(hooks.get(nr, {}).values()):
            new = fn(g)
            if new is not None:
                if new.shape != g.shape:
                    raise RuntimeError(f"hook '{_hook_name(fn)}' has changed the size of value")
                g = new
        retain = hooks.get(("retain", nr))
        if retain is not None:
            retain(g)
        grads[nr] = g
    for fn in list(hooks.get(-1, {}).values()):
        new = fn(tuple(grads))
        if new is not None:
            _check_hook_count(fn, new, len(grads))
            grads = list(new)
    return grads


def _hook_name(fn: Callable) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _check_hook_count(fn: Callable, values: Any, expected: int) -> None:
    if len(values) != expected:
        raise RuntimeError(f"hook '{_hook_name(fn)}' has returned an incorrect number of values (got "
                           f"{len(values)}, but expected {expected})")


def _call_node(node: Node, grads: list[Any] | None, retain_graph: bool) -> tuple:
    if grads is None:
        return (None,) * len(node.next_edges)
    meta = node._out_meta
    if meta is None and len(grads) == 1:
        if grads[0] is None:
            return (None,) * len(node.next_edges)
    elif all(g is None for g in grads):
        return (None,) * len(node.next_edges)
    guard = _off_device_guard(grads)
    if guard is None:
        outs, grads = _run_node(node, grads)
    else:  # the gradients live on a device that is not the current one: run the backward there, as PyTorch does
        with guard:
            outs, grads = _run_node(node, grads)
    if not retain_graph:
        node.release()
    if type(outs) is not tuple:
        outs = tuple(outs) if isinstance(outs, tuple) else (outs,)
    if len(outs) != len(node.next_edges):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(node.next_edges)}, got {len(outs)})")
    if node.post_hooks:
        for fn in list(node.post_hooks.values()):
            new = fn(outs, tuple(grads))
            if new is not None:
                _check_hook_count(fn, new, len(outs))
                outs = tuple(new)
    if anomaly[0] and anomaly[1]:
        for i, g in enumerate(outs):
            if g is not None and g._has_nan():
                if node.trace:
                    _report_forward_trace(node)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    return outs


def _run_node(node: Node, grads: list[Any]) -> tuple[Any, list[Any]]:
    meta = getattr(node, "_out_meta", None)
    if meta is not None and any(g is None for g in grads) and getattr(node, "materialize_grads", True):
        # outputs that got no gradient get zeros (non-tensor outputs of a Function get None)
        sample = next(g for g in grads if g is not None)
        grads = [sample._new_zeros_np(*m) if g is None and m[1] is not None else g for g, m in zip(grads, meta)]
    try:
        return node.backward(*grads), grads
    except Exception as exc:
        if anomaly[0] and node.trace:
            _report_forward_trace(node)
        if isinstance(exc, MemoryError):  # cupy's OutOfMemoryError: PyTorch's
            raise_if_cupy_oom(exc)
        raise exc


def _validate(node: Node, edge: tuple, g: Any) -> Any:
    shape, np_dtype = edge[2], edge[3]
    if g._data.shape != shape:
        try:
            g = sum_to(g, shape)
        except ValueError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {node.next_edges.index(edge)} "
                f"- got {list(g.shape)} but expected shape compatible with {list(shape)}") from None
    if g._data.dtype != np_dtype:
        g = g._cast_np(np_dtype)
    return g


def _report_forward_trace(node: Node) -> None:
    import warnings

    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                  + "".join(node.trace), UserWarning, stacklevel=2)
