"""The backward engine: runs the graph in reverse topological order.

Nodes become ready when every gradient flowing into them has arrived (dependency counts);
among ready nodes the most recently created runs first. A leaf's AccumulateGrad is a node like
any other, so each leaf's gradient lands (and its post-accumulate-grad hooks fire) as soon as it
is complete, while the rest of backward still runs; DDP starts communication from there.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable, Sequence

from . import grad_mode
from .graph import AccumulateGrad, Node, anomaly

_callbacks: list[list[Callable[[], None]]] = []


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
    slot instead of flowing on (autograd.grad). With ``accumulate=False`` leaves are left alone.
    """
    deps = _count_dependencies([r[0] for r in roots])
    needed = _needed_nodes(deps, capture, [r[0] for r in roots]) if capture is not None else None
    captured: list[Any] = [None] * (max(capture.values()) + 1 if capture else 0)

    buffers: dict[Node, list[Any]] = {}
    ready: list[tuple[int, int, Node]] = []
    for node, nr, grad in roots:
        _add_to_buffer(buffers, node, nr, grad)
    for node in {r[0] for r in roots}:
        if deps.get(node, 0) == 0:
            heapq.heappush(ready, (-node.seq, id(node), node))

    _callbacks.append([])
    prev_mode = grad_mode._enabled[0]
    grad_mode._enabled[0] = create_graph
    try:
        while ready:
            _, _, node = heapq.heappop(ready)
            grads = buffers.pop(node, None)
            if grads is not None and node.pre_hooks:
                grads = _run_pre_hooks(node, grads)
            if capture is not None and grads is not None:
                for nr, g in enumerate(grads):
                    slot = capture.get((node, nr))
                    if slot is not None and g is not None:
                        captured[slot] = g if captured[slot] is None else captured[slot] + g
            if isinstance(node, AccumulateGrad):
                if accumulate and grads is not None and grads[0] is not None and \
                        (needed is None or node in needed):
                    node.accumulate(grads[0], create_graph)
                continue
            if needed is not None and node not in needed:
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
    finally:
        grad_mode._enabled[0] = prev_mode
        callbacks = _callbacks.pop()
    for cb in callbacks:
        cb()
    return captured if capture is not None else None


def _count_dependencies(roots: list[Node]) -> dict[Node, int]:
    deps: dict[Node, int] = {}
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _needed_nodes(deps: dict[Node, int], capture: dict, roots: list[Node]) -> set[Node]:
    """Nodes from which some captured (node, nr) is reachable: only they must run."""
    targets = {node for node, _ in capture}
    needed: set[Node] = set()
    # iterative post-order DFS
    state: dict[Node, bool] = {}
    for root in roots:
        stack = [(root, iter(root.next_edges))]
        state[root] = False
        while stack:
            node, it = stack[-1]
            advanced = False
            for edge in it:
                if edge is None:
                    continue
                child = edge[0]
                if child not in state:
                    state[child] = False
                    stack.append((child, iter(child.next_edges)))
                    advanced = True
                    break
                if child in needed:
                    needed.add(node)
            if advanced:
                continue
            stack.pop()
            if node in targets or any(e is not None and e[0] in needed for e in node.next_edges):
                needed.add(node)
    return needed


def _add_to_buffer(buffers: dict, node: Node, nr: int, grad: Any) -> None:
    slot = buffers.get(node)
    if slot is None:
        n = len(getattr(node, "_out_meta", ())) or 1
        slot = buffers[node] = [None] * n
    if nr >= len(slot):
        slot.extend([None] * (nr + 1 - len(slot)))
    old = slot[nr]
    slot[nr] = grad if old is None else old + grad


def _run_pre_hooks(node: Node, grads: list[Any]) -> list[Any]:
    hooks = node.pre_hooks
    for nr, g in enumerate(grads):
        for fn in list(hooks.get(nr, {}).values()):
            if g is None:
                break
            new = fn(g)
            if new is not None:
                g = new
        grads[nr] = g
    for fn in list(hooks.get(-1, {}).values()):
        new = fn(tuple(grads))
        if new is not None:
            grads = list(new)
    return grads


def _call_node(node: Node, grads: list[Any] | None, retain_graph: bool) -> tuple:
    if grads is None or all(g is None for g in grads):
        return (None,) * len(node.next_edges)
    meta = getattr(node, "_out_meta", None)
    if meta is not None and any(g is None for g in grads):
        sample = next(g for g in grads if g is not None)
        grads = [g if g is not None else sample._new_zeros_np(*m) for g, m in zip(grads, meta)]
    try:
        outs = node.backward(*grads)
    except Exception as exc:
        if anomaly[0] and node.trace:
            _report_forward_trace(node)
        raise exc
    if not retain_graph:
        node.release()
    if not isinstance(outs, tuple):
        outs = (outs,)
    if len(outs) != len(node.next_edges):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(node.next_edges)}, got {len(outs)})")
    if node.post_hooks:
        for fn in list(node.post_hooks.values()):
            new = fn(outs, tuple(grads))
            if new is not None:
                outs = tuple(new)
    if anomaly[0] and anomaly[1]:
        for i, g in enumerate(outs):
            if g is not None and g._has_nan():
                if node.trace:
                    _report_forward_trace(node)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    return outs


def _validate(node: Node, edge: tuple, g: Any) -> Any:
    shape, np_dtype = edge[2], edge[3]
    if g._data.shape != shape:
        from disttorch._ops._util import sum_to

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
    import sys

    print(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
          + "".join(node.trace), file=sys.stderr)
