"""Tensor hooks, retain_grad, post-accumulate-grad hooks, Node hooks and engine callbacks,
against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def _sum_fn(x):
    class S(disttorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.shape = a.shape
            return disttorch.tensor(np.asarray(a.detach().numpy().sum()), dtype=a.dtype)

        @staticmethod
        def backward(ctx, g):
            return g * disttorch.ones(ctx.shape, dtype=g.dtype)

    return S.apply(x)


def ssum(t, x):
    if t is torch or hasattr(disttorch.Tensor, "sum"):
        return x.sum()
    return _sum_fn(x)


# -- Tensor.register_hook -------------------------------------------------------------------------------
def test_hook_on_leaf_modifies_gradient_and_remove():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        seen = []
        h = x.register_hook(lambda g: seen.append(g.clone()) or g * 10)
        ssum(t, x * x).backward()
        h.remove()
        ssum(t, x * x).backward()
        res.append((seen[0], x.grad, len(seen)))
    assert_close(*res)


def test_hook_on_non_leaf_changes_upstream_gradient():
    a = randn(4, seed=1)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        h = x * x
        calls = []
        h.register_hook(lambda g: calls.append(1) or g * 2 + 1)
        h.register_hook(lambda g: g * 3)  # runs after the first, on its result
        ssum(t, h * x + h).backward()
        res.append((x.grad, len(calls)))
    assert_close(*res)


def test_hook_returning_none_keeps_gradient():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        got = []
        y.register_hook(lambda g: got.append(g.clone()))
        ssum(t, y * y).backward()
        res.append((got[0], x.grad))
    assert_close(*res)


def test_hook_on_tensor_used_twice_fires_once_with_sum():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        got = []
        y.register_hook(lambda g: got.append(g.clone()))
        ssum(t, y * y + y * 3).backward()
        res.append((len(got), got[0]))
    assert_close(*res)


def test_register_hook_requires_grad_error():
    for t in LIBS:
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            t.ones(2).register_hook(lambda g: g)


def test_hook_runs_for_autograd_grad_inputs():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.register_hook(lambda g: g * 5)
        x.register_hook(lambda g: g + 1)
        res.append(t.autograd.grad(ssum(t, h * h), [h, x]))
    assert_close(*res)


# -- retain_grad ------------------------------------------------------------------------------------------
def test_retain_grad_sees_hooked_gradient_regardless_of_order():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: g * 10)  # registered after retain_grad: torch still applies it first
        ssum(t, h * h).backward()
        res.append((h.grad, x.grad))
    assert_close(*res)


def test_retain_grad_on_leaf_is_noop():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        x.retain_grad()
        ssum(t, x * 3).backward()
        res.append((x.grad, x.retains_grad))
    assert_close(*res)


def test_retain_grad_error():
    for t in LIBS:
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
            t.ones(2).retain_grad()


# -- post-accumulate-grad hooks ---------------------------------------------------------------------------
def test_post_accumulate_grad_hook_fires_once_after_grad_set():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
        y = x * x
        ssum(t, y * 2 + y + x).backward()  # x reached through several paths: one call
        ssum(t, x * 3).backward()
        res.append((len(seen), seen[0], seen[1]))
    assert_close(*res)


def test_post_accumulate_grad_hook_remove_and_errors():
    for t in LIBS:
        x = t.tensor([1.0], requires_grad=True)
        calls = []
        h = x.register_post_accumulate_grad_hook(lambda p: calls.append(1))
        h.remove()
        ssum(t, x * 2).backward()
        assert calls == []
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf "
                                               "tensors"):
            (x * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_post_accumulate_grad_hook_can_zero_the_grad():
    # an optimizer-in-backward pattern: the hook consumes .grad and resets it
    res = []
    for t in LIBS:
        w = t.tensor([1.0, 2.0], requires_grad=True)

        def step(p, t=t):
            with t.no_grad():
                p.sub_(p.grad * 0.1)
            p.grad = None

        w.register_post_accumulate_grad_hook(step)
        ssum(t, w * w).backward()
        ssum(t, w * w).backward()
        res.append((w.detach(), w.grad is None))
    assert_close(*res)


def _layers(t, a, n=3):
    ws = [t.tensor(a * (i + 1), requires_grad=True) for i in range(n)]
    return ws


@pytest.mark.parametrize("lib", ["disttorch", "torch"])
def test_leaves_accumulate_as_soon_as_complete(lib):
    """Chain x -> layer0 -> layer1 -> layer2 -> loss. The last layer's weight is complete before
    layer 0's backward runs, so its .grad must already be set (DDP's overlap relies on it)."""
    t = disttorch if lib == "disttorch" else torch
    a = randn(3, seed=3)
    ws = _layers(t, a)
    bs = [t.tensor(a * 0.5, requires_grad=True) for _ in ws]
    events = []
    for i, (w, b) in enumerate(zip(ws, bs)):
        w.register_post_accumulate_grad_hook(lambda p, i=i: events.append(("acc_w", i)))
        b.register_post_accumulate_grad_hook(lambda p, i=i: events.append(("acc_b", i)))
    h = t.tensor(a, requires_grad=False)
    outs = []
    for w, b in zip(ws, bs):
        h = h * w + b
        outs.append(h)
    # a hook on the input gradient of each layer's output fires right when that layer's backward starts
    for i, o in enumerate(outs):
        o.register_hook(lambda g, i=i: events.append(("bwd", i)))
    first_layer_started = []
    outs[0].register_hook(lambda g: first_layer_started.append(ws[2].grad is not None and bs[2].grad is not None))
    ssum(t, outs[-1] * outs[-1]).backward()
    assert first_layer_started == [True]
    order = [e for e in events]
    assert order.index(("acc_w", 2)) < order.index(("bwd", 0))
    assert order.index(("acc_b", 2)) < order.index(("bwd", 1))
    assert order.index(("acc_w", 1)) < order.index(("bwd", 0))
    assert sorted(order) == sorted([("acc_w", i) for i in range(3)] + [("acc_b", i) for i in range(3)]
                                   + [("bwd", i) for i in range(3)])


def test_post_accumulate_order_matches_torch():
    a = randn(3, seed=4)
    orders = []
    for t in LIBS:
        ws = _layers(t, a, 4)
        events = []
        for i, w in enumerate(ws):
            w.register_post_accumulate_grad_hook(lambda p, i=i: events.append(i))
        h = t.tensor(a)
        for w in ws:
            h = h * w + 1.0
        ssum(t, h).backward()
        orders.append(events)
    assert orders[0] == orders[1] == [3, 2, 1, 0]


# -- Node hooks ------------------------------------------------------------------------------------------
def test_node_register_hook_and_prehook():
    a = randn(3, seed=5)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        y = x * t.tensor(a)
        z = y * 3
        seen = {}

        def post(grad_inputs, grad_outputs):
            assert grad_inputs[1] is None
            seen["post"] = (grad_inputs[0].clone(), grad_outputs[0].clone())
            return (grad_inputs[0] * 2, None)

        def pre(grad_outputs):
            seen["pre"] = grad_outputs[0].clone()
            return (grad_outputs[0] + 1,)

        h1 = y.grad_fn.register_hook(post)
        h2 = y.grad_fn.register_prehook(pre)
        ssum(t, z).backward(retain_graph=True)
        first = x.grad.clone()
        h1.remove()
        h2.remove()
        x.grad = None
        ssum(t, z).backward()
        res.append((first, seen["post"][0], seen["post"][1], seen["pre"], x.grad))
    assert_close(*res)


def test_node_hook_returning_none():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        calls = []
        y.grad_fn.register_hook(lambda gi, go: calls.append(len(gi)))
        y.grad_fn.register_prehook(lambda go: calls.append(len(go)))
        ssum(t, y).backward()
        res.append((x.grad, calls))
    assert_close(res[0][0], res[1][0])
    assert res[0][1] == res[1][1]


def test_hook_return_validation():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)

        def bad_post(gi, go):
            return (gi[0],)

        def bad_pre(go):
            return (go[0], go[0])

        def bad_size(g):
            return g[0]

        for register, msg in [
            (lambda y: y.grad_fn.register_hook(bad_post),
             r"hook 'bad_post' has returned an incorrect number of values \(got 1, but expected 2\)"),
            (lambda y: y.grad_fn.register_prehook(bad_pre),
             r"hook 'bad_pre' has returned an incorrect number of values \(got 2, but expected 1\)"),
            (lambda y: y.register_hook(bad_size), "hook 'bad_size' has changed the size of value"),
        ]:
            y = x * x
            register(y)
            with pytest.raises(RuntimeError, match=msg):
                ssum(t, y).backward()


def test_hook_on_captured_input_quirk():
    """autograd.grad w.r.t. a non-leaf that also lies on the path to another input returns its
    gradient before its hooks (PyTorch's behaviour); alone, after them."""
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        h.register_hook(lambda g: g * 5)
        both_ = t.autograd.grad(ssum(t, h * h), [h, x])
        h2 = x * 2
        h2.register_hook(lambda g: g * 5)
        alone = t.autograd.grad(ssum(t, h2 * h2), [h2])
        res.append(both_ + alone)
    assert_close(*res)


def test_tensor_hook_runs_before_node_prehook():
    orders = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        order = []
        y.grad_fn.register_prehook(lambda go: order.append("node"))
        y.register_hook(lambda g: order.append("tensor"))
        ssum(t, y).backward()
        orders.append(order)
    assert orders[0] == orders[1]


# -- queue_callback ----------------------------------------------------------------------------------------
def test_queue_callback_runs_after_backward():
    results = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        events = []

        def cb(x=x, events=events):
            events.append(("callback", x.grad is not None))

        def hook(g, events=events, t=t):
            events.append("hook")
            t.autograd.Variable._execution_engine.queue_callback(cb)

        y = x * x
        y.register_hook(hook)
        x.register_post_accumulate_grad_hook(lambda p, events=events: events.append("acc"))
        ssum(t, y).backward()
        results.append(events)
    assert results[0] == results[1] == ["hook", "acc", ("callback", True)]


def test_queue_callback_outside_backward_raises():
    for t in LIBS:
        with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
            t.autograd.Variable._execution_engine.queue_callback(lambda: None)


def test_queue_callback_can_queue_more():
    results = []
    for t in LIBS:
        events = []
        queue = t.autograd.Variable._execution_engine.queue_callback

        def second(events=events):
            events.append(2)

        def first(events=events, queue=queue, second=second):
            events.append(1)
            queue(second)

        x = t.tensor([1.0], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g, queue=queue, first=first: queue(first))
        ssum(t, y).backward()
        results.append(events)
    assert results[0] == results[1]
